import type { LoadedArchive } from '../contract/component.js';
import type { StreamProgress } from '../report/progress.js';

/** Components whose entries a restore streams out of the archive (resources are in memory). */
const STREAMED = new Set(['databases', 'files', 'keycloak']);

const labelOf = (path: string, purpose: string) =>
  `${purpose === 'check' ? 'check ' : ''}${path.replace(/^data\//, '')}`;

/**
 * Shows a restore's reads of the archive as streams of known size (the manifest has every
 * entry's): a files tree is read to extract it, and once before to check every header
 * ("check ...") unless the verifying pass did. Returns the function that detaches it.
 */
export function trackRestoreProgress(archive: LoadedArchive, progress: StreamProgress): () => void {
  const read = new Map<string, number>();
  for (const e of archive.manifest.entries) {
    const component = e.meta?.component;
    if (!component || !STREAMED.has(component)) continue;
    // A tree checked by the verifying pass is not read again for its check.
    if (component === 'files' && !archive.headerChecks?.has(e.path)) {
      progress.expect(labelOf(e.path, 'check'), e.size);
    }
    progress.expect(labelOf(e.path, 'read'), e.size);
  }
  archive.onBytes = (entry, n, purpose) => {
    const label = labelOf(entry.path, purpose);
    const total = (read.get(label) ?? 0) + n;
    read.set(label, total);
    progress.add(label, n);
    if (total >= entry.size) progress.finish(label);
  };
  return () => {
    archive.onBytes = undefined;
    progress.stop();
  };
}

/** Bytes of the entries the restore streamed into the target (a tree's check pass left out). */
export function streamedBytes(progress: StreamProgress): number {
  return Object.entries(progress.totals())
    .filter(([name]) => !name.startsWith('check '))
    .reduce((n, [, t]) => n + t.bytes, 0);
}
