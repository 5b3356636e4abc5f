import type { BundlesSummary } from '../contract/manifest.js';
import { pluginLinkName } from '../entando/plugin-names.js';
import { ABSENT, type CompareRow } from './rows.js';

/**
 * A plugin (and its link) that the bundle reinstall made in the target but the archive does
 * not hold: the source's bundle was installed with it recorded, its CR was not there (deleted
 * by hand, or made under another name). The restore made it on purpose, so verify names it as
 * an expected difference instead of a missing object. A secondary tenant's bundles (7.3) count
 * too: their plugins carry the tenant's hash in their names, and links are cut as k8s-service
 * cuts them.
 */
export function markReinstalled(
  rows: CompareRow[],
  bundles: BundlesSummary | undefined,
  app: string,
): CompareRow[] {
  const byName = new Map<string, string>();
  const sets = [
    { who: '', list: bundles?.bundles ?? [] },
    ...(bundles?.tenants ?? [])
      .filter((t) => t.recorded)
      .map((t) => ({ who: ` (tenant ${t.tenant})`, list: t.bundles })),
  ];
  for (const { who, list } of sets) {
    for (const b of list) {
      if (!b.installed) continue;
      for (const p of b.plugins) {
        byName.set(`EntandoPlugin/${p.pluginCode}`, `${b.code}${who}`);
        byName.set(`EntandoAppPluginLink/${pluginLinkName(app, p.pluginCode)}`, `${b.code}${who}`);
      }
    }
  }
  return rows.map((r) => {
    if (r.section !== 'object' || r.verdict !== 'missing' || r.source !== ABSENT) return r;
    const [kind, ref] = r.name.split(' ');
    const bundle = byName.get(`${kind}/${ref?.slice(ref.indexOf('/') + 1)}`);
    if (!bundle) return r;
    return {
      ...r,
      verdict: 'expected',
      why: `made by the reinstall of bundle ${bundle} (restore --bundles reinstall); not an object of the archive`,
    };
  });
}
