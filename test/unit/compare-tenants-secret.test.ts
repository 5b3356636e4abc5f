import { expect } from 'chai';
import { tenantsSecretSetForTarget } from '../../src/compare/tenants-secret.js';
import type { KubeObject } from '../../src/kube/object.js';

const secret = (tenants: object[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'entando-tenants-secret', namespace: 'dst' },
  data: { ENTANDO_TENANTS: Buffer.from(JSON.stringify(tenants)).toString('base64') },
});

describe('compare: the tenants Secret the restore set for the target', () => {
  const t1 = { tenantCode: 't1', dbUrl: 'jdbc:x', kcAdminPassword: 'old', dbPassword: 'a' };

  it('is an expected difference naming tenants and fields, never values', () => {
    const why = tenantsSecretSetForTarget(
      secret([t1]),
      secret([{ ...t1, kcAdminPassword: 'new', dbPassword: 'b' }]),
    );
    expect(why).to.equal(
      "ENTANDO_TENANTS: set for the target's Keycloak and DBMS by the restore (t1: kcAdminPassword, dbPassword)",
    );
    expect(why).to.not.match(/old|new\b/);
  });

  it('is a real difference when another field differs, or a tenant is missing', () => {
    expect(tenantsSecretSetForTarget(secret([t1]), secret([{ ...t1, dbUrl: 'jdbc:y' }]))).to.equal(
      undefined,
    );
    expect(tenantsSecretSetForTarget(secret([t1, t1]), secret([t1]))).to.equal(undefined);
  });
});
