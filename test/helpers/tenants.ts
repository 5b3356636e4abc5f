import type { RealmCounts } from '../../src/contract/manifest.js';
import type { TenantConfig } from '../../src/entando/tenants.js';
import type { KubeObject } from '../../src/kube/object.js';

/** One secondary tenant's ENTANDO_TENANTS object, as read from the tenants Secret. */
export const tenantConfig = (code: string, fields: Record<string, string> = {}): TenantConfig => ({
  code,
  from: 'Secret entando-tenants-secret',
  fields: { tenantCode: code, ...fields },
});

/** A realm export's counts: `users` of which `serviceAccounts`, the rest fixed. */
export const realmCounts = (users: number, serviceAccounts = 0): RealmCounts => ({
  users,
  serviceAccounts,
  federatedUsers: 0,
  clients: 3,
  groups: 1,
  realmRoles: 2,
  clientRoles: 1,
  clientScopes: 0,
  identityProviders: 0,
  keyProviders: 1,
});

/** An app engine Deployment whose server-container has `env`. */
export const appEngineDeployment = (
  namespace: string,
  name: string,
  env: unknown[],
): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { template: { spec: { containers: [{ name: 'server-container', env }] } } },
});
