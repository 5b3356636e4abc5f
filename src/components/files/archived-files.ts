import { ArchiveError } from '../../archive/errors.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { metaOf } from '../../contract/manifest.js';
import type { FilesEntryMeta } from './backup.js';

/** The files entries of an archive, as a restore groups, checks and extracts them. */

export interface ArchivedFiles {
  entry: ManifestEntry;
  meta: FilesEntryMeta;
  /** Set by the check: the tar holds sparse files (GNU tar needed to extract them). */
  sparse?: boolean;
  /** Set by the check: how many entries the tar holds (the extracted tree must hold as many). */
  entries?: number;
}

export function archivedFiles(entries: ManifestEntry[]): ArchivedFiles[] {
  return entries
    .map((entry) => ({ entry, meta: metaOf(entry, 'files') }))
    .filter((a): a is ArchivedFiles => a.meta !== undefined);
}

/**
 * The entries of each directory: one tar, or the streams of a tree read as several
 * (`backup --file-streams`), ordered 2..N then 1 (the order they are extracted in). Refuses a
 * split tree whose streams are not exactly 1..N.
 */
export function filesTrees(group: ArchivedFiles[]): ArchivedFiles[][] {
  const trees = new Map<string, ArchivedFiles[]>();
  for (const a of group) {
    const key = `${a.meta.qualifier}\0${a.meta.mountPath}\0${a.meta.dir}`;
    trees.set(key, [...(trees.get(key) ?? []), a]);
  }
  return [...trees.values()].map((tree) => {
    const count = tree[0].meta.streams ?? 1;
    const numbers = tree.map((a) => a.meta.stream ?? 1).sort((x, y) => x - y);
    const complete =
      tree.every((a) => (a.meta.streams ?? 1) === count) &&
      numbers.length === count &&
      numbers.every((n, i) => n === i + 1);
    if (!complete) {
      const m = tree[0].meta;
      throw new ArchiveError(
        'tampered',
        `${m.mountPath}/${m.dir} of ${m.owner.name} ${m.qualifier}: the archive holds streams ${numbers.join(', ')} of ${count}; nothing was extracted`,
      );
    }
    const order = (a: ArchivedFiles) => ((a.meta.stream ?? 1) === 1 ? Infinity : a.meta.stream!);
    return [...tree].sort((x, y) => order(x) - order(y));
  });
}
