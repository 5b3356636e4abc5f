import type { BundlesSummary } from '../contract/manifest.js';
import { ABSENT, type CompareRow } from './rows.js';

/**
 * A plugin (and its link) that the bundle reinstall made in the target but the archive does
 * not hold: the source's bundle was installed with it recorded, its CR was not there (deleted
 * by hand, or made under another name). The restore made it on purpose, so verify names it as
 * an expected difference instead of a missing object.
 */
export function markReinstalled(
  rows: CompareRow[],
  bundles: BundlesSummary | undefined,
  app: string,
): CompareRow[] {
  const byName = new Map<string, string>();
  for (const b of bundles?.bundles ?? []) {
    if (!b.installed) continue;
    for (const p of b.plugins) {
      byName.set(`EntandoPlugin/${p.pluginCode}`, b.code);
      byName.set(`EntandoAppPluginLink/${app}-${p.pluginCode}-link`, b.code);
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
