import { expect } from 'chai';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedArchive } from '../../src/components/component.js';
import { COMPONENTS } from '../../src/components/index.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Results } from '../../src/report/results.js';
import { adoptPhaseOf, phase, phaseAt, PHASES, type PhaseName } from '../../src/restore/order.js';
import type { PlanStep } from '../../src/contract/plan.js';
import { mappingFor, type PlanRequest } from '../../src/restore/restore.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { FakeKube } from '../helpers/fakes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = join(ROOT, 'docs/restore-order.md');

/** The order before the phases were named: each phase's name and priority, frozen. */
const BEFORE: [PhaseName, number][] = [
  ['namespace', 10],
  ['secrets', 20],
  ['configmaps', 30],
  ['service-accounts', 40],
  // Added after: the CDS volumes, their files, then their servers (tenants' files).
  ['cds-volumes', 42],
  ['cds-files', 43],
  ['cds-servers', 44],
  ['external-services', 50],
  ['external-services-adopt', 51],
  ['app', 60],
  ['app-adopt', 61],
  ['app-databases', 70],
  // Added after: the secondary tenants' schemas, right after the app's.
  ['app-files', 72],
  ['tenants-credentials', 75],
  ['plugins', 80],
  ['plugins-adopt', 81],
  ['plugin-databases', 85],
  ['plugin-files', 86],
  ['tenant-databases', 87],
  ['links', 90],
  ['links-adopt', 91],
  ['keycloak', 95],
  ['bundles', 100],
  ['bundles-adopt', 101],
  ['component-manager', 104],
  ['bundles-reinstall', 105],
  ['reinstalled-plugin-databases', 110],
  ['reinstalled-plugin-files', 111],
  ['app-env', 120],
  ['tenant-bundles-reinstall', 125],
  ['reinstalled-tenant-plugin-databases', 126],
  ['reinstalled-tenant-plugin-files', 127],
  ['left-to-you', 130],
];

/** The table as docs/restore-order.md shows it. */
function orderMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = PHASES.map(
    (p, i) =>
      `| ${i + 1} | ${p.name} | ${[...(p.kinds ?? []), ...(p.owners ?? []).map((k) => `owned by ${k}`)].join(', ')} | ${cell(p.reason)} |`,
  );
  return [
    '# Restore order',
    '',
    'Every phase a restore step is placed in, in order (`src/restore/order.ts`, the only place that',
    'orders them; this file is kept equal to it by `test/unit/order.test.ts`: run the unit tests with',
    "`UPDATE_RESTORE_ORDER=1` to rewrite it). `--dry-run` names each step's phase in brackets.",
    '',
    '| # | phase | objects | reason |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const obj = (
  kind: string,
  name: string,
  owner?: { kind: string; name: string },
  spec?: Record<string, unknown>,
): KubeObject => ({
  apiVersion:
    kind === 'Secret' || kind === 'ConfigMap' || kind === 'ServiceAccount' ? 'v1' : ENTANDO_API,
  kind,
  metadata: {
    name,
    namespace: 'src',
    ...(owner
      ? { ownerReferences: [{ apiVersion: ENTANDO_API, ...owner, uid: `uid-${owner.name}` }] }
      : {}),
  },
  ...(spec ? { spec } : {}),
});

const dataEntry = (
  component: 'databases' | 'files',
  kind: string,
  name: string,
  tenant?: string,
) => ({
  path: `data/${component}/${name}${tenant ? `.${tenant}` : ''}`,
  size: 10,
  sha256: '0'.repeat(64),
  meta: {
    component,
    owner: { kind, name, ...(tenant ? { tenant } : {}) },
    qualifier: tenant ? `${tenant}-db` : 'server',
    ...(tenant ? { host: 'db.src.svc', port: 5432, username: tenant } : {}),
    dbms: 'postgresql',
    schema: name,
    mountPath: '/entando-data',
    dir: 'protected',
    embedded: false,
  },
});

/** A 7.3 tenant, whose Keycloak admin the target's operator generates anew. */
const TENANT = {
  tenantCode: 't1',
  kcInternalAuthUrl: 'http://default-sso-in-namespace-service.src.svc.cluster.local:8080/auth',
  kcAdminUsername: 'entando_keycloak_admin',
  kcAdminPassword: 'pw',
};

/** An archive with an object of every restored kind, owned objects, data, a realm and bundles. */
function archive(): LoadedArchive {
  const app = { kind: 'EntandoApp', name: 'qs' };
  const objects = [
    obj('EntandoApp', 'qs', undefined, { ingressHostName: 'qs.example.com' }),
    obj('Secret', 'qs-db-secret', app),
    obj('ConfigMap', 'entando-operator-config'),
    obj('ServiceAccount', 'entando-plugin'),
    obj('EntandoDatabaseService', 'ext-db'),
    obj('Secret', 'ext-db-secret', { kind: 'EntandoDatabaseService', name: 'ext-db' }),
    obj('EntandoPlugin', 'p1'),
    obj('Secret', 'p1-secret', { kind: 'EntandoPlugin', name: 'p1' }),
    obj('EntandoPlugin', 'p2'),
    obj('EntandoPlugin', 'p3-t1'), // made by tenant t1's bundle (7.3)
    obj('EntandoAppPluginLink', 'qs-p2-link'),
    obj('Secret', 'link-secret', { kind: 'EntandoAppPluginLink', name: 'qs-p2-link' }),
    obj('EntandoDeBundle', 'b1'),
    obj('Secret', 'b1-secret', { kind: 'EntandoDeBundle', name: 'b1' }),
    // A tenant's CDS (made by hand): its volume, server, service and ingress.
    ...(
      [
        ['v1', 'PersistentVolumeClaim', 't1-cds-pvc'],
        ['apps/v1', 'Deployment', 't1-cds-deployment'],
        ['v1', 'Service', 't1-cds-service'],
        ['networking.k8s.io/v1', 'Ingress', 't1-cds-ingress'],
      ] as const
    ).map(([apiVersion, kind, name]) => ({ ...obj(kind, name), apiVersion })),
    {
      ...obj('Secret', 'entando-tenants-secret'),
      data: { ENTANDO_TENANTS: Buffer.from(JSON.stringify([TENANT])).toString('base64') },
    },
  ];
  const entries = [
    dataEntry('databases', 'EntandoKeycloakServer', 'qs-kc'),
    dataEntry('databases', 'EntandoApp', 'qs'),
    dataEntry('databases', 'EntandoApp', 'qs', 't1'),
    dataEntry('databases', 'EntandoPlugin', 'p1'),
    dataEntry('databases', 'EntandoPlugin', 'p2'),
    dataEntry('databases', 'EntandoPlugin', 'p3-t1'),
    dataEntry('files', 'EntandoPlugin', 'p3-t1'),
    dataEntry('files', 'EntandoApp', 'qs'),
    dataEntry('files', 'EntandoPlugin', 'p1'),
    dataEntry('files', 'EntandoPlugin', 'p2'),
    {
      ...dataEntry('files', 'Deployment', 't1-cds-deployment', 't1'),
      meta: {
        ...dataEntry('files', 'Deployment', 't1-cds-deployment', 't1').meta,
        deployment: 't1-cds-deployment',
        claimName: 't1-cds-pvc',
        dir: 'public',
        cds: { namespace: 'src', service: 't1-cds-service', tenants: ['t1'] },
      },
    },
  ];
  const counts = {
    users: 2,
    serviceAccounts: 0,
    federatedUsers: 0,
    clients: 3,
    groups: 0,
    realmRoles: 1,
    clientRoles: 1,
  };
  return {
    manifest: {
      formatVersion: 1,
      tool: { name: 'kubectl-entando', version: 'test' },
      createdAt: '2024-01-01T00:00:00.000Z',
      source: { server: 's', context: 'c', namespace: 'src', app: 'qs' },
      components: {
        resources: {
          counts: {},
          objects: [],
          handAddedEnv: [
            {
              qualifier: 'main',
              deployment: 'qs-deployment',
              container: 'server-container',
              env: [{ name: 'CDS_ENABLED', value: 'true' }],
              envFrom: [],
            },
          ],
          tenancy: {
            primary: { hosts: [], solr: { core: 'entando', coreFrom: 'default' } },
            tenants: [{ code: 't1', hosts: [], solr: { core: 't1', coreFrom: 'tenant' } }],
            solrActive: true,
            redisActive: true,
          },
        },
        keycloak: {
          mode: 'realm',
          realm: 'entando',
          counts,
          realmEntry: 'data/keycloak/entando-realm.json',
          frontEndUrl: 'https://kc.example.com/auth',
          adminEntry: 'data/keycloak/admin-credentials.json',
        },
        bundles: {
          recorded: true,
          bundles: [
            { code: 'b1', installed: true, version: '1.0.0', plugins: [{ pluginCode: 'p1' }] },
          ],
          tenants: [
            {
              tenant: 't1',
              recorded: true,
              bundles: [
                {
                  code: 'b1',
                  installed: true,
                  version: '1.0.0',
                  plugins: [{ pluginCode: 'p3-t1' }],
                },
              ],
            },
          ],
        },
      },
      warnings: [],
      entries,
    },
    objects,
  } as unknown as LoadedArchive;
}

/** Every step the components plan for one set of choices, against an empty target. */
async function plannedSteps(req: Partial<PlanRequest>): Promise<PlanStep[]> {
  const loaded = archive();
  const mapping = mappingFor(loaded, { components: COMPONENTS, targetNamespace: 'dst', ...req });
  const target = new FakeKube().client;
  const steps: PlanStep[] = [];
  const windows = new ScaleWindows();
  for (const c of COMPONENTS) {
    steps.push(
      ...(await c.plan({
        archive: loaded,
        existing: 'fail',
        parallel: 1,
        mapping,
        target,
        results: new Results(),
        windows,
      })),
    );
  }
  return steps;
}

describe('restore order: one table of named phases', () => {
  it('is strictly ordered, with unique names and a reason each', () => {
    const priorities = PHASES.map((p) => p.priority);
    for (let i = 1; i < priorities.length; i++) {
      expect(priorities[i], PHASES[i].name).to.be.greaterThan(priorities[i - 1]);
    }
    expect(new Set(PHASES.map((p) => p.name)).size).to.equal(PHASES.length);
    for (const p of PHASES) expect(p.reason, p.name).to.have.length.greaterThan(10);
  });

  it('keeps the order the numbers gave before the phases were named', () => {
    expect(PHASES.map((p) => [p.name, p.priority])).to.deep.equal(BEFORE);
  });

  it('names phases: an unknown name throws, a priority finds its phase', () => {
    expect(phase('app-files').priority).to.equal(72);
    expect(() => phase('no-such-phase' as PhaseName)).to.throw(/no phase named no-such-phase/);
    expect(phaseAt(phase('keycloak').priority)?.name).to.equal('keycloak');
    expect(phaseAt(73)).to.equal(undefined);
  });

  it('re-owns right after each Entando owner is restored', () => {
    for (const p of PHASES.filter((x) => x.kinds?.some((k) => k.startsWith('Entando')))) {
      for (const kind of p.kinds!) {
        const adopt = adoptPhaseOf(kind)!;
        expect(adopt.name, kind).to.equal(`${p.name}-adopt`);
        expect(PHASES.indexOf(adopt), kind).to.equal(PHASES.indexOf(p) + 1);
      }
    }
  });

  it('places every step the components plan in a known phase, and uses every phase', async () => {
    const choices: Partial<PlanRequest>[] = [
      { bundles: 'reinstall', keycloak: 'realm' },
      { bundles: 'objects-only', keycloak: 'keep', ingressHost: 'qs2.example.com' },
      { bundles: 'skip', keycloak: 'skip' },
    ];
    const used = new Set<string>();
    for (const req of choices) {
      for (const step of await plannedSteps(req)) {
        const at = phaseAt(step.priority);
        expect(at, `${step.component} ${step.phase} at ${step.priority}`).to.not.equal(undefined);
        used.add(at!.name);
        // The step's label is its phase's name, but for data steps, labelled by component.
        const label = at!.name.match(/-(databases|files)$/)?.[1] ?? at!.name;
        expect(step.phase, at!.name).to.equal(label);
      }
    }
    expect([...used].sort()).to.deep.equal(PHASES.map((p) => p.name).sort());
  });

  it('is the only place with restore priorities', () => {
    const src = join(ROOT, 'src');
    const found = sourceFiles(src)
      .filter((f) => relative(ROOT, f) !== join('src', 'restore', 'order.ts'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => `${relative(ROOT, f)}:${i + 1}: ${line.trim()}`)
          .filter((l) => /priority:\s*\d|PRIORITY|priority\s*[+-]\s*\d/.test(l)),
      );
    expect(found).to.deep.equal([]);
  });

  it('is shown whole in docs/restore-order.md', () => {
    const expected = orderMarkdown();
    if (process.env.UPDATE_RESTORE_ORDER) writeFileSync(DOC, expected);
    expect(readFileSync(DOC, 'utf8')).to.equal(expected);
  });
});
