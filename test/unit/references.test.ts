import { expect } from 'chai';
import type { KubeObject } from '../../src/kube/object.js';
import {
  appReferences,
  dedupeReferences,
  deploymentReferences,
  operatorConfigReferences,
  serviceAccountReferences,
} from '../../src/components/resources/references.js';
import { isOperatorGenerated } from '../../src/components/resources/capture.js';
import { serverDeploymentNames } from '../../src/components/resources/deployments.js';

const names = (refs: { kind: string; name: string; referenced: boolean }[]) =>
  refs.map((r) => `${r.kind}/${r.name}${r.referenced ? '' : '?'}`).sort();

describe('what an app refers to (capture)', () => {
  const app: KubeObject = {
    apiVersion: 'entando.org/v1',
    kind: 'EntandoApp',
    metadata: { name: 'qs', namespace: 'ns' },
    spec: {
      tlsSecretName: 'qs-tls',
      ecrGitSshSecretName: 'git-ssh',
      environmentVariables: [
        { name: 'A', valueFrom: { secretKeyRef: { name: 'registry-creds', key: 'k' } } },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'settings', key: 'k' } } },
        { name: 'C', value: 'plain' },
      ],
    },
    status: {
      serverStatuses: {
        main: { deploymentName: 'qs-deployment' },
        db: {
          deploymentName: 'default-postgresql-dbms-in-namespace-deployment',
          adminSecretName: 'dbms-admin',
        },
        sso: { adminSecretName: 'keycloak-admin-secret' },
      },
    },
  };

  const cases: {
    name: string;
    refs: () => ReturnType<typeof appReferences>;
    expected: string[];
  }[] = [
    {
      name: 'app: conventional secrets probed quietly; spec, env and SSO admin referenced; not the DBMS admin',
      refs: () => appReferences(app),
      expected: [
        'ConfigMap/settings',
        'Secret/git-ssh',
        'Secret/keycloak-admin-secret',
        'Secret/qs-de-secret?',
        'Secret/qs-dedb-secret?',
        'Secret/qs-portdb-secret?',
        'Secret/qs-secret?',
        'Secret/qs-servdb-secret?',
        'Secret/qs-tls',
        'Secret/registry-creds',
      ],
    },
    {
      name: 'operator config: pull secrets (comma list), CA, TLS, tenants',
      refs: () =>
        operatorConfigReferences({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'entando-operator-config' },
          data: {
            'entando.k8s.operator.image.pull.secrets': 'pull-a, pull-b',
            'entando.ca.secret.name': 'ca',
            'entando.tls.secret.name': 'tls',
          },
        }),
      expected: [
        'Secret/ca',
        'Secret/entando-tenants-secret?',
        'Secret/pull-a',
        'Secret/pull-b',
        'Secret/tls',
      ],
    },
    {
      name: 'service account image pull secrets',
      refs: () =>
        serviceAccountReferences({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'entando-plugin' },
          imagePullSecrets: [{ name: 'regcred' }],
        }),
      expected: ['Secret/regcred'],
    },
    {
      name: 'deployment containers: env secretKeyRef and envFrom',
      refs: () =>
        deploymentReferences({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'qs-deployment' },
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    env: [
                      {
                        name: 'PORTDB_PASSWORD',
                        valueFrom: { secretKeyRef: { name: 'qs-portdb-secret', key: 'password' } },
                      },
                    ],
                    envFrom: [{ secretRef: { name: 'bulk' } }, { configMapRef: { name: 'cm' } }],
                  },
                ],
              },
            },
          },
        }),
      expected: ['ConfigMap/cm', 'Secret/bulk', 'Secret/qs-portdb-secret'],
    },
  ];
  for (const c of cases) it(c.name, () => expect(names(c.refs())).to.deep.equal(c.expected));

  it('dedupe keeps one per name, referenced if any reference says so', () => {
    const refs = dedupeReferences([
      { kind: 'Secret', name: 'a', why: 'x', referenced: false },
      { kind: 'Secret', name: 'a', why: 'y', referenced: true },
      { kind: 'ConfigMap', name: 'a', why: 'z', referenced: false },
    ]);
    expect(names(refs)).to.deep.equal(['ConfigMap/a?', 'Secret/a']);
  });

  it("the app's own servers, not the DBMS or Keycloak", () => {
    expect(serverDeploymentNames(app)).to.deep.equal(['qs-deployment']);
  });

  it('operator-generated services are recognised by owner or origin', () => {
    const base = { apiVersion: 'entando.org/v1', kind: 'EntandoDatabaseService' };
    expect(
      isOperatorGenerated({
        ...base,
        metadata: {
          name: 'a',
          ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u' }],
        },
      }),
    ).to.equal(true);
    expect(
      isOperatorGenerated({
        ...base,
        metadata: { name: 'b', annotations: { 'entando.org/origin-uuid': 'u' } },
      }),
    ).to.equal(true);
    expect(isOperatorGenerated({ ...base, metadata: { name: 'external-db' } })).to.equal(false);
  });
});
