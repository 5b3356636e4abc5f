import type { BundlesSummary, RecordedBundle } from './backup.js';

const bundleLine = (x: RecordedBundle) => {
  const plugins = x.plugins.map((p) => p.pluginCode).join(' ');
  return `${x.code}${x.namespace ? ` (${x.namespace})` : ''}: ${x.installed ? `installed ${x.version ?? '?'}` : 'not installed'}, last job ${x.lastJobStatus ?? 'none'}${plugins ? `, plugins ${plugins}` : ''}${x.repoUrl ? `, ${x.repoUrl}` : ''}`;
};

/**
 * Lines about the archive's bundles, for backup and inspect: a count, then one per bundle; then
 * each secondary tenant's (7.3), or why there are none.
 */
export function describeBundles(b: BundlesSummary): string[] {
  if (!b.recorded) return [`not recorded (${b.reason ?? 'unknown reason'})`];
  const installed = b.bundles.filter((x) => x.installed).length;
  const lines = [
    `${b.bundles.length} known to the component manager, ${installed} installed${b.postInit ? ` (post-init ${b.postInit})` : ''}`,
    ...b.bundles.map(bundleLine),
  ];
  for (const t of b.tenants ?? []) {
    if (!t.recorded) {
      lines.push(`tenant ${t.tenant}: not recorded (${t.reason ?? 'unknown reason'})`);
      continue;
    }
    const n = t.bundles.filter((x) => x.installed).length;
    lines.push(
      `tenant ${t.tenant}: ${t.bundles.length} known, ${n} installed`,
      ...t.bundles.map((x) => `  ${bundleLine(x)}`),
    );
  }
  if (b.tenantsReason) lines.push(b.tenantsReason);
  return lines;
}
