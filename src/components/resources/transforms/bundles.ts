import { ENTANDO_API, EntandoKind } from '../../../entando/kinds.js';
import { spec, type KubeObject } from '../../../kube/object.js';
import type { RestoreMapping } from '../../../contract/mapping.js';
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
    if (obj.kind === EntandoKind.Bundle) return keepAnAnnotation(obj);
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

/**
 * k8s-service 7.3 ignores an EntandoDeBundle whose annotations are null when the CM installs it
 * by name (BUNDLES.md §0.10): a bundle left without any once cleaned (e.g. only kubectl's
 * last-applied one) gets the tenants annotation k8s-service itself writes on a deploy.
 */
function keepAnAnnotation(obj: KubeObject) {
  if (Object.keys(obj.metadata.annotations ?? {}).length > 0) return { object: obj, changes: [] };
  const copy = structuredClone(obj);
  copy.metadata.annotations = { 'entando.org/tenants': 'primary' };
  return {
    object: copy,
    changes: [
      'metadata.annotations: entando.org/tenants=primary added (the CM does not find a bundle without annotations)',
    ],
  };
}
