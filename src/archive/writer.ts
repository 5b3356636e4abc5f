import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileSink } from '../storage/file.js';
import type { ArchiveSink } from '../storage/location.js';
import type { Encryptor } from './encryption.js';
import { FORMAT_VERSION, FORMAT_VERSION_PATH, MANIFEST_PATH, partPath } from './layout.js';
import type { Manifest, ManifestEntry } from './manifest.js';
import { END_OF_ARCHIVE, memberHeader, memberPadding } from './tar-member.js';

/**
 * Streamed entries are cut into parts of this size (each a tar member of known size). 1 MiB:
 * large enough for cheap writes (one writev per part), small enough that two parts per stream
 * keep memory low (measured: 4 MiB parts cost ~20 MB more RSS and were not faster).
 */
export const DEFAULT_PART_SIZE = 1024 * 1024;

export interface ArchiveWriterOptions {
  /** The encryption (age); absent means a plain tar, which callers must ask for. */
  encryptor?: Encryptor;
  partSize?: number;
}

/**
 * Writes one archive: tar members (optionally sealed by age) into a sink (a temporary file
 * beside the destination, or a multipart upload) that makes the archive appear only on
 * `commit()`. `abort()` (or any failure) drops what was written.
 *
 * No Node streams between the entries and the sink: each member (header, data, padding) is
 * sealed in memory and handed over in one write (one `writev` for a file), in the order members were queued. Streamed
 * entries of unknown size are copied into part buffers (reused, two per stream: one filling
 * while the other is written), so the file sees a few large writes instead of one per chunk a
 * socket delivered, and a stream keeps being read while its previous part is written.
 */
export class ArchiveWriter {
  private queue: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private closed = false;
  private readonly mtime: Date;
  readonly partSize: number;
  private readonly freeParts: Buffer[] = [];

  private constructor(
    readonly manifest: Manifest,
    private readonly sink: ArchiveSink,
    private readonly encryptor: Encryptor | undefined,
    partSize: number,
  ) {
    this.mtime = new Date(manifest.createdAt);
    this.partSize = partSize;
  }

  /** A local archive file (written beside it, linked into place on commit). */
  static async open(
    finalPath: string,
    manifest: Manifest,
    opts: ArchiveWriterOptions,
  ): Promise<ArchiveWriter> {
    return ArchiveWriter.create(await FileSink.open(finalPath), manifest, opts);
  }

  /** An archive into any sink (see src/storage): a file, an S3 multipart upload. */
  static async create(
    sink: ArchiveSink,
    manifest: Manifest,
    opts: ArchiveWriterOptions,
  ): Promise<ArchiveWriter> {
    const writer = new ArchiveWriter(
      manifest,
      sink,
      opts.encryptor,
      opts.partSize ?? DEFAULT_PART_SIZE,
    );
    if (opts.encryptor) void writer.enqueue([opts.encryptor.head], { raw: true });
    await writer.writeMember(FORMAT_VERSION_PATH, [Buffer.from(`${FORMAT_VERSION}\n`)]);
    return writer;
  }

  /** Adds a small entry held in memory (an object, a summary). */
  async addBuffer(entryPath: string, data: Buffer, meta?: ManifestEntry['meta']): Promise<void> {
    await this.writeMember(entryPath, [data]);
    this.record({
      path: entryPath,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      ...(meta ? { meta } : {}),
    });
  }

  /**
   * A Writable for one entry of unknown size: what is written to it is hashed and cut into
   * parts; `finish` writes the last part and records the entry (read it from `entry`).
   * Destroying it (or an archive failure) leaves the entry unrecorded.
   */
  openEntry(
    entryPath: string,
    meta?: ManifestEntry['meta'],
    onBytes?: (n: number, chunk: Buffer) => void,
  ): EntryWriter {
    return new EntryWriter(this, entryPath, meta, onBytes);
  }

  /** Adds an entry of unknown size from a stream; resolves once every part is written. */
  async addStream(
    entryPath: string,
    source: AsyncIterable<Buffer | string>,
    meta?: ManifestEntry['meta'],
  ): Promise<ManifestEntry> {
    const entry = this.openEntry(entryPath, meta);
    await pipeline(source, entry);
    return entry.entry!;
  }

  /** Writes the manifest and end of archive, then has the sink make the archive appear. */
  async commit(): Promise<Manifest> {
    await this.writeMember(MANIFEST_PATH, [Buffer.from(JSON.stringify(this.manifest, null, 2))]);
    const last = this.enqueue([END_OF_ARCHIVE], { last: true });
    this.closed = true;
    await last;
    await this.sink.commit();
    return this.manifest;
  }

  /** Stops writing and drops what was written; safe to call more than once. */
  async abort(reason = new Error('archive aborted')): Promise<void> {
    this.failed ??= reason;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.sink.abort();
  }

  /** @internal The manifest line of a finished entry. */
  record(entry: ManifestEntry): void {
    this.manifest.entries.push(entry);
  }

  /** @internal A part buffer (reused once the part holding it was written). */
  takePart(): Buffer {
    return this.freeParts.pop() ?? Buffer.allocUnsafeSlow(this.partSize);
  }

  /** @internal */
  giveBackPart(buf: Buffer): void {
    if (buf.length === this.partSize) this.freeParts.push(buf);
  }

  /** @internal Header, data and padding of one member, after the members queued before it. */
  writeMember(member: string, data: Buffer[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('archive is already closed'));
    const size = data.reduce((n, p) => n + p.length, 0);
    return this.enqueue([memberHeader(member, size, this.mtime), ...data, memberPadding(size)]);
  }

  /**
   * Queues buffers for the file, sealed when encrypting (synchronously, now: the caller may
   * reuse its buffers once the returned promise settles). `last` seals the final chunk; `raw`
   * writes as is (the age header).
   */
  private enqueue(buffers: Buffer[], how: { last?: boolean; raw?: boolean } = {}): Promise<void> {
    const mine = this.queue.then(() => {
      if (this.failed) throw this.failed;
      let out = buffers;
      if (this.encryptor && !how.raw) {
        out = [];
        for (const b of buffers) this.encryptor.sealer.seal(b, out);
        if (how.last) this.encryptor.sealer.finish(out);
      }
      return this.sink.write(out);
    });
    this.queue = mine.catch((err: Error) => {
      this.failed ??= err;
    });
    return mine;
  }
}

/** One streamed entry: chunks are hashed and copied into part buffers, two per stream. */
export class EntryWriter extends Writable {
  private readonly hash: Hash = createHash('sha256');
  private part: Buffer | undefined;
  private fill = 0;
  private parts = 0;
  private size = 0;
  /** The previous part's write, still in flight while the next part fills. */
  private writing: Promise<void> = Promise.resolve();
  entry: ManifestEntry | undefined;

  constructor(
    private readonly archive: ArchiveWriter,
    private readonly entryPath: string,
    private readonly meta: ManifestEntry['meta'] | undefined,
    private readonly onBytes: ((n: number, chunk: Buffer) => void) | undefined,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.onBytes?.(chunk.length, chunk);
    let off = 0;
    let waiting: Promise<void> | undefined;
    while (off < chunk.length) {
      this.part ??= this.archive.takePart();
      const n = chunk.copy(this.part, this.fill, off);
      this.fill += n;
      off += n;
      if (this.fill === this.part.length) {
        // A full part: wait for the previous one to be written (two parts at most per stream).
        waiting = this.flushPart();
      }
    }
    if (!waiting) return done();
    // The copy loop ran to the end: only the part before this one may still be in flight.
    waiting.then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    const finishing = this.fill > 0 || this.parts === 0 ? this.flushPart() : Promise.resolve();
    finishing
      .then(() => this.writing)
      .then(() => {
        this.entry = {
          path: this.entryPath,
          size: this.size,
          sha256: this.hash.digest('hex'),
          parts: this.parts,
        };
        if (this.meta) this.entry.meta = this.meta;
        this.archive.record(this.entry);
        done();
      }, done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.writing.then(
      () => done(err),
      () => done(err),
    );
  }

  /**
   * Hands the current part to the archive once the previous part is written; resolves when the
   * previous part is written (so the caller may fill the next one meanwhile).
   */
  private flushPart(): Promise<void> {
    const part = this.part ?? Buffer.alloc(0);
    const fill = this.fill;
    const index = this.parts++;
    this.part = undefined;
    this.fill = 0;
    const previous = this.writing;
    const written = previous.then(() =>
      this.archive.writeMember(partPath(this.entryPath, index), [part.subarray(0, fill)]),
    );
    this.writing = written.then(() => this.archive.giveBackPart(part));
    this.writing.catch(() => undefined);
    return previous;
  }
}
