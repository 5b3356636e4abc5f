/** Shared helpers of the age tests. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgeError, createDecryptStream, type Identity } from '../../../src/archive/age/index.js';

/** Deterministic-enough test data: random bytes of length n. */
export function data(n: number): Buffer {
  return randomBytes(n);
}

/** Splits `buf` into pieces of the given sizes (cycled), to exercise stream re-chunking. */
export function pieces(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

/** Decrypts `file` (optionally fed in pieces) and reports the plaintext released and the error. */
export async function tryDecrypt(
  file: Buffer,
  identities: Identity[],
  sizes?: number[],
): Promise<{ out: Buffer; err: AgeError | null }> {
  const dec = createDecryptStream(identities);
  const parts: Buffer[] = [];
  dec.on('data', (d: Buffer) => parts.push(d));
  let err: AgeError | null = null;
  try {
    await pipeline(Readable.from(sizes ? pieces(file, sizes) : [file]), dec);
  } catch (e) {
    if (!(e instanceof AgeError)) throw e;
    err = e;
  }
  return { out: Buffer.concat(parts), err };
}

/** Asserts that decrypting `file` fails with one of `codes`; returns the error. */
export async function expectFailure(
  file: Buffer,
  identities: Identity[],
  ...codes: string[]
): Promise<AgeError> {
  const { err } = await tryDecrypt(file, identities);
  expect(err, `expected ${codes.join('/')}`).to.be.instanceOf(AgeError);
  expect(codes).to.include(err!.code);
  return err!;
}

/** Length of the age header (through the newline after the MAC) of an age file. */
export function headerLength(file: Buffer): number {
  const mac = file.indexOf('\n--- ');
  return file.indexOf('\n', mac + 1) + 1;
}
