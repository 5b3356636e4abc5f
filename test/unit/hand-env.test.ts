import { expect } from 'chai';
import type {
  BackupContext,
  ExistingPolicy,
  LoadedArchive,
  PlanContext,
} from '../../src/components/component.js';
import { resourcesComponent } from '../../src/components/resources/index.js';
import { captureAppObjects } from '../../src/components/resources/capture.js';
import { recordHandAddedEnv } from '../../src/components/resources/hand-env.js';
import {
  mergeEnv,
  planHandEnvSteps,
  rewriteValue,
} from '../../src/components/resources/hand-env-restore.js';
import type { HandAddedEnv, ResourcesSummary } from '../../src/contract/manifest.js';
import type { RestoreMapping } from '../../src/contract/mapping.js';
import type { PlanStep, StepContext } from '../../src/contract/plan.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { APP_SERVERS, handAddedEnv } from '../../src/entando/generated-env.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Results } from '../../src/report/results.js';
import { phase, PHASES } from '../../src/restore/order.js';
import { FakeKube } from '../helpers/fakes.js';

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

/** What the operator writes into the app engine (7.3.0, PostgreSQL, Tomcat). */
const OPERATOR_MAIN = [
  { name: 'KEYCLOAK_ENABLED', value: 'true' },
  { name: 'KEYCLOAK_REALM', value: 'entando' },
  { name: 'KEYCLOAK_AUTH_URL', value: 'https://qs.example.com/auth' },
  { name: 'KEYCLOAK_CLIENT_SECRET', valueFrom: secretRef('qs-secret', 'clientSecret') },
  { name: 'PORTDB_URL', value: 'jdbc:postgresql://db.src.svc.cluster.local:5432/x' },
  { name: 'PORTDB_USERNAME', valueFrom: secretRef('qs-portdb-secret', 'username') },
  { name: 'SERVDB_EXCEPTION_SORTER', value: 'org.jboss...' },
  { name: 'SERVER_SERVLET_CONTEXT_PATH', value: '/entando-de-app' },
  { name: 'CONNECTION_CONFIG_ROOT', value: '/etc/entando/secrets' },
  { name: 'JGROUPS_CLUSTER_PASSWORD', value: 'x1y2z3' },
  { name: 'KUBERNETES_NAMESPACE', value: 'src' },
  { name: 'ENTANDO_WEB_CONTEXT', value: '/entando-de-app' },
  { name: 'ENTANDO_APP_USE_TLS', value: 'true' },
];

/** Added by hand, as Entando's multitenancy, CDS, Solr and Redis tutorials do. */
const HAND_MAIN = [
  { name: 'ENTANDO_TENANTS', valueFrom: secretRef('entando-tenants-secret', 'ENTANDO_TENANTS') },
  { name: 'CDS_ENABLED', value: 'true' },
  { name: 'CDS_PUBLIC_URL', value: 'https://qs.example.com/cds' },
  { name: 'CDS_PRIVATE_URL', value: 'http://qs-cds-service.src.svc.cluster.local:8080' },
  { name: 'SOLR_ADDRESS', valueFrom: { configMapKeyRef: { name: 'solr-config', key: 'address' } } },
];
const HAND_MAIN_FROM = [{ secretRef: { name: 'redis-env' } }];

const OPERATOR_CM = [
  { name: 'SPRING_DATASOURCE_URL', value: 'jdbc:postgresql://db.src.svc.cluster.local:5432/x' },
  { name: 'SPRING_SECURITY_OAUTH2_CLIENT_PROVIDER_OIDC_ISSUER_URI', value: 'https://kc/realms/e' },
  { name: 'ENTANDO_URL', value: 'http://qs-service.src.svc.cluster.local:8080/entando-de-app' },
  { name: 'ENTANDO_K8S_SERVICE_URL', value: 'http://k8s-svc:8084/k8s' },
  // The sandbox operator stand-in's own (sandbox/operator/cm.ts).
  { name: 'SANDBOX_CM_PORT', value: '31000' },
];
const HAND_CM = [
  { name: 'ENTANDO_TENANTS', valueFrom: secretRef('entando-tenants-secret', 'ENTANDO_TENANTS') },
];

function app(ns: string, status = true): KubeObject {
  return {
    apiVersion: ENTANDO_API,
    kind: 'EntandoApp',
    metadata: { name: 'qs', namespace: ns, generation: 1 },
    spec: {
      ingressHostName: 'qs.example.com',
      environmentVariables: [{ name: 'FROM_THE_CR', value: 'x' }],
    },
    ...(status
      ? {
          status: {
            phase: 'successful',
            observedGeneration: 1,
            serverStatuses: {
              main: { deploymentName: 'qs-deployment' },
              cm: { deploymentName: 'qs-cm-deployment' },
            },
          },
        }
      : {}),
  };
}

function deployment(
  ns: string,
  name: string,
  container: string,
  env: unknown[],
  envFrom?: unknown[],
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { EntandoApp: 'qs' }, generation: 1 },
    spec: {
      replicas: 1,
      template: {
        spec: {
          containers: [{ name: container, image: 'x', env, ...(envFrom ? { envFrom } : {}) }],
        },
      },
    },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1 },
  };
}

/** The source: the operator's env plus the hand-added env, and the objects it names. */
function source(): FakeKube {
  const cr = { name: 'FROM_THE_CR', value: 'x' };
  return new FakeKube([
    app('src'),
    deployment(
      'src',
      'qs-deployment',
      'server-container',
      [...OPERATOR_MAIN, cr, ...HAND_MAIN],
      HAND_MAIN_FROM,
    ),
    deployment('src', 'qs-cm-deployment', 'de-container', [...OPERATOR_CM, cr, ...HAND_CM]),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'entando-tenants-secret', namespace: 'src' },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redis-env', namespace: 'src' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'solr-config', namespace: 'src' } },
  ]);
}

const RECORDED: HandAddedEnv[] = [
  {
    qualifier: 'main',
    deployment: 'qs-deployment',
    container: 'server-container',
    env: HAND_MAIN,
    envFrom: HAND_MAIN_FROM,
  },
  {
    qualifier: 'cm',
    deployment: 'qs-cm-deployment',
    container: 'de-container',
    env: HAND_CM,
    envFrom: [],
  },
];

const mapping = (over: Partial<RestoreMapping> = {}): RestoreMapping => ({
  sourceNamespace: 'src',
  targetNamespace: 'dst',
  sourceHost: 'qs.example.com',
  targetHost: 'qs2.example.com',
  ...over,
});

function planContext(
  target: FakeKube,
  over: { mapping?: RestoreMapping; existing?: ExistingPolicy } = {},
): PlanContext {
  const resources: ResourcesSummary = { counts: {}, objects: [], handAddedEnv: RECORDED };
  const archive = {
    manifest: {
      formatVersion: 1,
      tool: { name: 'kubectl-entando', version: 'test' },
      createdAt: '2026-01-01T00:00:00.000Z',
      source: { server: 's', context: 'c', namespace: 'src', app: 'qs' },
      components: { resources },
      warnings: [],
      entries: [],
    },
    objects: [],
  } as unknown as LoadedArchive;
  return {
    parallel: 1,
    archive,
    existing: over.existing ?? 'update',
    mapping: over.mapping ?? mapping(),
    target: target.client,
    results: new Results(),
    windows: new ScaleWindows(),
    waitTimeoutMs: 2_000,
  };
}

/** What the target's operator made: its own env only, in the target namespace. */
function target(): FakeKube {
  const cr = { name: 'FROM_THE_CR', value: 'x' };
  return new FakeKube([
    app('dst'),
    deployment('dst', 'qs-deployment', 'server-container', [
      ...OPERATOR_MAIN,
      cr,
      // Already there with the archived (rewritten) value, and with another one.
      { name: 'CDS_PRIVATE_URL', value: 'http://qs-cds-service.dst.svc.cluster.local:8080' },
      { name: 'CDS_ENABLED', value: 'false' },
    ]),
    deployment('dst', 'qs-cm-deployment', 'de-container', [...OPERATOR_CM, cr]),
  ]);
}

async function runSteps(steps: PlanStep[], kube: FakeKube, results = new Results()) {
  const progress: string[] = [];
  const c: StepContext = {
    target: kube.client,
    results,
    signal: new AbortController().signal,
    progress: (m) => progress.push(m),
  };
  for (const s of steps) await s.run?.(c);
  return { results, progress };
}

const envOf = (kube: FakeKube, name: string) => {
  const d = kube.find('Deployment', 'dst', name)!;
  const c = (d.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
    .spec.containers[0];
  return { env: c.env as { name: string }[], envFrom: c.envFrom };
};

describe('hand-added env: told from the operator-made one', () => {
  it('keeps literal, secretKeyRef, configMapKeyRef and envFrom entries; leaves the operator’s, the CR’s and the stand-in’s', () => {
    const src = [...source().objects.values()];
    const cr = src.find((o) => o.kind === 'EntandoApp')!;
    const main = src.find((o) => o.metadata.name === 'qs-deployment')!;
    const cm = src.find((o) => o.metadata.name === 'qs-cm-deployment')!;
    expect(handAddedEnv(cr, APP_SERVERS[0], main)).to.deep.equal({
      env: HAND_MAIN,
      envFrom: HAND_MAIN_FROM,
    });
    expect(handAddedEnv(cr, APP_SERVERS[1], cm)).to.deep.equal({ env: HAND_CM, envFrom: [] });
  });

  it('a name generated for one server is hand-added in the other', () => {
    const cr = app('src');
    const d = deployment('src', 'qs-cm-deployment', 'de-container', [
      { name: 'KEYCLOAK_REALM', value: 'entando' },
    ]);
    expect(handAddedEnv(cr, APP_SERVERS[1], d).env.map((e) => e.name)).to.deep.equal([
      'KEYCLOAK_REALM',
    ]);
  });

  it('recorded in the manifest by the backup, with the Secrets and ConfigMaps it names captured', async () => {
    const kube = source();
    const manifest = { components: {} as { resources?: ResourcesSummary } };
    const ctx = {
      kube: kube.client,
      app: app('src'),
      results: new Results(),
      archive: { addBuffer: async () => undefined, manifest },
      output: { debug: () => undefined },
    } as unknown as BackupContext;
    await resourcesComponent.backup(ctx);
    expect(manifest.components.resources?.handAddedEnv).to.deep.equal(RECORDED);
    // Stored as written: the tenants are a reference, never the secret's value.
    expect(JSON.stringify(manifest.components.resources)).to.not.contain('tenantCode');
    const captured = (await captureAppObjects(kube.client, app('src'), new Results())).map(
      (c) => `${c.object.kind} ${c.object.metadata.name}`,
    );
    expect(captured).to.include.members([
      'Secret entando-tenants-secret',
      'Secret redis-env',
      'ConfigMap solr-config',
    ]);
  });

  it('nothing recorded for an app with the operator’s env alone', async () => {
    const kube = new FakeKube([
      app('src'),
      deployment('src', 'qs-deployment', 'server-container', OPERATOR_MAIN),
    ]);
    expect(await recordHandAddedEnv(kube.client, app('src'))).to.deep.equal([]);
  });
});

describe('hand-added env: re-applied at restore', () => {
  it('is planned last, in the app-env phase, one update per deployment, with what changes', async () => {
    const steps = await planHandEnvSteps(planContext(target()));
    // Last but for the tenants' bundle reinstall, which needs the CM to have ENTANDO_TENANTS,
    // and the manual steps, which run nothing.
    expect(PHASES.slice(PHASES.indexOf(phase('app-env')) + 1).map((p) => p.name)).to.deep.equal([
      'tenant-bundles-reinstall',
      'reinstalled-tenant-plugin-databases',
      'reinstalled-tenant-plugin-files',
      'left-to-you',
    ]);
    expect(steps.map((s) => [s.phase, s.priority, s.action, s.object!.name])).to.deep.equal([
      ['app-env', phase('app-env').priority, 'update', 'qs-deployment'],
      ['app-env', phase('app-env').priority, 'update', 'qs-cm-deployment'],
    ]);
    expect(steps[0].changes).to.deep.equal([
      'container server-container: ENTANDO_TENANTS (Secret entando-tenants-secret key ENTANDO_TENANTS), CDS_ENABLED, CDS_PUBLIC_URL, CDS_PRIVATE_URL, SOLR_ADDRESS (ConfigMap solr-config key address), envFrom Secret redis-env',
      'env CDS_PUBLIC_URL: host qs.example.com -> qs2.example.com',
      'env CDS_PRIVATE_URL: namespace src -> dst',
    ]);
    expect(steps[0].reason).to.contain('once the operator has processed the app');
  });

  it('merges into the deployments the operator made: adds, sets a different value (named), rewrites namespace and host', async () => {
    const kube = target();
    const ctx = planContext(kube);
    const { results } = await runSteps(await planHandEnvSteps(ctx), kube);
    const main = envOf(kube, 'qs-deployment');
    const byName = Object.fromEntries(main.env.map((e) => [e.name, e]));
    expect(byName.ENTANDO_TENANTS).to.deep.equal(HAND_MAIN[0]);
    expect(byName.CDS_ENABLED).to.deep.equal({ name: 'CDS_ENABLED', value: 'true' });
    expect(byName.CDS_PUBLIC_URL).to.deep.equal({
      name: 'CDS_PUBLIC_URL',
      value: 'https://qs2.example.com/cds',
    });
    expect(byName.CDS_PRIVATE_URL).to.deep.equal({
      name: 'CDS_PRIVATE_URL',
      value: 'http://qs-cds-service.dst.svc.cluster.local:8080',
    });
    expect(byName.SOLR_ADDRESS).to.deep.equal(HAND_MAIN[4]);
    // The operator's own entries are kept, in their place.
    expect(main.env.slice(0, OPERATOR_MAIN.length)).to.deep.equal(OPERATOR_MAIN);
    expect(main.envFrom).to.deep.equal(HAND_MAIN_FROM);
    expect(envOf(kube, 'qs-cm-deployment').env.map((e) => e.name)).to.include('ENTANDO_TENANTS');
    expect(results.warnings).to.deep.equal([
      {
        where: 'Deployment dst/qs-deployment',
        message: 'env CDS_ENABLED had another value in the target: set to the archived one',
      },
    ]);
    expect(kube.calls).to.deep.equal([
      'patch Deployment dst/qs-deployment',
      'patch Deployment dst/qs-cm-deployment',
    ]);
    // Moved to another namespace: the values inside the referenced objects are not rewritten,
    // but for the tenants Secret's (its own rewrite): the CM reads nothing else.
    expect(ctx.results.warnings.map((w) => w.where)).to.deep.equal([
      'Deployment dst/qs-deployment',
    ]);
  });

  it('converges: run again (--existing update) it changes nothing; after the operator dropped the env, it is set again', async () => {
    const kube = target();
    await runSteps(await planHandEnvSteps(planContext(kube)), kube);
    const after = structuredClone(envOf(kube, 'qs-deployment'));
    kube.calls.length = 0;
    const again = await runSteps(await planHandEnvSteps(planContext(kube)), kube);
    expect(kube.calls).to.deep.equal([]);
    expect(again.results.warnings).to.deep.equal([]);
    expect(again.progress).to.include(
      'Deployment dst/qs-deployment: hand-added env already as archived',
    );

    // The operator rewrites the Deployment from the CR: the hand-added env is gone.
    const d = kube.find('Deployment', 'dst', 'qs-deployment')!;
    (
      d.spec as { template: { spec: { containers: Record<string, unknown>[] } } }
    ).template.spec.containers[0] = { name: 'server-container', image: 'x', env: OPERATOR_MAIN };
    await runSteps(await planHandEnvSteps(planContext(kube)), kube);
    const names = envOf(kube, 'qs-deployment').env.map((e) => e.name);
    expect(names).to.deep.equal([
      ...OPERATOR_MAIN.map((e) => e.name),
      ...HAND_MAIN.map((e) => e.name),
    ]);
    expect(envOf(kube, 'qs-deployment').envFrom).to.deep.equal(after.envFrom);
  });

  it('waits for the operator to have processed the app first', async () => {
    const kube = target();
    kube.objects.set('EntandoApp/dst/qs', app('dst', false));
    const steps = await planHandEnvSteps(planContext(kube));
    const c: StepContext = {
      target: kube.client,
      results: new Results(),
      signal: new AbortController().signal,
      progress: () => undefined,
    };
    const ctx = planContext(kube);
    ctx.waitTimeoutMs = 1;
    const [quick] = await planHandEnvSteps(ctx);
    let error = '';
    await quick.run!(c).catch((e: Error) => (error = e.message));
    expect(error).to.match(/EntandoApp dst\/qs not ready/);
    expect(kube.calls).to.deep.equal([]);
    expect(steps).to.have.length(2);
  });

  it('--existing skip leaves an existing app’s deployments alone; an archive without the record plans nothing', async () => {
    const steps = await planHandEnvSteps(planContext(target(), { existing: 'skip' }));
    expect(steps.map((s) => [s.action, s.run])).to.deep.equal([
      ['exists', undefined],
      ['exists', undefined],
    ]);
    const ctx = planContext(target());
    delete ctx.archive.manifest.components.resources!.handAddedEnv;
    expect(await planHandEnvSteps(ctx)).to.deep.equal([]);
  });

  it('same namespace and host: values kept, no warning about referenced objects', async () => {
    const ctx = planContext(target(), {
      mapping: mapping({ targetNamespace: 'src', targetHost: 'qs.example.com' }),
    });
    const steps = await planHandEnvSteps(ctx);
    expect(steps[0].changes).to.have.length(1);
    expect(ctx.results.warnings).to.deep.equal([]);
  });
});

describe('hand-added env: namespace and host rewrite of literal values', () => {
  const m = mapping({ namespaceMap: { repo: 'repo2' } });
  const cases: [string, string][] = [
    ['http://kc.src.svc.cluster.local:8080/auth', 'http://kc.dst.svc.cluster.local:8080/auth'],
    ['redis://redis-headless.src.svc:26379', 'redis://redis-headless.dst.svc:26379'],
    ['http://x.repo.svc.cluster.local', 'http://x.repo2.svc.cluster.local'],
    [
      '[{"kcAuthUrl":"https://qs.example.com/auth"}]',
      '[{"kcAuthUrl":"https://qs2.example.com/auth"}]',
    ],
    // Not the namespace or host: another name that contains them.
    ['http://kc.srcx.svc', 'http://kc.srcx.svc'],
    ['http://kc.src.svcs', 'http://kc.src.svcs'],
    ['src.svc', 'src.svc'],
    ['https://qs.example.com.au/', 'https://qs.example.com.au/'],
    ['https://myqs.example.com/', 'https://myqs.example.com/'],
  ];
  for (const [from, to] of cases) {
    it(`${from} -> ${to}`, () => expect(rewriteValue(from, m).value).to.equal(to));
  }

  it('mergeEnv compares value and reference: a reference replacing a literal drops the literal', () => {
    const ref = { name: 'A', valueFrom: secretRef('s', 'k') };
    const r = mergeEnv({ env: [{ name: 'A', value: 'lit' }] }, { env: [ref], envFrom: [] });
    expect(r.env).to.deep.equal([ref]);
    expect(r.changed).to.deep.equal(['A']);
  });
});
