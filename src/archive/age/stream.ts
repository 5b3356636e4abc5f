/**
 * The age payload as Node streams.
 *
 * payload = 16-byte nonce || STREAM chunks. Payload key = HKDF-SHA256(ikm file key, salt nonce,
 * info "payload"). Plaintext is cut into 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
 * the 12-byte nonce (11-byte big-endian chunk counter || last-chunk flag 0x00/0x01). The last chunk
 * may be short, and is empty only when the whole payload is empty.
 *
 * Both Transforms hold at most one chunk plus the caller's current write, and rely on Transform's
 * own backpressure (the next write is not accepted until the readable side drains).
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AgeError } from './errors.js';
import { HeaderParser, type ParsedHeader } from './header.js';
import { hkdf, TAG_SIZE } from './primitives.js';

export const CHUNK_SIZE = 64 * 1024;
/** Size of a sealed (encrypted + tagged) full chunk in the payload. */
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
export const PAYLOAD_NONCE_SIZE = 16;

/**
 * The payload key, as a KeyObject: createCipheriv is ~5x cheaper per call with a KeyObject than
 * with raw key bytes, which matters at one call per 64 KiB chunk.
 */
export function payloadKey(fileKey: Buffer, nonce: Buffer): KeyObject {
  return createSecretKey(hkdf(fileKey, nonce, 'payload'));
}

/** STREAM nonce for chunk `counter`; counters fit in 48 bits, far beyond any real file. */
function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Seals one chunk; returns [ciphertext, tag] (pushed separately to avoid copying). */
function sealChunk(key: KeyObject, counter: number, last: boolean, plaintext: Buffer): Buffer[] {
  const c = createCipheriv('chacha20-poly1305', key, chunkNonce(counter, last), {
    authTagLength: TAG_SIZE,
  });
  const ciphertext = c.update(plaintext);
  c.final();
  return [ciphertext, c.getAuthTag()];
}

/** A sealed chunk as taken from the input: ciphertext pieces (views, not copies) and the tag. */
interface Sealed {
  parts: Buffer[];
  tag: Buffer;
  length: number; // ciphertext + tag
}

/** Opens one chunk; returns the plaintext pieces, or null if authentication fails. */
function openChunk(
  key: KeyObject,
  counter: number,
  last: boolean,
  sealed: Sealed,
): Buffer[] | null {
  const d = createDecipheriv('chacha20-poly1305', key, chunkNonce(counter, last), {
    authTagLength: TAG_SIZE,
  });
  d.setAuthTag(sealed.tag);
  const out = sealed.parts.map((p) => d.update(p));
  try {
    d.final();
  } catch {
    return null;
  }
  return out;
}

/**
 * Opens chunk `index` of a payload on its own (random access): `sealed` is its ciphertext and
 * tag, `last` whether it is the payload's final chunk. Throws TAMPERED if it fails to
 * authenticate.
 */
export function openChunkAt(key: KeyObject, index: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_SIZE) throw new AgeError('TRUNCATED', 'a chunk is cut short');
  const body = sealed.subarray(0, sealed.length - TAG_SIZE);
  const plain = openChunk(key, index, last, {
    parts: [body],
    tag: sealed.subarray(sealed.length - TAG_SIZE),
    length: sealed.length,
  });
  if (plain === null) {
    throw new AgeError('TAMPERED', `chunk ${index} fails authentication: the file was modified`);
  }
  return plain.length === 1 ? plain[0] : Buffer.concat(plain);
}

/**
 * The STREAM sealing of a payload, synchronously: `seal` takes plaintext in pieces of any size
 * and appends the sealed chunks they complete to `out`; `finish` seals the last chunk. It never
 * keeps a reference to the caller's buffers (a pending full chunk is copied), so a caller may
 * reuse its buffers as soon as `seal` returns.
 */
export class PayloadSealer {
  private readonly buf = Buffer.allocUnsafe(CHUNK_SIZE);
  private fill = 0;
  private counter = 0;

  constructor(private readonly key: KeyObject) {}

  seal(data: Buffer, out: Buffer[]): void {
    let off = 0;
    while (off < data.length) {
      // A full pending chunk is not the last one: more data follows.
      if (this.fill === CHUNK_SIZE) {
        this.sealInto(out, this.buf, false);
        this.fill = 0;
      }
      const rest = data.length - off;
      if (this.fill === 0 && rest > CHUNK_SIZE) {
        // A whole chunk with more input after it: sealed straight from the input (no copy).
        this.sealInto(out, data.subarray(off, off + CHUNK_SIZE), false);
        off += CHUNK_SIZE;
        continue;
      }
      const n = Math.min(CHUNK_SIZE - this.fill, rest);
      data.copy(this.buf, this.fill, off, off + n);
      this.fill += n;
      off += n;
    }
  }

  finish(out: Buffer[]): void {
    this.sealInto(out, this.buf.subarray(0, this.fill), true);
    this.fill = 0;
  }

  private sealInto(out: Buffer[], plaintext: Buffer, last: boolean): void {
    for (const b of sealChunk(this.key, this.counter++, last, plaintext)) {
      if (b.length > 0) out.push(b);
    }
  }
}

/** What an encryption needs before its payload: the header and the payload key. */
export interface EncryptionStart {
  header: Buffer;
  fileKey: Buffer;
}

/** The age file's first bytes (header and payload nonce) and the sealer of its payload. */
export function startPayload(start: EncryptionStart): { head: Buffer; sealer: PayloadSealer } {
  const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
  return {
    head: Buffer.concat([start.header, nonce]),
    sealer: new PayloadSealer(payloadKey(start.fileKey, nonce)),
  };
}

/**
 * Encrypts: writes `header` (obtained asynchronously, e.g. after scrypt) and the payload nonce,
 * then the encrypted chunks.
 */
export class EncryptTransform extends Transform {
  private sealer: PayloadSealer | null = null;

  constructor(private readonly init: Promise<EncryptionStart>) {
    super();
  }

  private async start(): Promise<PayloadSealer> {
    const { head, sealer } = startPayload(await this.init);
    this.push(head);
    this.sealer = sealer;
    return sealer;
  }

  private withSealer(cb: TransformCallback, work: (sealer: PayloadSealer) => void): void {
    const run = (sealer: PayloadSealer) => {
      work(sealer);
      cb();
    };
    if (this.sealer === null) {
      this.start().then(run, (err: unknown) => cb(err as Error));
      return;
    }
    run(this.sealer);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.withSealer(cb, (sealer) => this.pushAll((out) => sealer.seal(chunk, out)));
  }

  override _flush(cb: TransformCallback): void {
    this.withSealer(cb, (sealer) => this.pushAll((out) => sealer.finish(out)));
  }

  private pushAll(fill: (out: Buffer[]) => void): void {
    const out: Buffer[] = [];
    fill(out);
    for (const b of out) this.push(b);
  }
}

/** A FIFO of buffers from which exact byte counts can be taken without repeated concatenation. */
class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }

  /** Takes `n` >= TAG_SIZE bytes as a sealed chunk, without copying the ciphertext. */
  takeSealed(n: number): Sealed {
    const parts: Buffer[] = [];
    let need = n - TAG_SIZE;
    while (need > 0) {
      const p = this.parts[0];
      if (p.length <= need) {
        parts.push(p);
        this.parts.shift();
        need -= p.length;
      } else {
        parts.push(p.subarray(0, need));
        this.parts[0] = p.subarray(need);
        need = 0;
      }
    }
    this.length -= n - TAG_SIZE;
    return { parts, tag: this.take(TAG_SIZE), length: n };
  }

  take(n: number): Buffer {
    const first = this.parts[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const p = this.parts[0];
        const k = Math.min(p.length, n - got);
        p.copy(out, got, 0, k);
        got += k;
        if (k === p.length) this.parts.shift();
        else this.parts[0] = p.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }
}

const truncated = (where: string): AgeError =>
  new AgeError(
    'TRUNCATED',
    `archive is truncated: it ends ${where} (the file was cut short, e.g. an interrupted copy)`,
  );

/**
 * Decrypts: parses the header from the first bytes, asks `openHeader` for the file key (it runs
 * the identities and checks the header MAC), then decrypts and authenticates the chunks.
 * Errors are AgeError: NOT_AGE / BAD_HEADER / UNSUPPORTED (header), whatever `openHeader` throws,
 * TRUNCATED (input ends early), TAMPERED (a chunk fails authentication, or trailing data).
 */
export class DecryptTransform extends Transform {
  /**
   * The header and payload nonce the chunks were opened under, once read. Another read of the
   * file under the same bytes gets the same plaintext from every chunk that authenticates: a
   * chunk's MAC binds it to this key and to its index.
   */
  payloadPrefix: Buffer | undefined;
  private header: Buffer | null = null;
  private parser: HeaderParser | null = new HeaderParser();
  private fileKey: Buffer | null = null;
  private key: KeyObject | null = null;
  private readonly queue = new ByteQueue();
  private counter = 0;

  constructor(private readonly openHeader: (header: ParsedHeader) => Promise<Buffer>) {
    // Object mode on the readable side: a reader gets each opened chunk as it is (in byte
    // mode, Readable.read() would concatenate everything buffered: a copy per read); at most
    // four ~64 KiB chunks wait.
    super({ readableObjectMode: true, readableHighWaterMark: 4 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.parser !== null) {
      let header: ParsedHeader | undefined;
      try {
        header = this.parser.push(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      if (header === undefined) {
        cb();
        return;
      }
      const rest = this.parser.buffered.subarray(header.length);
      this.header = Buffer.from(this.parser.buffered.subarray(0, header.length));
      this.parser = null;
      this.openHeader(header).then(
        (fileKey) => {
          this.fileKey = fileKey;
          this.consume(rest, cb);
        },
        (err: unknown) => cb(err as Error),
      );
      return;
    }
    this.consume(chunk, cb);
  }

  private consume(chunk: Buffer, cb: TransformCallback): void {
    this.queue.push(chunk);
    if (this.key === null) {
      if (this.queue.length < PAYLOAD_NONCE_SIZE) {
        cb();
        return;
      }
      const nonce = this.queue.take(PAYLOAD_NONCE_SIZE);
      this.key = payloadKey(this.fileKey!, nonce);
      this.payloadPrefix = Buffer.concat([this.header!, nonce]);
    }
    // While more than a sealed chunk is buffered, the first one cannot be the last.
    while (this.queue.length > SEALED_CHUNK_SIZE) {
      const sealed = this.queue.takeSealed(SEALED_CHUNK_SIZE);
      const plain = openChunk(this.key, this.counter, false, sealed);
      if (plain === null) {
        // Authentic as the last chunk, but more data follows: release it (as the reference
        // implementation does), then fail.
        const last = openChunk(this.key, this.counter, true, sealed);
        if (last !== null) this.pushAll(last);
        cb(last !== null ? trailingData() : tampered(this.counter));
        return;
      }
      this.counter++;
      this.pushAll(plain);
    }
    cb();
  }

  private pushAll(buffers: Buffer[]): void {
    for (const b of buffers) if (b.length > 0) this.push(b);
  }

  override _flush(cb: TransformCallback): void {
    if (this.parser !== null) {
      cb(
        this.parser.buffered.length === 0
          ? truncated('before the age header (it is empty)')
          : truncated('inside the age header'),
      );
      return;
    }
    if (this.key === null) {
      cb(truncated('right after the age header, before the payload'));
      return;
    }
    const n = this.queue.length;
    if (n === 0) {
      cb(
        truncated(
          this.counter === 0
            ? 'right after the age header, before the payload'
            : 'at a chunk boundary, before the last encrypted chunk',
        ),
      );
      return;
    }
    if (n < TAG_SIZE) {
      cb(truncated('inside an encrypted chunk, before the last one'));
      return;
    }
    const sealed = this.queue.takeSealed(n);
    const plain = openChunk(this.key, this.counter, true, sealed);
    if (plain !== null) {
      if (n === TAG_SIZE && this.counter > 0) {
        cb(new AgeError('TAMPERED', 'archive is corrupt: its last encrypted chunk is empty'));
        return;
      }
      this.pushAll(plain);
      cb();
      return;
    }
    if (n === SEALED_CHUNK_SIZE) {
      // A full chunk that authenticates as a non-final chunk: the last chunk is missing.
      const inner = openChunk(this.key, this.counter, false, sealed);
      if (inner !== null) this.pushAll(inner);
      cb(
        inner !== null
          ? truncated('at a chunk boundary, before the last encrypted chunk')
          : tampered(this.counter),
      );
      return;
    }
    // A short final piece that does not authenticate as the last chunk: either the file was cut
    // inside a chunk (by far the likeliest) or its last chunk was modified. The two cannot be
    // told apart cryptographically.
    cb(
      new AgeError(
        'TRUNCATED',
        'archive is truncated or damaged at its end: the last encrypted chunk is incomplete or fails authentication (e.g. an interrupted copy)',
      ),
    );
  }
}

function tampered(counter: number): AgeError {
  return new AgeError(
    'TAMPERED',
    `archive is corrupted or was modified: encrypted chunk ${counter} (at about byte ${counter * SEALED_CHUNK_SIZE} of the payload) fails authentication`,
  );
}

function trailingData(): AgeError {
  return new AgeError(
    'TAMPERED',
    'archive has unexpected data after its last encrypted chunk (it was modified or concatenated)',
  );
}
