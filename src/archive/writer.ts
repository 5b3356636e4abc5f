import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, type Transform, type Writable } from 'node:stream';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { FORMAT_VERSION, FORMAT_VERSION_PATH, MANIFEST_PATH, partPath } from './layout.js';
import type { Manifest, ManifestEntry } from './manifest.js';
import { END_OF_ARCHIVE, memberHeader, memberPadding } from './tar-member.js';

/** Parts of a streamed entry are buffered in memory one at a time, per stream. */
export const DEFAULT_PART_SIZE = 4 * 1024 * 1024;

export interface ArchiveWriterOptions {
  /** The encryption stage (age); absent means a plain tar, which callers must ask for. */
  encrypt?: Transform;
  partSize?: number;
}

/**
 * Writes one archive: a tar stream (optionally through age) into a temporary file beside the
 * destination, renamed into place only by `commit()`. `abort()` (or any failure) removes it.
 * Members are written whole and in order; concurrent `addStream` calls take turns per part,
 * so a stream of unknown size never needs a local staging copy: it is cut into parts whose
 * size is known when each part's header is written.
 */
export class ArchiveWriter {
  private readonly tar = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly done: Promise<void>;
  private turn: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private closed = false;
  private readonly mtime: Date;
  private readonly partSize: number;

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    readonly manifest: Manifest,
    file: Writable,
    opts: ArchiveWriterOptions,
  ) {
    this.mtime = new Date(manifest.createdAt);
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    const stages: (Readable | Transform | Writable)[] = [this.tar];
    if (opts.encrypt) stages.push(opts.encrypt);
    stages.push(file);
    this.done = (pipeline as (...s: unknown[]) => Promise<void>)(...stages);
    this.done.catch((err: Error) => {
      this.failed ??= err;
    });
  }

  static async open(
    finalPath: string,
    manifest: Manifest,
    opts: ArchiveWriterOptions,
  ): Promise<ArchiveWriter> {
    const dir = path.dirname(path.resolve(finalPath));
    const tempPath = path.join(
      dir,
      `.${path.basename(finalPath)}.${randomBytes(4).toString('hex')}.partial`,
    );
    const handle = await fs.promises.open(tempPath, 'wx', 0o600);
    liveTempFiles.add(tempPath);
    const file = handle.createWriteStream();
    const writer = new ArchiveWriter(finalPath, tempPath, manifest, file, opts);
    await writer.writeMember(FORMAT_VERSION_PATH, Buffer.from(`${FORMAT_VERSION}\n`));
    return writer;
  }

  /** Adds a small entry held in memory (an object, a summary). */
  async addBuffer(entryPath: string, data: Buffer, meta?: ManifestEntry['meta']): Promise<void> {
    await this.writeMember(entryPath, data);
    this.record({
      path: entryPath,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      ...(meta ? { meta } : {}),
    });
  }

  /**
   * Adds an entry of unknown size from a stream, in parts of at most `partSize` bytes, hashing
   * as it goes. Resolves once the source ended and every part is written.
   */
  async addStream(
    entryPath: string,
    source: AsyncIterable<Buffer | string>,
    meta?: ManifestEntry['meta'],
  ): Promise<ManifestEntry> {
    const hash = createHash('sha256');
    let pending: Buffer[] = [];
    let pendingSize = 0;
    let parts = 0;
    let size = 0;
    const flush = async () => {
      await this.writeMember(partPath(entryPath, parts), pending);
      parts++;
      pending = [];
      pendingSize = 0;
    };
    for await (const raw of source) {
      let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      hash.update(chunk);
      size += chunk.length;
      while (chunk.length > 0) {
        const room = this.partSize - pendingSize;
        const take = chunk.subarray(0, room);
        pending.push(take);
        pendingSize += take.length;
        chunk = chunk.subarray(take.length);
        if (pendingSize === this.partSize) await flush();
      }
    }
    if (pendingSize > 0 || parts === 0) await flush();
    const entry: ManifestEntry = { path: entryPath, size, sha256: hash.digest('hex'), parts };
    if (meta) entry.meta = meta;
    this.record(entry);
    return entry;
  }

  /** Writes the manifest and end of archive, flushes, and renames the file into place. */
  async commit(): Promise<Manifest> {
    await this.writeMember(MANIFEST_PATH, Buffer.from(JSON.stringify(this.manifest, null, 2)));
    await this.write(END_OF_ARCHIVE);
    this.closed = true;
    this.tar.end();
    await this.done;
    if (this.failed) throw this.failed;
    const handle = await fs.promises.open(this.tempPath, 'r');
    await handle.sync();
    await handle.close();
    await fs.promises.rename(this.tempPath, this.finalPath);
    liveTempFiles.delete(this.tempPath);
    return this.manifest;
  }

  /** Stops writing and removes the temporary file; safe to call more than once. */
  async abort(reason = new Error('archive aborted')): Promise<void> {
    this.failed ??= reason;
    this.closed = true;
    this.tar.destroy(reason);
    await this.done.catch(() => undefined);
    await fs.promises.rm(this.tempPath, { force: true });
    liveTempFiles.delete(this.tempPath);
  }

  private record(entry: ManifestEntry): void {
    this.manifest.entries.push(entry);
  }

  /** Writes header, data and padding of one member, after the members queued before it. */
  private writeMember(member: string, data: Buffer | Buffer[]): Promise<void> {
    const pieces = Array.isArray(data) ? data : [data];
    const size = pieces.reduce((n, p) => n + p.length, 0);
    const mine = this.turn.then(async () => {
      await this.write(memberHeader(member, size, this.mtime));
      for (const piece of pieces) await this.write(piece);
      await this.write(memberPadding(size));
    });
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error('archive is already closed');
    if (buf.length === 0) return;
    if (!this.tar.write(buf)) {
      await Promise.race([once(this.tar, 'drain'), this.done.then(() => undefined)]);
    }
    if (this.failed) throw this.failed;
  }
}

/**
 * Temporary files still being written: removed synchronously if the process exits before they
 * are committed or aborted (e.g. a second Ctrl-C), so no partial archive is ever left behind.
 */
const liveTempFiles = new Set<string>();
process.on('exit', () => {
  for (const file of liveTempFiles) {
    try {
      fs.rmSync(file, { force: true });
    } catch {
      // nothing more can be done while exiting
    }
  }
});
