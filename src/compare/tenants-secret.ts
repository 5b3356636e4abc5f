import type { KubeObject } from '../kube/object.js';
import { isTenantsSecret, tenantsOf } from '../components/resources/transforms/tenants-secret.js';

/**
 * Fields of a tenant the restore's tenants-credentials step sets from the servers the target's
 * operator made anew (components/resources/tenants-rewrite.ts setServerCredentials): the
 * Keycloak admin, the in-namespace DBMS admin's password, and kcAuthUrl on the app's Keycloak.
 */
const SET_FOR_THE_TARGET = [
  'kcAdminUsername',
  'kcAdminPassword',
  'dbPassword',
  'deDbPassword',
  'kcAuthUrl',
];

/**
 * Why the restored `entando-tenants-secret` may differ from the archived one (transformed):
 * undefined unless both hold tenants that differ only in fields the restore sets. Names tenants
 * and fields, never a value.
 */
export function tenantsSecretSetForTarget(a: KubeObject, b: KubeObject): string | undefined {
  if (!isTenantsSecret(a) || !isTenantsSecret(b)) return undefined;
  const before = tenantsOf(a);
  const after = tenantsOf(b);
  if (!before || !after || before.length !== after.length) return undefined;
  const set: string[] = [];
  for (const [i, t] of before.entries()) {
    const u = after[i];
    const keys = [...new Set([...Object.keys(t), ...Object.keys(u)])];
    const differing = keys.filter((k) => JSON.stringify(t[k]) !== JSON.stringify(u[k]));
    if (differing.some((k) => !SET_FOR_THE_TARGET.includes(k))) return undefined;
    if (differing.length > 0) set.push(`${String(t.tenantCode)}: ${differing.join(', ')}`);
  }
  return set.length > 0
    ? `ENTANDO_TENANTS: set for the target's Keycloak and DBMS by the restore (${set.join('; ')})`
    : undefined;
}
