import type { FilesSummary } from '../../contract/manifest.js';
import { formatBytes } from '../../report/progress.js';

/**
 * One line per tenant whose CDS files the archive carries (`inspect`): its CDS, the volume's
 * size, and per tree how many files and bytes; a CDS shared by tenants is named once per tenant.
 */
export function describeCds(files: FilesSummary | undefined): string[] {
  const lines: string[] = [];
  for (const s of files?.cds ?? []) {
    const trees = s.dirs.map(
      (d) => `${d.dir}/ ${d.files} file${d.files === 1 ? '' : 's'}, ${formatBytes(d.fileBytes)}`,
    );
    const missing = s.missing.map((d) => `${d}/ absent`);
    const what = [...trees, ...missing].join('; ') || 'nothing';
    for (const tenant of s.tenants) {
      const others = s.tenants.filter((x) => x !== tenant);
      const shared = others.length > 0 ? `, shared with ${others.join(', ')}` : '';
      lines.push(
        `${tenant}: ${s.namespace}/${s.deployment} (volume ${s.claimName}${s.capacity ? ` ${s.capacity}` : ''}${shared}): ${what}`,
      );
    }
  }
  for (const p of files?.cdsLeftOut ?? []) lines.push(`${p.tenant}: NOT carried: ${p.message}`);
  return lines;
}
