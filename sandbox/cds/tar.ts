// The archive of `GET /api/v1/utils/compress/<sub>`, written the way upstream's tar 0.4.38 crate
// does (src/builder.rs `append_dir_all`, `append_file`, `prepare_header_path`; HeaderMode::
// Complete, follow symlinks, GNU headers, `././@LongLink` entries for names over 100 bytes)
// through flate2 `Compression::best()` (gzip level 9). node-tar cannot be told to name the
// archive's root `entando-data/` whatever directory is compressed, so the writer is ours.
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { readdir, stat, lstat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createGzip, constants as zc } from 'node:zlib';

const BLOCK = 512;

export class TarGzWriter {
  private readonly gz = createGzip({ level: zc.Z_BEST_COMPRESSION });
  private readonly done: Promise<unknown>;

  constructor(file: string) {
    // Created (truncated) at once, as upstream's File::create before it looks at the source.
    const out = createWriteStream(file);
    this.gz.pipe(out);
    this.done = once(out, 'close');
  }

  private async write(buf: Buffer): Promise<void> {
    if (!this.gz.write(buf)) await once(this.gz, 'drain');
  }

  /** A directory entry; tar-rs keeps a trailing slash only when the path had one. */
  async dir(name: string, st: Stats): Promise<void> {
    await this.entry(name, st, '5', 0);
  }

  async file(name: string, path: string, st: Stats): Promise<void> {
    await this.entry(name, st, '0', st.size);
    let n = 0;
    // `io::copy` of `file.take(stat.len())`: exactly the size stat'ed (the file may grow).
    if (st.size > 0) {
      for await (const chunk of createReadStream(path, { end: st.size - 1 })) {
        n += (chunk as Buffer).length;
        await this.write(chunk as Buffer);
      }
    }
    if (n !== st.size) throw new Error(`${path}: size changed while archiving`);
    if (n % BLOCK) await this.write(Buffer.alloc(BLOCK - (n % BLOCK)));
  }

  /** append_special: fifos and devices as header-only entries (sockets are refused). */
  async special(name: string, st: Stats): Promise<void> {
    if (st.isSocket()) throw new Error(`${name}: socket can not be archived`);
    const type = st.isFIFO() ? '6' : st.isCharacterDevice() ? '3' : st.isBlockDevice() ? '4' : '';
    if (!type) throw new Error(`${name} has unknown file type`);
    const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
    const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
    await this.entry(name, st, type, 0, major, minor);
  }

  /** Builder::finish (also what its Drop does): two zero blocks, then the gzip trailer. */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(2 * BLOCK));
    this.gz.end();
    await this.done;
  }

  private async entry(
    name: string,
    st: Stats,
    type: string,
    size: number,
    major = 0,
    minor = 0,
  ): Promise<void> {
    const bytes = Buffer.from(name, 'utf8');
    if (bytes.length > 100) {
      // GNU long name: a 'L' entry holding the NUL-terminated name, then a truncated header.
      const long = header(
        '././@LongLink',
        { mode: 0o644, uid: 0, gid: 0, mtime: 0 },
        'L',
        bytes.length + 1,
      );
      const data = Buffer.concat([bytes, Buffer.alloc(1)]);
      await this.write(long);
      await this.write(
        Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]),
      );
    }
    const stats = { mode: st.mode, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    await this.write(header(bytes.subarray(0, 100), stats, type, size, major, minor));
  }
}

interface HeaderStats {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

function header(
  name: string | Buffer,
  st: HeaderStats,
  type: string,
  size: number,
  major = 0,
  minor = 0,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  Buffer.from(name).copy(h, 0, 0, 100);
  octal(h, 100, 8, st.mode);
  octal(h, 108, 8, st.uid);
  octal(h, 116, 8, st.gid);
  octal(h, 124, 12, size);
  octal(h, 136, 12, st.mtime);
  h.write(type, 156, 'latin1');
  h.write('ustar  \0', 257, 'latin1'); // GNU magic + version
  if (type === '3' || type === '4') {
    octal(h, 329, 8, major);
    octal(h, 337, 8, minor);
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  octal(h, 148, 8, sum);
  return h;
}

/** tar-rs `octal_into`: zero-padded octal filling all but the last byte, then NUL. */
function octal(h: Buffer, off: number, len: number, value: number): void {
  h.write(
    value
      .toString(8)
      .padStart(len - 1, '0')
      .slice(-(len - 1)) + '\0',
    off,
    'latin1',
  );
}

/**
 * tar-rs `append_dir_all("entando-data", src)` with follow_symlinks: a LIFO stack, children
 * pushed in directory order (sorted here; upstream's is readdir order), each directory's own
 * entry written when it is popped. `skip` says whether a followed path leaves the data root.
 */
export async function appendDirAll(
  tar: TarGzWriter,
  prefix: string,
  src: string,
  skip: (path: string) => Promise<boolean>,
): Promise<void> {
  const stack: { path: string; rel: string; isDir: boolean; isLink: boolean }[] = [
    { path: src, rel: '', isDir: true, isLink: false },
  ];
  for (let item = stack.pop(); item; item = stack.pop()) {
    // Path::join of "" adds a separator: the root entry is "entando-data/".
    const dest = `${prefix}/${item.rel}`;
    if (item.isLink && (await skip(item.path))) continue;
    const followed = item.isLink ? await stat(item.path) : undefined;
    if (item.isDir || followed?.isDirectory()) {
      const names = (await readdir(item.path)).sort();
      for (const n of names) {
        const ls = await lstat(join(item.path, n));
        const rel = item.rel ? `${item.rel}/${n}` : n;
        stack.push({
          path: join(item.path, n),
          rel,
          isDir: ls.isDirectory(),
          isLink: ls.isSymbolicLink(),
        });
      }
      await tar.dir(dest, await stat(item.path));
    } else {
      const st = followed ?? (await stat(item.path));
      if (st.isFile()) await tar.file(dest, item.path, st);
      else await tar.special(dest, st);
    }
  }
}
