import type { DecryptionKeys } from '../archive/encryption.js';
import { ArchiveError, type ArchiveProblem } from '../archive/errors.js';
import { readManifest } from '../archive/manifest-tail.js';
import type { ArchiveSource } from '../archive/manifest.js';
import { errorMessage } from '../errors.js';
import { mapLimit } from '../util/limit.js';
import type { ArchiveFolder, StoredArchive } from './location.js';

/** One archive of a folder, as list shows it and prune judges it. */
export interface CatalogRow {
  stored: StoredArchive;
  /** From the manifest; absent when it could not be read (then `problem` says why). */
  source?: ArchiveSource;
  createdAt?: Date;
  encrypted?: boolean;
  /** Why the archive could not be identified as one of ours (it is then never pruned). */
  problem?: string;
  /** The kind of that problem, when it is an archive's (no-key: encrypted, no key given). */
  problemKind?: ArchiveProblem;
}

/**
 * The archives in a folder, each identified by its manifest, read from the archive's tail with
 * ranged reads (never a whole download), a few at once. Anything whose manifest cannot be read
 * (not ours, damaged, encrypted to a key not given) is a row with a problem, not an error.
 */
export async function catalog(
  folder: ArchiveFolder,
  keys: DecryptionKeys,
  parallel = 4,
): Promise<CatalogRow[]> {
  const stored = await folder.list();
  return mapLimit(stored, parallel, async (s): Promise<CatalogRow> => {
    try {
      const { manifest, encrypted } = await readManifest(s.location, keys);
      return {
        stored: s,
        source: manifest.source,
        createdAt: new Date(manifest.createdAt),
        encrypted,
      };
    } catch (err) {
      // Users' own mistakes about the store (credentials, permissions) are not per-archive.
      if (!(err instanceof ArchiveError) && isStoreLevel(err)) throw err;
      const problemKind = err instanceof ArchiveError ? err.problem : undefined;
      return { stored: s, problem: errorMessage(err), ...(problemKind && { problemKind }) };
    }
  });
}

function isStoreLevel(err: unknown): boolean {
  return /credentials|access key|signature|access denied|cannot reach|no AWS region/i.test(
    errorMessage(err),
  );
}

/** The series an archive belongs to for retention: the same app from the same place. */
export function seriesOf(source: ArchiveSource): string {
  return `${source.context}/${source.namespace}/${source.app}`;
}
