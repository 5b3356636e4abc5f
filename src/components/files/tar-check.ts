import { hash } from 'node:crypto';
import { once } from 'node:events';
import { Parser, type ReadEntry } from 'tar';

/** Why an archived tar entry is refused before anything is extracted. */
export type UnsafeKind =
  | 'absolute-path'
  | 'parent-traversal'
  | 'outside-root'
  | 'root-not-directory'
  | 'through-link'
  | 'link-redefined'
  | 'symlink-absolute'
  | 'symlink-escape'
  | 'hardlink-escape'
  | 'unsupported-type'
  | 'invalid-tar';

export class UnsafeEntryError extends Error {
  constructor(
    readonly kind: UnsafeKind,
    readonly entry: string,
    detail: string,
  ) {
    super(`refused entry ${JSON.stringify(entry)}: ${detail}`);
    this.name = 'UnsafeEntryError';
  }
}

import type { TarCheckResult } from '../../contract/tree-check.js';

export type { TarCheckResult };

/** The fields of a header the checks read (a sparse file's are its real name and size). */
type Header = Pick<ReadEntry, 'path' | 'type' | 'size' | 'linkpath' | 'globalExtended'>;

interface SparseInfo {
  name?: string;
  realsize?: number;
  version: string;
}

/** GNU.sparse.* records of a pax extended header (GNU tar --sparse --format=posix). */
function sparseRecords(meta: string): SparseInfo | undefined {
  if (!/^\d+ GNU\.sparse\./m.test(meta)) return undefined;
  const kv = new Map<string, string>();
  for (const line of meta.split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/.exec(line);
    if (m) kv.set(m[1], m[2]);
  }
  const realsize = kv.get('GNU.sparse.realsize') ?? kv.get('GNU.sparse.size');
  return {
    name: kv.get('GNU.sparse.name'),
    realsize: realsize === undefined ? undefined : Number(realsize),
    version: `${kv.get('GNU.sparse.major') ?? '0'}.${kv.get('GNU.sparse.minor') ?? '0'}`,
  };
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Folded the way a case-insensitive or normalizing file system could see a name. */
const fold = (p: string) => p.normalize('NFC').toLowerCase();

/**
 * A file's folded path as kept for the hard-link check: 128 bits of its sha256 (16 one-byte
 * characters) instead of the path, so a tree of 100,000 files keeps a few MB, not tens (no
 * collision can be found, let alone made to order).
 */
const fileKey = (p: string) => hash('sha256', fold(p), 'buffer').toString('latin1', 0, 16);

/** A relative path's components without "" and ".", or the reason it is unsafe. */
function components(path: string): string[] | UnsafeKind {
  if (path.startsWith('/')) return 'absolute-path';
  const parts = path.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) return 'parent-traversal';
  return parts;
}

/**
 * Checks every header of a tar stream fed to it piece by piece, before any of it is extracted: each entry
 * must lie under `root` (one top-level directory such as "resources", itself a directory), with
 * no absolute path and no "..", and not be written through a link an earlier entry made
 * (CVE-2021-32803); symlinks must stay inside the extraction directory (the volume's mount
 * path: "../resources/x" from protected/ is fine), with ".." only as a leading run (so no
 * chain of links can climb out);
 * hard links must point at a regular file of the same stream; only files, directories and
 * links are accepted (no devices, FIFOs or vendor entries); sparse files only in GNU tar's
 * format 1.0 (pax GNU.sparse.name, checked as the path GNU tar extracts them to). Throws UnsafeEntryError
 * for the first refused entry; resolves with counts when every entry is safe.
 */
export class TarHeaderCheck {
  private readonly result: TarCheckResult = {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    bytes: 0,
    sparse: 0,
  };
  private readonly parser: Parser;
  private readonly ended: Promise<void>;
  private failure: Error | undefined;
  private sawData = false;
  private done = false;

  constructor(readonly root: string) {
    const result = this.result;
    let sparse: SparseInfo | undefined;
    /** Folded paths of symlinks and hard links seen so far (few). */
    const links = new Set<string>();
    /** The files seen so far (fileKey): what a hard link may point at. */
    const files = new Set<string>();
    const fail = (err: Error) => {
      this.failure ??= err;
    };
    /** A sparse file is extracted to its GNU.sparse.name: that is the path checked. */
    const checkEntry = (e: ReadEntry) => {
      const info = sparse;
      sparse = undefined;
      if (!info) return check(e);
      if (info.version !== '1.0' || !info.name || e.type !== 'File') {
        throw new UnsafeEntryError(
          'unsupported-type',
          e.path,
          `GNU sparse entry of format ${info.version}${info.name ? '' : ' without a name'} (only 1.0 files are accepted)`,
        );
      }
      const header = components(e.path);
      if (typeof header === 'string' || header[0] !== root) {
        throw new UnsafeEntryError('outside-root', e.path, `not under ${root}/`);
      }
      result.sparse++;
      check({ ...e, path: info.name, size: info.realsize ?? e.size, type: 'File' } as Header);
    };

    const check = (e: Header) => {
      const raw = e.path;
      // A pax global header may carry a path for every later entry; extractors disagree on
      // whether to apply it, so a stream with one is refused (GNU tar and busybox write none).
      if (e.globalExtended) {
        throw new UnsafeEntryError('unsupported-type', raw, 'preceded by a pax global header');
      }
      const parts = components(raw);
      if (typeof parts === 'string') {
        throw new UnsafeEntryError(
          parts,
          raw,
          parts === 'absolute-path' ? 'absolute path' : 'path contains ".."',
        );
      }
      if (parts.length === 0 || parts[0] !== root) {
        throw new UnsafeEntryError('outside-root', raw, `not under ${root}/`);
      }
      const path = parts.join('/');
      if (parts.length === 1 && e.type !== 'Directory') {
        throw new UnsafeEntryError('root-not-directory', raw, `${root} must be a directory`);
      }
      for (let i = 1; i < parts.length; i++) {
        if (links.has(fold(parts.slice(0, i).join('/')))) {
          throw new UnsafeEntryError(
            'through-link',
            raw,
            `written through the link ${parts.slice(0, i).join('/')} of an earlier entry`,
          );
        }
      }
      if (links.has(fold(path))) {
        throw new UnsafeEntryError('link-redefined', raw, 'replaces a link of an earlier entry');
      }
      result.entries++;
      if (FILE_TYPES.has(e.type)) {
        result.files++;
        result.bytes += e.size ?? 0;
        files.add(fileKey(path));
      } else if (e.type === 'Directory') {
        result.dirs++;
      } else if (e.type === 'SymbolicLink') {
        const target = e.linkpath ?? '';
        if (target.startsWith('/')) {
          throw new UnsafeEntryError('symlink-absolute', raw, `symlink to the absolute ${target}`);
        }
        if (target === '')
          throw new UnsafeEntryError('symlink-escape', raw, 'empty symlink target');
        // "../" only as a leading run, at most as deep as the link's own directory: "a/../.."
        // could climb out through a link named a (made by this stream or another one).
        const steps = target.split('/').filter((c) => c !== '' && c !== '.');
        const ups = steps.findIndex((c) => c !== '..');
        const climbs = ups === -1 ? steps.length : ups;
        if (steps.slice(climbs).includes('..')) {
          throw new UnsafeEntryError(
            'symlink-escape',
            raw,
            `symlink to ${target}: ".." after a name could resolve through another link`,
          );
        }
        if (climbs > parts.length - 1) {
          throw new UnsafeEntryError(
            'symlink-escape',
            raw,
            `symlink to ${target} leaves the extraction directory`,
          );
        }
        result.symlinks++;
        links.add(fold(path));
      } else if (e.type === 'Link') {
        const target = components(e.linkpath ?? '');
        const to = typeof target === 'string' ? undefined : target.join('/');
        if (
          typeof target === 'string' ||
          target[0] !== root ||
          !to ||
          !files.has(fileKey(to)) ||
          target.slice(1).some((_, i) => links.has(fold(target.slice(0, i + 1).join('/'))))
        ) {
          throw new UnsafeEntryError(
            'hardlink-escape',
            raw,
            `hard link to ${JSON.stringify(e.linkpath)}, not a file earlier in this stream`,
          );
        }
        result.hardlinks++;
        links.add(fold(path));
      } else {
        throw new UnsafeEntryError('unsupported-type', raw, `entry of type ${e.type}`);
      }
    };

    this.parser = new Parser({
      strict: true,
      onReadEntry: (e: ReadEntry) => {
        if (!this.failure) {
          try {
            checkEntry(e);
          } catch (err) {
            fail(err as Error);
          }
        }
        e.resume();
      },
    });
    this.parser.on('meta', (meta: string) => {
      // Kept until the entry it describes: a later long-name header does not cancel it.
      sparse = sparseRecords(meta) ?? sparse;
    });
    this.parser.on('warn', (code: string, message: string | Error) =>
      fail(
        new UnsafeEntryError(
          'invalid-tar',
          '',
          `not a valid tar stream (${code}: ${typeof message === 'string' ? message : message.message})`,
        ),
      ),
    );
    this.ended = new Promise<void>((resolve) => {
      this.parser.on('end', () => resolve());
      this.parser.on('close', () => resolve());
      this.parser.on('error', (err: Error) => {
        fail(new UnsafeEntryError('invalid-tar', '', `not a valid tar stream (${err.message})`));
        resolve();
      });
    });
  }

  /** True once an entry was refused: the rest of the stream need not be fed. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Feeds the next bytes of the stream; resolves when the parser can take more. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure || this.done) return;
    this.sawData ||= chunk.length > 0;
    if (!this.parser.write(chunk)) await once(this.parser, 'drain');
  }

  /** Ends the stream: resolves with the counts when every entry is safe, else throws. */
  async finish(): Promise<TarCheckResult> {
    if (!this.done) {
      this.done = true;
      if (!this.failure) this.parser.end();
      else this.parser.abort(this.failure);
    }
    await this.ended;
    if (this.failure) throw this.failure;
    if (!this.sawData || this.result.entries === 0) {
      throw new UnsafeEntryError('invalid-tar', '', 'empty tar stream');
    }
    return this.result;
  }
}

/** Reads a tar stream once and checks every header (TarHeaderCheck). */
export async function checkTarStream(
  source: AsyncIterable<Buffer>,
  root: string,
): Promise<TarCheckResult> {
  const check = new TarHeaderCheck(root);
  for await (const chunk of source) {
    if (check.failed) break;
    await check.write(chunk);
  }
  return check.finish();
}
