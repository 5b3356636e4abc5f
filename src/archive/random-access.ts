import { CHUNK_SIZE, openChunkAt, SEALED_CHUNK_SIZE, type OpenedPayload } from './age/index.js';
import { openLocation, refName } from '../storage/resolve.js';
import type { ArchiveBlob, ArchiveRef } from '../storage/location.js';
import type { DecryptionKeys } from './encryption.js';
import { ByteReader } from './byte-reader.js';
import { sniffHead } from './reader.js';

/** Where a member's data sits in the archive's tar stream (plaintext offsets). */
export interface MemberLocation {
  offset: number;
  size: number;
}

/** Bytes read at once: 16 sealed age chunks, ~1 MiB (one ranged GET from S3). */
const READ_CHUNKS = 16;
/**
 * Members closer than this are read as one span (the bytes between read and dropped): the
 * parts of one entry sit mostly back to back, so an entry is a few reads (a few GETs from S3)
 * rather than one or two per 1 MiB part.
 */
const SPAN_GAP = 1024 * 1024;

/**
 * Reads byte ranges of an archive's tar stream without reading what comes before them: a
 * plain tar is read at the offset; an age file is opened once (header, payload key) and only
 * the 64 KiB chunks covering the range are read and authenticated. A restore reads each data
 * entry this way after one verifying pass, instead of one more pass over the file per entry.
 */
export class ArchiveRanges {
  private constructor(
    private readonly handle: ArchiveBlob,
    private readonly payload: (OpenedPayload & { chunks: number }) | undefined,
    /** Size of the tar stream (the plaintext). */
    readonly size: number,
  ) {}

  static async open(ref: ArchiveRef, keys: DecryptionKeys): Promise<ArchiveRanges> {
    const handle = await openLocation(ref);
    try {
      // The header and nonce: a few hundred bytes per recipient; read generously.
      const head = await handle.read(0, 64 * 1024);
      const { encrypted } = sniffHead(head, refName(ref));
      const { size } = handle;
      if (!encrypted) return new ArchiveRanges(handle, undefined, size);
      const opened = await keys.openPayload(head);
      const sealed = size - opened.payloadStart;
      const chunks = Math.ceil(sealed / SEALED_CHUNK_SIZE);
      const overhead = SEALED_CHUNK_SIZE - CHUNK_SIZE;
      return new ArchiveRanges(handle, { ...opened, chunks }, sealed - chunks * overhead);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get encrypted(): boolean {
    return this.payload !== undefined;
  }

  /** Encrypted: the age header and payload nonce as read now (see DecryptTransform). */
  get payloadPrefix(): Buffer | undefined {
    return this.payload?.prefix;
  }

  /** The `size` bytes of the tar stream from `offset`, in pieces of up to ~1 MiB. */
  async *read(offset: number, size: number): AsyncGenerator<Buffer> {
    if (size === 0) return;
    if (!this.payload) {
      yield* this.readPlain(offset, size);
      return;
    }
    const { key, payloadStart, chunks } = this.payload;
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((offset + size - 1) / CHUNK_SIZE);
    let skip = offset - first * CHUNK_SIZE;
    let left = size;
    for (let i = first; i <= last; i += READ_CHUNKS) {
      const count = Math.min(READ_CHUNKS, last - i + 1);
      // What is yielded are the deciphered copies, never views of this.
      const sealed = await this.handle.read(
        payloadStart + i * SEALED_CHUNK_SIZE,
        count * SEALED_CHUNK_SIZE,
      );
      const bytesRead = sealed.length;
      for (let k = 0; k < count; k++) {
        const index = i + k;
        const start = k * SEALED_CHUNK_SIZE;
        const chunk = sealed.subarray(start, Math.min(start + SEALED_CHUNK_SIZE, bytesRead));
        let plain = openChunkAt(key, index, index === chunks - 1, chunk);
        if (skip > 0) {
          plain = plain.subarray(skip);
          skip = 0;
        }
        if (plain.length > left) plain = plain.subarray(0, left);
        left -= plain.length;
        yield plain;
      }
    }
    if (left > 0) throw new Error(`the archive ends ${left} bytes before the member does`);
  }

  /**
   * The bytes of several members, in the order given (ascending offsets, as the verifying pass
   * recorded them), each span of nearby members read as one stream.
   */
  async *readAll(where: MemberLocation[]): AsyncGenerator<Buffer> {
    for (const span of spans(where)) {
      const reader = new ByteReader(this.payload ? this.openSpan(span) : this.plainSpan(span));
      let pos = span.start;
      for (const m of span.members) {
        if (m.offset > pos) await reader.read(m.offset - pos);
        yield* reader.pieces(m.size, () => new Error(`the archive ends before its member does`));
        pos = m.offset + m.size;
      }
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private plainSpan(span: Span): AsyncIterable<Buffer> {
    return this.handle.stream(span.start, span.end);
  }

  /** The plaintext of [start, end): one read of the sealed chunks holding it, each opened. */
  private async *openSpan(span: Span): AsyncGenerator<Buffer> {
    const { key, payloadStart, chunks } = this.payload!;
    const first = Math.floor(span.start / CHUNK_SIZE);
    const last = Math.floor((span.end - 1) / CHUNK_SIZE);
    const sealed = new ByteReader(
      this.handle.stream(
        payloadStart + first * SEALED_CHUNK_SIZE,
        payloadStart + (last + 1) * SEALED_CHUNK_SIZE,
      ),
    );
    let skip = span.start - first * CHUNK_SIZE;
    let left = span.end - span.start;
    for (let index = first; index <= last; index++) {
      let plain = openChunkAt(
        key,
        index,
        index === chunks - 1,
        await sealed.read(SEALED_CHUNK_SIZE),
      );
      if (skip > 0) {
        plain = plain.subarray(skip);
        skip = 0;
      }
      if (plain.length > left) plain = plain.subarray(0, left);
      left -= plain.length;
      yield plain;
    }
  }

  private async *readPlain(offset: number, size: number): AsyncGenerator<Buffer> {
    let pos = offset;
    const end = offset + size;
    while (pos < end) {
      const buf = await this.handle.read(pos, Math.min(1024 * 1024, end - pos));
      if (buf.length === 0)
        throw new Error(`the archive ends ${end - pos} bytes before the member does`);
      pos += buf.length;
      yield buf;
    }
  }
}

interface Span {
  start: number;
  end: number;
  members: MemberLocation[];
}

/** Members grouped into spans of the tar stream, a new span where a gap exceeds SPAN_GAP. */
function spans(where: MemberLocation[]): Span[] {
  const out: Span[] = [];
  for (const m of where) {
    if (m.size === 0) continue;
    const last = out[out.length - 1];
    if (last && m.offset >= last.end && m.offset - last.end <= SPAN_GAP) {
      last.end = m.offset + m.size;
      last.members.push(m);
    } else {
      out.push({ start: m.offset, end: m.offset + m.size, members: [m] });
    }
  }
  return out;
}
