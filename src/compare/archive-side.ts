/**
 * What an archive holds, in the shapes compare uses for a live side: file trees (entries,
 * modes, sizes, symlink targets, sha256 of each file, computed from the archived tar) and the
 * row count of every table (counted in the archived dump: PostgreSQL COPY lines, mysqldump
 * INSERT tuples). Read by streaming each entry once; nothing is extracted.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { Parser, type ReadEntry } from 'tar';
import { entryStream, type ArchiveSource } from '../archive/entry-stream.js';
import type { ManifestEntry } from '../archive/manifest.js';
import { metaOf } from '../contract/manifest.js';
import type { FileEntry, TreeState } from './files.js';
import { cdsTreeKey } from './cds-trees.js';
import { datasourceKey } from './tenant-schemas.js';
import type { DatasourceState, TableState } from './tables.js';

/** Entries of one archived tar by path (hard links resolved to the file they name). */
export async function tarTree(source: AsyncIterable<Buffer>): Promise<Map<string, FileEntry>> {
  const entries = new Map<string, FileEntry>();
  const links: [string, string][] = [];
  const pending: Promise<void>[] = [];
  const parser = new Parser({
    onReadEntry: (e: ReadEntry) => {
      const path = e.path.replace(/^\.\//, '').replace(/\/+$/, '');
      const mode = (e.mode ?? 0) & 0o7777;
      if (e.type === 'File' || e.type === 'OldFile' || e.type === 'ContiguousFile') {
        const hash = createHash('sha256');
        e.on('data', (d: Buffer) => hash.update(d));
        pending.push(
          new Promise((resolve) =>
            e.on('end', () => {
              entries.set(path, { type: 'file', mode, size: e.size, sha256: hash.digest('hex') });
              resolve();
            }),
          ),
        );
        return;
      }
      if (e.type === 'Directory') entries.set(path, { type: 'dir', mode });
      else if (e.type === 'SymbolicLink')
        entries.set(path, { type: 'symlink', target: e.linkpath });
      else if (e.type === 'Link') links.push([path, (e.linkpath ?? '').replace(/^\.\//, '')]);
      else entries.set(path, { type: 'other', mode });
      e.resume();
    },
  });
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', reject);
  });
  for await (const chunk of source) {
    if (!parser.write(chunk)) await once(parser, 'drain');
  }
  parser.end();
  await ended;
  await Promise.all(pending);
  // A hard link is, on the volume, one more name of the same file.
  for (const [path, target] of links) {
    const file = entries.get(target);
    if (file) entries.set(path, { ...file });
  }
  return entries;
}

/**
 * Every files tree of the archive, keyed like the live side: "<owner> <qualifier>/<dir>", a CDS
 * volume's by its tenants (cdsTreeKey).
 */
export async function archiveTrees(archive: ArchiveSource, manifest: ManifestEntry[]) {
  const out: TreeState[] = [];
  for (const entry of manifest) {
    const meta = metaOf(entry, 'files');
    if (meta?.component !== 'files') continue;
    const key = meta.cds
      ? cdsTreeKey(meta.cds.tenants, meta.dir)
      : `${meta.owner.name} ${meta.qualifier}/${meta.dir}`;
    const entries = await tarTree(entryStream(archive, entry));
    // The streams of a tree read as several (backup --file-streams) are one tree.
    const same = out.find((t) => t.key === key);
    if (same) for (const [path, e] of entries) same.entries!.set(path, e);
    else out.push({ key, entries });
  }
  return out;
}

/** Lines of a byte stream (a dump), without their "\n". */
async function* lines(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of source) {
    const text = rest + decoder.write(chunk);
    const parts = text.split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  rest += decoder.end();
  if (rest) yield rest;
}

const unquotePg = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);
const PG_COPY = /^COPY (?:(?:"(?:[^"]|"")*"|[^ ."]+)\.)?("(?:[^"]|"")*"|[^ ("]+) .*FROM stdin;$/;

/** Rows per table of a pg_dump plain dump: one COPY data line per row, up to `\.`. */
export async function pgDumpCounts(source: AsyncIterable<Buffer>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let table: string | undefined;
  for await (const line of lines(source)) {
    if (table !== undefined) {
      if (line === '\\.') table = undefined;
      else counts.set(table, counts.get(table)! + 1);
      continue;
    }
    const m = PG_COPY.exec(line);
    if (m) {
      table = unquotePg(m[1]);
      counts.set(table, 0);
    }
  }
  return counts;
}

/**
 * Counts the top-level `(...)` tuples of an INSERT's VALUES list as it comes, line by line
 * (MariaDB's dump puts each tuple on a line of its own), quotes and backslash escapes
 * respected; `feed` says when the statement's `;` was reached.
 */
export class TupleCounter {
  tuples = 0;
  private depth = 0;
  private quote: string | undefined;

  /** Returns true once the statement ended (a `;` outside any tuple and quote). */
  feed(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.quote) {
        if (c === '\\') i++;
        else if (c === this.quote) this.quote = undefined;
      } else if (c === "'" || c === '"') this.quote = c;
      else if (c === '(') {
        if (this.depth === 0) this.tuples++;
        this.depth++;
      } else if (c === ')') this.depth--;
      else if (c === ';' && this.depth === 0) return true;
    }
    return false;
  }
}

const unquoteMy = (s: string) => s.slice(1, -1).replace(/``/g, '`');
const MY_CREATE = /^CREATE TABLE (`(?:[^`]|``)*`) \(/;
const MY_INSERT = /^INSERT INTO (`(?:[^`]|``)*`) (?:\([^)]*\) )?VALUES/;

/** Rows per table of a mysqldump (every table from its CREATE TABLE; rows from its INSERTs). */
export async function myDumpCounts(source: AsyncIterable<Buffer>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let insert: { table: string; counter: TupleCounter } | undefined;
  const feed = (text: string) => {
    if (!insert!.counter.feed(`${text}\n`)) return;
    counts.set(insert!.table, (counts.get(insert!.table) ?? 0) + insert!.counter.tuples);
    insert = undefined;
  };
  for await (const line of lines(source)) {
    if (insert) {
      feed(line);
      continue;
    }
    const create = MY_CREATE.exec(line);
    if (create) {
      const t = unquoteMy(create[1]);
      counts.set(t, counts.get(t) ?? 0);
      continue;
    }
    const m = MY_INSERT.exec(line);
    if (m) {
      insert = { table: unquoteMy(m[1]), counter: new TupleCounter() };
      feed(line.slice(m[0].length));
    }
  }
  return counts;
}

/** Every archived datasource with its tables' row counts (no content hash: see docs/restore.md). */
export async function archiveTables(
  archive: ArchiveSource,
  manifest: ManifestEntry[],
): Promise<DatasourceState[]> {
  const out: DatasourceState[] = [];
  for (const entry of manifest) {
    const meta = metaOf(entry, 'databases');
    if (meta?.component !== 'databases') continue;
    const stream = entryStream(archive, entry);
    const counts =
      meta.dbms === 'postgresql' ? await pgDumpCounts(stream) : await myDumpCounts(stream);
    const tables = new Map<string, TableState>();
    for (const [name, rows] of counts) tables.set(name, { rows });
    out.push({
      key: datasourceKey(meta.owner, meta.qualifier),
      ...(meta.owner.tenant ? { tenant: meta.owner.tenant } : {}),
      dbms: meta.dbms,
      schema: meta.schema,
      tables,
    });
  }
  return out;
}
