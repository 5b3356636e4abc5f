/**
 * CPU and throughput of the archive writer, side by side on the same bytes (1 GiB by default, in
 * the 32 KiB pieces a pod's exec socket delivers), written to a temporary file:
 *   - the floor: allocating the pieces, and sha256 of them
 *   - a plain file stream write of the pieces
 *   - the stream pipeline the writer used before (PassThrough -> age Transform -> file stream)
 *   - ArchiveWriter.openEntry, plain and age
 * Run: scripts/bench-writer [MiB]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createEncryptor,
  createEncryptStream,
  generateIdentity,
  parseRecipient,
} from './age/index.js';
import { newManifest } from './manifest.js';
import { ArchiveWriter } from './writer.js';

const PIECE = 32 * 1024;
const total = Number(process.argv[2] ?? 1024) * 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-writer-'));
const out = path.join(dir, 'out');
const source = Buffer.alloc(PIECE * 64);
for (let i = 0; i < source.length; i++) source[i] = (i * 7919) & 0xff;
const recipient = () => [parseRecipient(generateIdentity().recipient)];

function* pieces(): Generator<Buffer> {
  for (let i = 0; i < total / PIECE; i++) {
    const b = Buffer.allocUnsafe(PIECE);
    source.copy(b, 0, (i % 64) * PIECE, (i % 64) * PIECE + PIECE);
    yield b;
  }
}

async function feed(w: Writable): Promise<void> {
  for (const b of pieces()) if (!w.write(b)) await new Promise((r) => w.once('drain', r));
  w.end();
}

const manifest = () =>
  newManifest(
    { name: 'bench', version: '0' },
    { server: '', context: '', namespace: '', app: '' },
    new Date(),
  );

async function viaWriter(encrypted: boolean): Promise<void> {
  const writer = await ArchiveWriter.open(out, manifest(), {
    encryptor: encrypted ? await createEncryptor(recipient()) : undefined,
  });
  const entry = writer.openEntry('data/bench/x');
  const finished = new Promise((resolve, reject) => {
    entry.on('finish', resolve);
    entry.on('error', reject);
  });
  await feed(entry);
  await finished;
  await writer.commit();
}

const cases: [string, () => Promise<void>][] = [
  [
    'floor: allocate the pieces',
    async () => {
      let n = 0;
      for (const b of pieces()) n += b.length;
      if (n !== total) throw new Error('short');
    },
  ],
  [
    'floor: sha256 of the pieces',
    async () => {
      const h = createHash('sha256');
      for (const b of pieces()) h.update(b);
      h.digest();
    },
  ],
  [
    'fs.createWriteStream of the pieces',
    async () => {
      const w = fs.createWriteStream(out);
      const closed = new Promise<void>((r) => w.on('close', () => r()));
      await feed(w);
      await closed;
    },
  ],
  [
    'stream pipeline: PassThrough, age Transform, file',
    async () => {
      const tar = new PassThrough({ highWaterMark: 1024 * 1024 });
      const done = pipeline(tar, createEncryptStream(recipient()), fs.createWriteStream(out));
      const h = createHash('sha256');
      for (const b of pieces()) {
        h.update(b);
        if (!tar.write(b)) await new Promise<void>((r) => tar.once('drain', () => r()));
      }
      tar.end();
      await done;
    },
  ],
  ['ArchiveWriter entry, plain', () => viaWriter(false)],
  ['ArchiveWriter entry, age', () => viaWriter(true)],
];

console.log(
  `${total / 2 ** 20} MiB in ${PIECE / 1024} KiB pieces; CPU = user + system of this process`,
);
const results: Record<string, number> = {};
for (const [name, run] of cases) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  results[name] = cpu;
  fs.rmSync(out, { force: true });
  console.log(
    `${name.padEnd(52)} ${(total / seconds / 1e6).toFixed(0).padStart(6)} MB/s  CPU ${cpu.toFixed(2)} s`,
  );
}
const ratio = (a: string, b: string) => (results[a] / results[b]).toFixed(2);
console.log(
  `CPU of the stream pipeline over the ArchiveWriter with age: ${ratio('stream pipeline: PassThrough, age Transform, file', 'ArchiveWriter entry, age')}`,
);
fs.rmSync(dir, { recursive: true, force: true });
