/**
 * Throughput benchmark of the age implementation (run via scripts/bench-crypto).
 *
 * Prints MB/s (10^6 bytes per second of plaintext) of, on the same random bytes: SHA-256
 * (node:crypto, a baseline), our encrypt and decrypt streams (fed in 64 KiB pieces, like a file
 * stream), and the `age` CLI encrypting the bytes and decrypting our ciphertext (files in the OS
 * temp dir, output to /dev/null) when `age` is installed.
 *
 * Usage: node dist/src/archive/age/bench.js [MiB]   (default 256)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createDecryptStream,
  createEncryptStream,
  generateIdentity,
  parseIdentities,
  parseRecipient,
} from './index.js';

const PIECE = 64 * 1024;

function* piecesOf(buf: Buffer): Generator<Buffer> {
  for (let off = 0; off < buf.length; off += PIECE) yield buf.subarray(off, off + PIECE);
}

/** A sink that copies everything into `into` (if given) and counts bytes. */
function sink(into?: Buffer): Writable & { bytes: number } {
  const w = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (into) chunk.copy(into, w.bytes);
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const size = mib * 1024 * 1024;
  const rows: [string, string][] = [];
  const rate = (seconds: number): string => `${(size / 1e6 / seconds).toFixed(0)} MB/s`;

  const plain = randomFillSync(Buffer.allocUnsafe(size));
  const { identity, recipient } = generateIdentity();

  const tHash = await timed(() => {
    const h = createHash('sha256');
    for (const p of piecesOf(plain)) h.update(p);
    h.digest();
  });
  rows.push(['sha256 (node:crypto, baseline)', rate(tHash)]);

  // Warm up (JIT, OpenSSL cipher lookup) on 16 MiB so the first timed run is not penalized.
  const warm = plain.subarray(0, 16 << 20);
  const warmOut = sink();
  await pipeline(
    Readable.from(piecesOf(warm)),
    createEncryptStream([parseRecipient(recipient)]),
    createDecryptStream(parseIdentities(identity)),
    warmOut,
  );
  if (warmOut.bytes !== warm.length)
    throw new Error('warm-up round trip returned the wrong length');

  const encOut = sink();
  const tEnc = await timed(() =>
    pipeline(
      Readable.from(piecesOf(plain)),
      createEncryptStream([parseRecipient(recipient)]),
      encOut,
    ),
  );
  rows.push(['ours: encrypt (age, X25519)', rate(tEnc)]);
  // The ciphertext for the decryption runs, produced outside the timing.
  const file = Buffer.alloc(encOut.bytes);
  await pipeline(
    Readable.from(piecesOf(plain)),
    createEncryptStream([parseRecipient(recipient)]),
    sink(file),
  );

  const decOut = sink();
  const tDec = await timed(() =>
    pipeline(Readable.from(piecesOf(file)), createDecryptStream(parseIdentities(identity)), decOut),
  );
  if (decOut.bytes !== size) throw new Error('decryption returned the wrong length');
  rows.push(['ours: decrypt', rate(tDec)]);

  if (spawnSync('age', ['--version'], { stdio: 'ignore' }).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-crypto-'));
    try {
      writeFileSync(join(dir, 'plain'), plain);
      writeFileSync(join(dir, 'ours.age'), file);
      writeFileSync(join(dir, 'key.txt'), identity + '\n');
      const version = execFileSync('age', ['--version'], { encoding: 'utf8' }).trim();
      const tAgeEnc = await timed(() => {
        execFileSync('age', ['-e', '-r', recipient, '-o', '/dev/null', join(dir, 'plain')]);
      });
      rows.push([`age ${version} CLI: encrypt (file -> /dev/null)`, rate(tAgeEnc)]);
      const tAgeDec = await timed(() => {
        execFileSync('age', [
          '-d',
          '-i',
          join(dir, 'key.txt'),
          '-o',
          '/dev/null',
          join(dir, 'ours.age'),
        ]);
      });
      rows.push([`age ${version} CLI: decrypt our file (-> /dev/null)`, rate(tAgeDec)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    rows.push(['age CLI', 'not installed (Debian package `age`)']);
  }

  console.log(`${mib} MiB of random bytes, MB = 10^6 bytes of plaintext`);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v.padStart(10)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
