import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArchiveError } from '../archive/errors.js';
import { OperationError, UserError } from '../errors.js';
import {
  looksLikeArchiveName,
  type ArchiveBlob,
  type ArchiveFolder,
  type ArchiveLocation,
  type ArchiveSink,
  type StoredArchive,
} from './location.js';

/** iovecs per writev call (IOV_MAX is 1024 on Linux and macOS). */
const MAX_IOV = 1024;

/** A local archive file. */
export class FileLocation implements ArchiveLocation {
  constructor(readonly name: string) {}

  named(name: string): ArchiveLocation {
    const folder =
      this.name.endsWith(path.sep) ||
      fs.statSync(this.name, { throwIfNoEntry: false })?.isDirectory();
    return folder ? new FileLocation(path.join(this.name, name)) : this;
  }

  async create(): Promise<ArchiveSink> {
    if (fs.existsSync(this.name))
      throw new UserError(`${this.name} already exists: choose another --file or remove it`);
    try {
      return await FileSink.open(this.name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOENT' || code === 'EACCES') {
        throw new UserError(`cannot write next to ${this.name} (${code}): choose another --file`);
      }
      throw err;
    }
  }

  async open(): Promise<ArchiveBlob> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.name, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ArchiveError('not-found', `${this.name} does not exist`);
      throw err;
    }
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      await handle.close();
      throw new ArchiveError('not-an-archive', `${this.name} is a directory`);
    }
    return new FileBlob(this.name, handle, stat.size);
  }
}

class FileBlob implements ArchiveBlob {
  constructor(
    private readonly file: string,
    private readonly handle: fs.promises.FileHandle,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.size - offset)));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.handle.read(buf, got, buf.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }

  stream(offset = 0, end = this.size) {
    return fs.createReadStream(this.file, {
      start: offset,
      end: Math.max(offset, end) - 1,
      highWaterMark: 256 * 1024,
    });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * Writes into a temporary file beside the destination; commit() links it into place (never
 * replacing a file that appeared meanwhile), abort() removes it. Each batch is one writev.
 */
export class FileSink implements ArchiveSink {
  /** Bytes in the file so far (for a full disk's message). */
  private written = 0;

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    private readonly file: fs.promises.FileHandle,
    /** Free bytes of its file system when it was opened. */
    private readonly freeAtStart: number | undefined,
  ) {}

  static async open(finalPath: string): Promise<FileSink> {
    const dir = path.dirname(path.resolve(finalPath));
    const tempPath = path.join(
      dir,
      `.${path.basename(finalPath)}.${randomBytes(4).toString('hex')}.partial`,
    );
    const handle = await fs.promises.open(tempPath, 'wx', 0o600);
    liveTempFiles.add(tempPath);
    const stat = await fs.promises.statfs(dir).catch(() => undefined);
    return new FileSink(finalPath, tempPath, handle, stat ? stat.bavail * stat.bsize : undefined);
  }

  async write(buffers: Buffer[]): Promise<void> {
    let pending = buffers.filter((b) => b.length > 0);
    try {
      while (pending.length > 0) {
        const batch = pending.slice(0, MAX_IOV);
        const total = batch.reduce((n, b) => n + b.length, 0);
        const { bytesWritten } = await this.file.writev(batch);
        this.written += bytesWritten;
        pending = pending.slice(batch.length);
        if (bytesWritten < total) pending.unshift(...remainder(batch, bytesWritten));
      }
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ENOSPC' ? this.diskFull() : err;
    }
  }

  private diskFull(): OperationError {
    const dir = path.dirname(path.resolve(this.finalPath));
    const mb = (n: number) => `${Math.ceil(n / 1e6)} MB`;
    const free = this.freeAtStart === undefined ? '' : ` (${mb(this.freeAtStart)} were free)`;
    return new OperationError(
      `no space left on the file system of ${dir}: the archive needs more than the ${mb(this.written)} written when it filled${free}; free space there or write elsewhere with --file`,
    );
  }

  async commit(): Promise<void> {
    await this.file.sync();
    await this.file.close();
    try {
      // link() fails with EEXIST instead of replacing a file made since the backup began.
      await fs.promises.link(this.tempPath, this.finalPath);
      await fs.promises.rm(this.tempPath, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        await this.abort();
        throw new UserError(`${this.finalPath} appeared while the backup ran: it was left alone`);
      }
      // File systems without hard links: rename, after one more look.
      if (fs.existsSync(this.finalPath)) throw err;
      await fs.promises.rename(this.tempPath, this.finalPath);
    }
    liveTempFiles.delete(this.tempPath);
  }

  async abort(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await fs.promises.rm(this.tempPath, { force: true });
    liveTempFiles.delete(this.tempPath);
  }
}

function remainder(batch: Buffer[], written: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = written;
  for (const b of batch) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}

/** A local directory of archives. */
export class DirectoryFolder implements ArchiveFolder {
  constructor(readonly name: string) {}

  async list(): Promise<StoredArchive[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UserError(`directory ${this.name} does not exist`);
      if (code === 'ENOTDIR') throw new UserError(`${this.name} is not a directory`);
      throw err;
    }
    const found: StoredArchive[] = [];
    for (const n of names.sort()) {
      if (n.startsWith('.') || !looksLikeArchiveName(n)) continue;
      const file = path.join(this.name, n);
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (!stat?.isFile()) continue;
      found.push({ location: new FileLocation(file), size: stat.size, modified: stat.mtime });
    }
    return found;
  }

  async remove(archive: StoredArchive): Promise<void> {
    await fs.promises.rm(archive.location.name);
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
