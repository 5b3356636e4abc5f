import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';

/** Fixed timestamps make archives of the same inputs byte-identical (reproducible releases). */
export const ARCHIVE_MTIME = new Date('2000-01-01T00:00:00Z');

export interface ArchiveFile {
  /** Name inside the archive. */
  name: string;
  /** File on disk. */
  source: string;
  mode: number;
}

/** A .tar.gz with the files at its root (names and modes as given, no owner, fixed time). */
export async function writeTarGz(out: string, files: ArchiveFile[]): Promise<void> {
  const stage = fs.mkdtempSync(`${out}.stage-`);
  try {
    for (const f of files) {
      fs.copyFileSync(f.source, path.join(stage, f.name));
      fs.chmodSync(path.join(stage, f.name), f.mode);
    }
    await tar.c(
      { file: out, cwd: stage, gzip: { level: 9 }, portable: true, mtime: ARCHIVE_MTIME },
      files.map((f) => f.name),
    );
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function dosDateTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 4) | d.getUTCDate(),
  };
}

/** A .zip (deflate) with the files at its root; Unix modes kept in the external attributes. */
export function writeZip(out: string, files: ArchiveFile[]): void {
  const { time, date } = dosDateTime(ARCHIVE_MTIME);
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const data = fs.readFileSync(f.source);
    const packed = zlib.deflateRawSync(data, { level: 9 });
    const name = Buffer.from(f.name);
    const crc = zlib.crc32(data);
    if (data.length >= 0xffffffff || offset >= 0xffffffff) throw new Error('zip64 not supported');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, spec 2.0
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(time, 12);
    cd.writeUInt16LE(date, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(packed.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((0o100000 | f.mode) << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    central.push(cd, name);
    offset += local.length + name.length + packed.length;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(out, Buffer.concat([...locals, ...central, end]));
}

export interface ListedEntry {
  name: string;
  mode: number;
  size: number;
  type: 'file' | 'dir' | 'other';
}

/** Lists a .tar.gz or .zip (detected by content, as Krew does). */
export async function listArchive(file: string): Promise<ListedEntry[]> {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  if (head.readUInt32LE(0) === 0x04034b50) return listZip(fs.readFileSync(file));
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const entries: ListedEntry[] = [];
    await tar.t({
      file,
      onReadEntry: (e) => {
        entries.push({
          name: e.path.replace(/^\.\//, '').replace(/\/$/, ''),
          mode: e.mode ?? 0,
          size: e.size ?? 0,
          type: e.type === 'File' ? 'file' : e.type === 'Directory' ? 'dir' : 'other',
        });
      },
    });
    return entries;
  }
  throw new Error(`${file}: neither a gzip nor a zip archive`);
}

function listZip(buf: Buffer): ListedEntry[] {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('zip: no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries: ListedEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error('zip: bad central directory');
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    const mode = (buf.readUInt32LE(at + 38) >>> 16) & 0o7777;
    const size = buf.readUInt32LE(at + 24);
    entries.push({
      name: name.replace(/\/$/, ''),
      mode,
      size,
      type: name.endsWith('/') ? 'dir' : 'file',
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Extracts one member of a .tar.gz or .zip to `dest`. */
export async function extractMember(file: string, member: string, dest: string): Promise<void> {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32LE(0) === 0x04034b50) {
    let at = 0;
    while (buf.readUInt32LE(at) === 0x04034b50) {
      const packedLen = buf.readUInt32LE(at + 18);
      const nameLen = buf.readUInt16LE(at + 26);
      const extraLen = buf.readUInt16LE(at + 28);
      const name = buf.subarray(at + 30, at + 30 + nameLen).toString('utf8');
      const start = at + 30 + nameLen + extraLen;
      if (name === member) {
        fs.writeFileSync(dest, zlib.inflateRawSync(buf.subarray(start, start + packedLen)));
        return;
      }
      at = start + packedLen;
    }
    throw new Error(`${file} has no ${member}`);
  }
  const dir = fs.mkdtempSync(`${dest}.x-`);
  try {
    await tar.x({ file, cwd: dir, filter: (p) => p.replace(/^\.\//, '') === member });
    fs.renameSync(path.join(dir, member), dest);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
