import type { LoadedArchive } from '../../contract/component.js';
import type { BundlesRestoreMode, RestoreMapping } from '../../contract/mapping.js';
import { bundlePluginNames, tenantPluginNames } from './backup.js';

/**
 * The bundles' fate: as asked (default reinstall); a reinstall of an archive whose bundles were
 * not recorded restores their CRs and plugins as objects (its plan step says so).
 */
export function bundlesModeFor(
  archive: LoadedArchive,
  asked: BundlesRestoreMode | undefined,
): RestoreMapping['bundles'] {
  const summary = archive.manifest.components.bundles;
  const mode = asked ?? 'reinstall';
  if (mode === 'reinstall' && !summary?.recorded) return { mode: 'objects-only', plugins: [] };
  if (mode !== 'reinstall') return { mode, plugins: [] };
  const tenantPlugins = tenantPluginNames(summary);
  return {
    mode,
    plugins: bundlePluginNames(summary),
    ...(tenantPlugins.length ? { tenantPlugins } : {}),
  };
}
