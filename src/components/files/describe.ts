import type { CdsFilesSummary } from '../../contract/manifest.js';
import { formatBytes } from '../../report/progress.js';

/**
 * What a CDS volume holds, as one tenant's (inspect's tenant block): its CDS, the volume's size,
 * and per tree how many files and bytes; a CDS shared by tenants names the others.
 */
export function describeCdsOf(s: CdsFilesSummary, tenant: string): string {
  const trees = s.dirs.map(
    (d) => `${d.dir}/ ${d.files} file${d.files === 1 ? '' : 's'}, ${formatBytes(d.fileBytes)}`,
  );
  const missing = s.missing.map((d) => `${d}/ absent`);
  const what = [...trees, ...missing].join('; ') || 'nothing';
  const others = s.tenants.filter((x) => x !== tenant);
  const shared = others.length > 0 ? `, shared with ${others.join(', ')}` : '';
  return `${s.namespace}/${s.deployment} (volume ${s.claimName}${s.capacity ? ` ${s.capacity}` : ''}${shared}): ${what}`;
}
