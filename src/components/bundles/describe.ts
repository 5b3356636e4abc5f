import type { BundlesSummary } from './backup.js';

/** Lines about the archive's bundles, for backup and inspect: a count, then one per bundle. */
export function describeBundles(b: BundlesSummary): string[] {
  if (!b.recorded) return [`not recorded (${b.reason ?? 'unknown reason'})`];
  const installed = b.bundles.filter((x) => x.installed).length;
  return [
    `${b.bundles.length} known to the component manager, ${installed} installed${b.postInit ? ` (post-init ${b.postInit})` : ''}`,
    ...b.bundles.map((x) => {
      const plugins = x.plugins.map((p) => p.pluginCode).join(' ');
      return `${x.code}${x.namespace ? ` (${x.namespace})` : ''}: ${x.installed ? `installed ${x.version ?? '?'}` : 'not installed'}, last job ${x.lastJobStatus ?? 'none'}${plugins ? `, plugins ${plugins}` : ''}${x.repoUrl ? `, ${x.repoUrl}` : ''}`;
    }),
  ];
}
