import type { KubeObject } from '../../../kube/object.js';
import type { RestoreMapping } from '../../../contract/mapping.js';
import type { Transform } from './transform.js';

/**
 * With --keycloak skip the target's operator makes new clients in its fresh realm and writes
 * their secrets only when absent: the archive's SSO client secrets (`<clientId>-secret` with a
 * clientSecret) would then not match, so they are left out.
 */
export const ssoSecretTransform: Transform = {
  name: 'sso-secret',
  appliesTo: (obj: KubeObject) =>
    obj.kind === 'Secret' &&
    obj.metadata.name.endsWith('-secret') &&
    !!(obj.data as Record<string, string> | undefined)?.clientSecret,
  apply(obj: KubeObject, mapping: RestoreMapping) {
    if (mapping.keycloak !== 'skip') return { object: obj, changes: [] };
    return {
      object: obj,
      changes: [],
      skip: "SSO client secret left out (--keycloak skip): the target's operator makes new clients and writes their secrets",
    };
  },
};
