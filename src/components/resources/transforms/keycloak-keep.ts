import { ENTANDO_API, EntandoKind } from '../../../entando/kinds.js';
import type { KubeObject } from '../../../kube/object.js';
import type { RestoreMapping } from '../../../contract/mapping.js';
import type { Transform } from './transform.js';

/**
 * --keycloak keep for an app that used the Keycloak of its own namespace: the restored app and
 * plugins name the source's Keycloak, declared in the target as an external
 * EntandoKeycloakServer (made by the keycloak component's plan), instead of getting a new one.
 */
export const keycloakKeepTransform: Transform = {
  name: 'keycloak-keep',
  appliesTo: (obj: KubeObject) =>
    obj.apiVersion === ENTANDO_API &&
    (obj.kind === EntandoKind.App || obj.kind === EntandoKind.Plugin),
  apply(obj: KubeObject, mapping: RestoreMapping) {
    const original = mapping.originalKeycloak;
    if (mapping.keycloak !== 'keep' || !original) return { object: obj, changes: [] };
    const copy = structuredClone(obj);
    const spec = (copy.spec ?? {}) as Record<string, unknown>;
    spec.keycloakToUse = {
      ...((spec.keycloakToUse as Record<string, unknown> | undefined) ?? {}),
      name: original.name,
      namespace: mapping.targetNamespace,
      realm: original.realm,
    };
    copy.spec = spec;
    return {
      object: copy,
      changes: [
        `spec.keycloakToUse: the source's Keycloak (${original.frontEndUrl}) as ${original.name}`,
      ],
    };
  },
};
