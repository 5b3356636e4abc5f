import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { spec, type KubeObject } from '../../kube/object.js';
import type { RestoreMapping } from '../mapping.js';
import type { Transform } from './transform.js';

/**
 * --bundles: with reinstall, the EntandoPlugins and EntandoAppPluginLinks a bundle made are
 * made again by its reinstall through the component manager (NEW -> CREATE), so they are not
 * restored as objects; with skip, no EntandoDeBundle, plugin or link is restored.
 */
export const bundlesTransform: Transform = {
  name: 'bundles',
  appliesTo: (obj: KubeObject) =>
    obj.apiVersion === ENTANDO_API &&
    (obj.kind === EntandoKind.Plugin ||
      obj.kind === EntandoKind.Link ||
      obj.kind === EntandoKind.Bundle),
  apply(obj: KubeObject, mapping: RestoreMapping) {
    const b = mapping.bundles;
    if (b?.mode === 'skip') {
      return {
        object: obj,
        changes: [],
        skip: 'bundles and plugins not restored (--bundles skip)',
      };
    }
    if (b?.mode !== 'reinstall') return { object: obj, changes: [] };
    const plugin =
      obj.kind === EntandoKind.Plugin
        ? obj.metadata.name
        : obj.kind === EntandoKind.Link
          ? (spec(obj).entandoPluginName as string | undefined)
          : undefined;
    if (plugin && b.plugins.includes(plugin)) {
      return {
        object: obj,
        changes: [],
        skip: `made again by the reinstall of its bundle through the component manager (--bundles reinstall)`,
      };
    }
    return { object: obj, changes: [] };
  },
};
