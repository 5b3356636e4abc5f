/**
 * Splitting one files tree into several tar streams read at once (`backup --file-streams N`).
 *
 * The pod lists the tree (GNU find, NUL-separated, with sizes); the files are then dealt to N
 * streams by size, largest first to the least loaded one (within a few percent of even for
 * real trees). Stream 1 also carries the tree's root, every directory and every symlink, each
 * archived without recursion: streams 2..N hold regular files only. That is what makes the
 * streams safe to extract into one staging directory: restore extracts streams 2..N first
 * (they hold no link to be written through), then stream 1, whose directories' modes and
 * times are then the last word (a file extracted into a directory changes its mtime).
 */

/** Streams per large tree unless --file-streams says otherwise. */
export const DEFAULT_FILE_STREAMS = 1;

/** A stream is worth its exec only above this many bytes (below, fewer streams are used). */
export const MIN_STREAM_BYTES = 32 * 1024 * 1024;

/** Bytes a tar header costs an entry (balancing trees of many small files by count too). */
const HEADER_BYTES = 512;

export interface TreeItem {
  type: 'd' | 'l' | 'f';
  size: number;
  /** The path as the pod printed it (bytes: names need not be UTF-8). */
  path: Buffer;
}

/** Parses LIST_TREE_SCRIPT's output; throws on a malformed record. */
export function parseTreeList(out: Buffer): TreeItem[] {
  const items: TreeItem[] = [];
  let start = 0;
  while (start < out.length) {
    const end = out.indexOf(0, start);
    if (end < 0) throw new Error('the tree listing ends in the middle of a record');
    const type = String.fromCharCode(out[start]);
    const space = out.indexOf(0x20, start + 2);
    if ((type !== 'd' && type !== 'l' && type !== 'f') || out[start + 1] !== 0x20) {
      throw new Error(`bad record in the tree listing at byte ${start}`);
    }
    if (space < 0 || space > end)
      throw new Error(`bad record in the tree listing at byte ${start}`);
    const size = Number(out.toString('latin1', start + 2, space));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new Error(`bad size in the tree listing at byte ${start}`);
    }
    items.push({ type, size, path: out.subarray(space + 1, end) });
    start = end + 1;
  }
  return items;
}

/** One stream's share of a tree: the names to give tar, in listing order, and their bytes. */
export interface StreamShare {
  names: Buffer[];
  bytes: number;
}

/**
 * Deals a tree to at most `wanted` streams (fewer for a small tree: one per MIN_STREAM_BYTES,
 * at least one, never more than there are files). Stream 1 (index 0) gets the directories and
 * symlinks; files go largest first to the least loaded stream; each stream keeps the listing's
 * order (a directory's files read together).
 */
export function splitTree(items: TreeItem[], wanted: number): StreamShare[] {
  const cost = (i: TreeItem) => HEADER_BYTES + (i.type === 'f' ? Math.ceil(i.size / 512) * 512 : 0);
  const files = items.map((item, order) => ({ item, order })).filter((x) => x.item.type === 'f');
  const total = items.reduce((n, i) => n + cost(i), 0);
  const count = Math.max(
    1,
    Math.min(wanted, files.length, Math.floor(total / MIN_STREAM_BYTES) || 1),
  );
  const owner = new Array<number>(items.length).fill(0);
  const load = new Array<number>(count).fill(0);
  for (let i = 0; i < items.length; i++) if (items[i].type !== 'f') load[0] += cost(items[i]);
  for (const f of [...files].sort((a, b) => b.item.size - a.item.size)) {
    let least = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[least]) least = s;
    owner[f.order] = least;
    load[least] += cost(f.item);
  }
  const shares: StreamShare[] = Array.from({ length: count }, () => ({ names: [], bytes: 0 }));
  items.forEach((item, i) => {
    shares[owner[i]].names.push(item.path);
    shares[owner[i]].bytes += item.type === 'f' ? item.size : 0;
  });
  return shares;
}

/** A share's names as tar's `--null -T -` reads them, in chunks of about `chunk` bytes. */
export function* nulSeparated(names: Buffer[], chunk = 256 * 1024): Generator<Buffer> {
  let batch: Buffer[] = [];
  let size = 0;
  const zero = Buffer.from([0]);
  for (const name of names) {
    batch.push(name, zero);
    size += name.length + 1;
    if (size >= chunk) {
      yield Buffer.concat(batch, size);
      batch = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(batch, size);
}
