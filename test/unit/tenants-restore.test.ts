import { expect } from 'chai';
import type { LoadedArchive, PlanContext } from '../../src/components/component.js';
import { COMPONENTS } from '../../src/components/index.js';
import { resourcesComponent } from '../../src/components/resources/index.js';
import type { RestoreMapping } from '../../src/contract/mapping.js';
import type { PlanStep, StepContext } from '../../src/contract/plan.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Results } from '../../src/report/results.js';
import { phase } from '../../src/restore/order.js';
import { mappingFor } from '../../src/restore/restore.js';
import { FakeKube } from '../helpers/fakes.js';

const PG = 'default-postgresql-dbms-in-namespace-service';
const KC = 'default-sso-in-namespace-service';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const TENANTS = [
  {
    tenantCode: 't1',
    fqdns: 't1.qs.example.com',
    kcAuthUrl: 'https://qs.example.com/auth',
    kcInternalAuthUrl: `http://${KC}.src.svc.cluster.local:8080/auth`,
    kcAdminUsername: 'entando_keycloak_admin',
    kcAdminPassword: 'source-kc-admin',
    dbUrl: `jdbc:postgresql://${PG}.src.svc.cluster.local:5432/db?currentSchema=t1`,
    dbUsername: 'postgres',
    dbPassword: 'source-pg-admin',
  },
  { tenantCode: 't2', fqdns: 't2.qs.example.com' },
];

const tenantsSecret = (ns: string, tenants: unknown): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'entando-tenants-secret', namespace: ns },
  data: { ENTANDO_TENANTS: b64(JSON.stringify(tenants)) },
});

function archive(): LoadedArchive {
  return {
    manifest: {
      formatVersion: 1,
      tool: { name: 'kubectl-entando', version: 'test' },
      createdAt: '2026-01-01T00:00:00.000Z',
      source: { server: 's', context: 'c', namespace: 'src', app: 'qs' },
      components: {
        resources: { counts: {}, objects: [] },
        keycloak: { mode: 'realm', realm: 'entando' },
      },
      warnings: [],
      entries: [],
    },
    objects: [
      {
        apiVersion: ENTANDO_API,
        kind: 'EntandoApp',
        metadata: { name: 'qs', namespace: 'src' },
        spec: { dbms: 'postgresql', ingressHostName: 'qs.example.com' },
      },
      tenantsSecret('src', TENANTS),
    ],
  } as unknown as LoadedArchive;
}

function context(target: FakeKube, mapping: RestoreMapping): PlanContext {
  return {
    parallel: 1,
    archive: archive(),
    existing: 'fail',
    mapping,
    target: target.client,
    results: new Results(),
    windows: new ScaleWindows(),
    waitTimeoutMs: 2_000,
  };
}

const mappingOf = (tenantHosts?: Record<string, string[]>) =>
  mappingFor(archive(), {
    components: COMPONENTS,
    targetNamespace: 'dst',
    ingressHost: 'qs2.example.com',
    keycloak: 'realm',
    tenantHosts,
  });

const stepContext = (kube: FakeKube, progress: string[] = []): StepContext => ({
  target: kube.client,
  results: new Results(),
  signal: new AbortController().signal,
  progress: (m) => progress.push(m),
});

const tenantsIn = (kube: FakeKube) =>
  JSON.parse(
    Buffer.from(
      (kube.find('Secret', 'dst', 'entando-tenants-secret')!.data as Record<string, string>)
        .ENTANDO_TENANTS,
      'base64',
    ).toString('utf8'),
  ) as Record<string, string>[];

const secretSteps = (steps: PlanStep[]) =>
  steps.filter((s) => s.object?.kind === 'Secret' && s.object.name === 'entando-tenants-secret');

describe('restore plan: entando-tenants-secret', () => {
  it('is restored rewritten in the secrets phase, before the app, and the plan shows the changes', async () => {
    const target = new FakeKube();
    const ctx = context(target, mappingOf({ t2: ['t2.new.example.com'] }));
    const [restore, credentials] = secretSteps(await resourcesComponent.plan(ctx));
    expect(restore.phase).to.equal('secrets');
    expect(restore.priority).to.be.lessThan(phase('app').priority);
    expect(restore.changes).to.include.members([
      'metadata.namespace: src -> dst',
      `ENTANDO_TENANTS: t1: dbUrl host ${PG}.src.svc.cluster.local -> ${PG}.dst.svc.cluster.local`,
      `ENTANDO_TENANTS: t1: kcInternalAuthUrl host ${KC}.src.svc.cluster.local -> ${KC}.dst.svc.cluster.local`,
      'ENTANDO_TENANTS: t1: fqdns t1.qs.example.com -> t1.qs2.example.com',
      'ENTANDO_TENANTS: t2: fqdns t2.qs.example.com -> t2.new.example.com (--tenant-host)',
    ]);
    await restore.run!(stepContext(target));
    const restored = tenantsIn(target);
    expect(restored[0].dbUrl).to.equal(
      `jdbc:postgresql://${PG}.dst.svc.cluster.local:5432/db?currentSchema=t1`,
    );
    expect(restored[0].kcAuthUrl).to.equal('https://qs2.example.com/auth');
    expect(restored[1].fqdns).to.equal('t2.new.example.com');
    // Credentials are not the transform's: the archived ones until the operator made its own.
    expect(restored[0].kcAdminPassword).to.equal('source-kc-admin');

    expect(credentials.phase).to.equal('tenants-credentials');
    expect(credentials.priority).to.be.greaterThan(phase('app').priority);
    expect(credentials.priority).to.be.lessThan(phase('plugins').priority);
    expect(credentials.changes).to.deep.equal([
      "t1: kcAdminUsername, kcAdminPassword: set to the target Keycloak admin's",
      "t1: dbPassword: set to the target DBMS admin's (dbUsername postgres)",
    ]);
  });

  it('sets the admins the target’s operator generated, once the app is processed, and restarts a reader', async () => {
    const target = new FakeKube();
    const ctx = context(target, mappingOf());
    const [restore, credentials] = secretSteps(await resourcesComponent.plan(ctx));
    await restore.run!(stepContext(target));
    // What the target's operator made meanwhile.
    const made: KubeObject[] = [
      {
        apiVersion: ENTANDO_API,
        kind: 'EntandoApp',
        metadata: { name: 'qs', namespace: 'dst', generation: 1 },
        spec: { dbms: 'postgresql' },
        status: { phase: 'successful', observedGeneration: 1 },
      },
      {
        apiVersion: ENTANDO_API,
        kind: 'EntandoKeycloakServer',
        metadata: { name: 'default-sso-in-namespace', namespace: 'dst' },
        spec: {},
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'default-sso-in-namespace-admin-secret', namespace: 'dst' },
        data: { username: b64('kc-admin'), password: b64('target-kc-admin') },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'default-postgresql-dbms-in-namespace-admin-secret', namespace: 'dst' },
        data: { username: b64('postgres'), password: b64('target-pg-admin') },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'qs-deployment', namespace: 'dst' },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'server-container',
                  env: [
                    {
                      name: 'ENTANDO_TENANTS',
                      valueFrom: {
                        secretKeyRef: { name: 'entando-tenants-secret', key: 'ENTANDO_TENANTS' },
                      },
                    },
                  ],
                },
              ],
            },
          },
        },
      },
    ];
    for (const o of made) await target.create(o);
    target.calls.length = 0;
    const progress: string[] = [];
    await credentials.run!(stepContext(target, progress));
    const t1 = tenantsIn(target)[0];
    expect([t1.kcAdminUsername, t1.kcAdminPassword, t1.dbPassword]).to.deep.equal([
      'kc-admin',
      'target-kc-admin',
      'target-pg-admin',
    ]);
    expect(target.calls).to.deep.equal([
      'patch Secret dst/entando-tenants-secret',
      'patch Deployment dst/qs-deployment',
    ]);
    expect(progress.join('\n')).to.not.match(/target-kc-admin|target-pg-admin|source-/);

    // Run again: nothing left to set.
    target.calls.length = 0;
    await credentials.run!(stepContext(target));
    expect(target.calls).to.deep.equal([]);
  });

  it('--keycloak keep: no credentials step for the Keycloak (the source’s stays in use)', async () => {
    const mapping = { ...mappingOf(), keycloak: 'keep' as const };
    const steps = secretSteps(await resourcesComponent.plan(context(new FakeKube(), mapping)));
    const credentials = steps.find((s) => s.phase === 'tenants-credentials')!;
    expect(credentials.changes).to.deep.equal([
      "t1: dbPassword: set to the target DBMS admin's (dbUsername postgres)",
    ]);
  });

  it('--tenant-host with a code the archive does not have is refused, naming its tenants', () => {
    expect(() => mappingOf({ t9: ['t9.example.com'] })).to.throw(
      /--tenant-host t9=t9\.example\.com: the archive has no tenant t9 \(its tenants: t1, t2\)/,
    );
  });

  it('notes a tenant host it cannot move', async () => {
    const a = archive();
    a.objects[1] = tenantsSecret('src', [{ tenantCode: 't3', fqdns: 'shop.other.org' }]);
    const ctx = { ...context(new FakeKube(), mappingOf()), archive: a };
    await resourcesComponent.plan(ctx);
    expect(ctx.results.warnings).to.deep.equal([
      {
        where: 'Secret dst/entando-tenants-secret',
        message:
          't3: fqdns host shop.other.org kept: it is neither qs.example.com nor under it; map it with --tenant-host t3=HOST',
      },
    ]);
  });
});
