import { expect } from 'chai';
import { foreignEnvPatch } from '../../sandbox/operator/env-drop.js';
import type { K8sObject } from '../../sandbox/operator/resources.js';

const deployment = (env: { name: string; value?: string }[], envFrom?: unknown[]) =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app-deployment', namespace: 'ns' },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'sidecar', env: [{ name: 'X', value: '1' }] },
            { name: 'server-container', env, ...(envFrom ? { envFrom } : {}) },
          ],
        },
      },
    },
  }) as unknown as K8sObject;

describe('operator stand-in: hand-added env dropped on reconcile', () => {
  const generated = deployment([{ name: 'KEYCLOAK_REALM', value: 'entando' }]);

  it('replaces the env of a container that has entries the operator did not build', () => {
    const live = deployment([
      { name: 'KEYCLOAK_REALM', value: 'entando' },
      { name: 'ENTANDO_TENANTS', value: '[]' },
    ]);
    expect(foreignEnvPatch(generated, live)).to.deep.equal([
      {
        op: 'replace',
        path: '/spec/template/spec/containers/1/env',
        value: [{ name: 'KEYCLOAK_REALM', value: 'entando' }],
      },
    ]);
  });

  it('removes an envFrom the operator never writes', () => {
    const live = deployment([{ name: 'KEYCLOAK_REALM', value: 'entando' }], [{ secretRef: {} }]);
    expect(foreignEnvPatch(generated, live)).to.deep.equal([
      { op: 'remove', path: '/spec/template/spec/containers/1/envFrom' },
    ]);
  });

  it('leaves a container it did not build, and an env it built, alone', () => {
    expect(foreignEnvPatch(generated, deployment([{ name: 'KEYCLOAK_REALM' }]))).to.deep.equal([]);
  });
});
