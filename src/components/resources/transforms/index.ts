import type { KubeObject } from '../../../kube/object.js';
import { cleanObject } from '../clean.js';
import type { RestoreMapping } from '../../../contract/mapping.js';
import { entandoNamespaceRefsTransform } from './entando-refs.js';
import { hostTransform } from './host.js';
import { ingressHostsTransform } from './ingress-hosts.js';
import { namespaceTransform } from './namespace.js';
import { secretTransform } from './secret.js';
import { serviceAccountTransform } from './service-account.js';
import { ssoSecretTransform } from './sso-secret.js';
import { keycloakKeepTransform } from './keycloak-keep.js';
import { bundlesTransform } from './bundles.js';
import { tenantsSecretTransform } from './tenants-secret.js';
import type { Transform, TransformResult } from './transform.js';

/** Every transform, in the order they run on an object (after cleaning). */
export const TRANSFORMS: readonly Transform[] = [
  bundlesTransform,
  ssoSecretTransform,
  secretTransform,
  serviceAccountTransform,
  namespaceTransform,
  entandoNamespaceRefsTransform,
  hostTransform,
  ingressHostsTransform,
  keycloakKeepTransform,
  tenantsSecretTransform,
];

/** Cleans an archived object and runs the transforms that apply to it. */
export function prepareObject(
  archived: KubeObject,
  mapping: RestoreMapping,
  transforms: readonly Transform[] = TRANSFORMS,
): TransformResult {
  let result: TransformResult = { object: cleanObject(archived), changes: [] };
  for (const t of transforms) {
    if (!t.appliesTo(result.object)) continue;
    const next = t.apply(result.object, mapping);
    result = { object: next.object, changes: [...result.changes, ...next.changes] };
    if (next.skip) return { ...result, skip: next.skip };
  }
  return result;
}
