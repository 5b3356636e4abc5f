import { ENTANDO_API, EntandoKind } from '../../../entando/kinds.js';
import type { KubeObject } from '../../../kube/object.js';
import { mapNamespace } from '../../../contract/mapping.js';
import type { Transform, TransformResult } from './transform.js';

type Spec = Record<string, unknown>;

/**
 * Namespaces named inside Entando specs follow the app: keycloakToUse.namespace (app, plugin),
 * componentRepositoryNamespaces (app), and both ends of an EntandoAppPluginLink.
 */
export const entandoNamespaceRefsTransform: Transform = {
  name: 'entando-namespace-references',
  appliesTo: (obj) => obj.apiVersion === ENTANDO_API && typeof obj.spec === 'object',
  apply(obj, mapping): TransformResult {
    const copy = structuredClone(obj) as KubeObject & { spec: Spec };
    const changes: string[] = [];
    const remap = (holder: Spec, key: string, where: string) => {
      const value = holder[key];
      if (typeof value !== 'string') return;
      const mapped = mapNamespace(mapping, value)!;
      if (mapped !== value) {
        holder[key] = mapped;
        changes.push(`${where}: ${value} -> ${mapped}`);
      }
    };
    const keycloak = copy.spec.keycloakToUse as Spec | undefined;
    if (keycloak) remap(keycloak, 'namespace', 'spec.keycloakToUse.namespace');
    if (obj.kind === EntandoKind.Link) {
      remap(copy.spec, 'entandoAppNamespace', 'spec.entandoAppNamespace');
      remap(copy.spec, 'entandoPluginNamespace', 'spec.entandoPluginNamespace');
    }
    const repos = copy.spec.componentRepositoryNamespaces;
    if (Array.isArray(repos)) {
      repos.forEach((_, i) =>
        remap(repos as unknown as Spec, String(i), `spec.componentRepositoryNamespaces[${i}]`),
      );
    }
    return { object: changes.length ? copy : obj, changes };
  },
};
