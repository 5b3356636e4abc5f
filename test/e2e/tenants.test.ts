import { expect } from 'chai';
import fs from 'node:fs';
import { KeycloakAdmin } from '../../src/components/keycloak/admin.js';
import type { Tenant } from '../../src/components/resources/tenants-rewrite.js';
import { tenantsOf } from '../../src/components/resources/transforms/tenants-secret.js';
import { otpSecret, totp, userName, userPassword } from '../../sandbox/fixture/realm.js';
import { loadFixture, type Fixture } from '../../sandbox/fixture/spec.js';
import { dumpDatasource, fileTree } from '../../sandbox/fixture/statelib.js';
import { kubeConfig, type Target } from '../../sandbox/fixture/kubectl.js';
import {
  cdsName,
  tenantDatasources,
  tenantSeed,
  TENANTS_SECRET,
} from '../../sandbox/fixture/tenants.js';
import { clientCredentialsToken, connect } from '../../sandbox/cm/client.js';
import { bundleCrName } from '../../sandbox/fixture/spec.js';
import { runCli } from '../helpers/cli.js';
import { kubectl, Scenario } from '../helpers/scenario.js';
import {
  appKeycloak,
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  ROOT,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';
import { KEYCLOAK_SUITE_LOCK, takeSuiteLock } from '../helpers/suite-lock.js';
import { CoreV1Api } from '@kubernetes/client-node';

const FIXTURE = 'sandbox/fixtures/tenants.yaml';
const APP = 'mt-app';

/** The ENTANDO_TENANTS array of a namespace's tenants Secret. */
async function tenantsJson(context: string, ns: string): Promise<Tenant[]> {
  const s = await client(context).get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: ns,
    name: TENANTS_SECRET,
  });
  return tenantsOf(s!)!;
}

async function podOf(context: string, ns: string, deployment: string): Promise<string> {
  const out = await kubectl(context, [
    '-n',
    ns,
    'get',
    'pods',
    '-l',
    `app=${deployment}`,
    '--field-selector=status.phase=Running',
    '-o',
    'jsonpath={.items[0].metadata.name}',
  ]);
  if (!out) throw new Error(`no Running pod of ${deployment} in ${context}/${ns}`);
  return out;
}

/** public/ and protected/ of a CDS volume, entry by entry (type, mode, size, content hash). */
async function cdsTree(context: string, ns: string, f: Fixture, code?: string) {
  const deployment = `${cdsName(f, code ? { code } : undefined)}-deployment`;
  const t: Target = { kubeconfig: KUBECONFIG, context, namespace: ns };
  const tree = await fileTree(t, await podOf(context, ns, deployment), 'cds');
  return tree
    .filter((e) => /^(public|protected)(\/|$)/.test(e.path))
    .map(({ mtime: _mtime, ...e }) => e);
}

/**
 * The component manager's tables a bundle reinstall writes (its jobs, the installed bundle's
 * job): `compare` names them as expected differences (last test).
 */
const REINSTALLED = [
  'entando_bundle_jobs',
  'entando_bundle_component_jobs',
  'installed_entando_bundles',
];

/**
 * Row count and content hash of every table of a tenant's schemas; of Liquibase's lock table,
 * which the restore clears so that the app can start, and of the CM's, their presence only.
 */
async function tenantTables(context: string, ns: string, f: Fixture, pgAdmin: string) {
  const t: Target = { kubeconfig: KUBECONFIG, context, namespace: ns };
  const core = kubeConfig(t).makeApiClient(CoreV1Api);
  const out: Record<string, unknown> = {};
  for (const tenant of f.tenants) {
    for (const d of tenantDatasources({ namespace: f.namespace }, tenant, pgAdmin)) {
      const tables = await dumpDatasource(t, core, d.dbms, d.schema);
      out[`${tenant.code} ${d.role}`] = Object.fromEntries(
        Object.entries(tables).map(([name, s]) => [
          name,
          REINSTALLED.includes(name) ? 'rewritten by the reinstall' : s.hashed ? s : 'present',
        ]),
      );
    }
  }
  return out;
}

const envNames = async (context: string, ns: string, deployment: string, container: string) =>
  (
    await kubectl(context, [
      '-n',
      ns,
      'get',
      'deployment',
      deployment,
      '-o',
      `jsonpath={.spec.template.spec.containers[?(@.name=="${container}")].env[*].name}`,
    ])
  ).split(' ');

describe('e2e: tenants (Entando 7.3 multitenancy backed up and restored, nothing lost)', function () {
  this.timeout(30 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-mt-${suffix}`;
  const targetNs = `e2e-mt-r-${suffix}`;
  const smallNs = `e2e-mt-s-${suffix}`;
  const targetHost = `mt-${suffix}.target.sandbox.local`;
  let scenario: Scenario;
  let archive: string;
  let f: Fixture;
  let pgAdmin: string;
  let unlock: (() => void) | undefined;

  const restore = (ns: string, extra: string[] = []) =>
    scenario.restore(archive, TARGET, ns, [
      '--ingress-host',
      targetHost,
      '--progress',
      'none',
      ...extra,
    ]);

  before(async () => {
    await requireSandbox();
    unlock = await takeSuiteLock(KEYCLOAK_SUITE_LOCK, 'e2e tenants', { timeoutMs: 1_500_000 });
    scenario = new Scenario();
    archive = scenario.file('mt.tar.age');
    f = loadFixture(`${ROOT}/${FIXTURE}`, { namespace: sourceNs });
    await applyFixture(FIXTURE, SOURCE, sourceNs, { keycloak: true });
    pgAdmin = Buffer.from(
      (
        (await client(SOURCE).get({
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: sourceNs,
          name: 'default-postgresql-dbms-in-namespace-admin-secret',
        }))!.data as Record<string, string>
      ).username,
      'base64',
    ).toString('utf8');
  });

  after(async () => {
    for (const [context, ns] of [
      [SOURCE, sourceNs],
      [TARGET, targetNs],
      [TARGET, smallNs],
    ] as const) {
      await deleteNamespace(context, ns).catch(() => undefined);
    }
    scenario?.cleanup();
    unlock?.();
  });

  it('refuses a backup when a tenant schema cannot be reached: one line naming it, no archive', async () => {
    const tenants = await tenantsJson(SOURCE, sourceNs);
    const broken = tenants.map((t) =>
      t.tenantCode === 't3'
        ? { ...t, dbUrl: String(t.dbUrl).replace(/\/\/[^:/]+/, '//mariadb-gone.nowhere.svc') }
        : t,
    );
    const patch = (value: Tenant[]) =>
      kubectl(SOURCE, [
        '-n',
        sourceNs,
        'patch',
        'secret',
        TENANTS_SECRET,
        '--type=merge',
        '-p',
        JSON.stringify({
          data: { ENTANDO_TENANTS: Buffer.from(JSON.stringify(value)).toString('base64') },
        }),
      ]);
    await patch(broken);
    const file = scenario.file('broken.tar.age');
    try {
      const r = await scenario.backup(SOURCE, sourceNs, file, ['--progress', 'none']);
      expect(r.code, r.stderr).to.not.equal(0);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errors, r.stderr).to.have.length(1);
      expect(errors[0]).to.match(/tenant t3/);
      expect(errors[0]).to.not.include(String(tenants[2].dbPassword));
      expect(fs.readdirSync(scenario.tmp.dir).filter((n) => n.startsWith('broken'))).to.deep.equal(
        [],
      );
    } finally {
      await patch(tenants);
    }
  });

  it('backs up every tenant: schemas, realms, CDS files, hand-added env', async () => {
    const r = await scenario.backup(SOURCE, sourceNs, archive, ['--progress', 'none']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const inspect = await runCli(['inspect', archive, '-i', scenario.keyFile]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    for (const t of f.tenants) expect(inspect.stdout).to.include(t.code);
    expect(inspect.stdout).to.match(/ENTANDO_TENANTS/);
  });

  it('refuses a restore whose CDS volume is too small, before any change', async () => {
    await kubectl(TARGET, ['create', 'namespace', smallNs]);
    await kubectl(
      TARGET,
      ['-n', smallNs, 'apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 't1-cds-pvc', namespace: smallNs },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Ki' } } },
      }),
    );
    const r = await restore(smallNs, ['--existing', 'update']);
    expect(r.code, r.stderr + r.stdout).to.equal(2);
    expect(r.stderr).to.match(/^error: restore refused: 1 problem found before any change/m);
    expect(r.stdout).to.match(
      /- tenant t1 \(CDS [^)]*\): volume [^ ]*\/t1-cds-pvc: too small: 64Ki/,
    );
    const left = await kubectl(TARGET, [
      '-n',
      smallNs,
      'get',
      'all,secrets,pvc,entandoapps',
      '-o',
      'name',
    ]);
    expect(left.split('\n').filter(Boolean).sort()).to.deep.equal([
      'persistentvolumeclaim/t1-cds-pvc',
    ]);
  });

  it('restores every tenant into the other cluster, namespace and host', async () => {
    const r = await restore(targetNs, ['--verify']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout + r.stderr).to.not.include(otpSecret(tenantSeed(f, f.tenants[0]), 0));
  });

  it("every tenant's tables equal (row counts and content hashes)", async () => {
    const source = await tenantTables(SOURCE, sourceNs, f, pgAdmin);
    const target = await tenantTables(TARGET, targetNs, f, pgAdmin);
    expect(Object.keys(source)).to.have.length(6);
    for (const tables of Object.values(source)) {
      expect(Object.keys(tables as object).length).to.be.greaterThan(0);
    }
    expect(target).to.deep.equal(source);
  });

  it('realm users log in with their passwords (and OTP) in their tenant realm; client secrets equal the JSON', async () => {
    const json = await tenantsJson(TARGET, targetNs);
    const s = await appKeycloak(TARGET, targetNs, APP);
    try {
      for (const t of f.tenants) {
        const seed = tenantSeed(f, t);
        const login = (i: number, extra: Record<string, string> = {}) =>
          KeycloakAdmin.passwordGrant(s.admin.base, t.code, {
            grant_type: 'password',
            client_id: 'admin-cli',
            username: userName(i),
            password: userPassword(seed, i),
            ...extra,
          });
        await login(t.users - 1);
        let refused = false;
        await login(0).catch(() => (refused = true));
        expect(refused, `${t.code}: the OTP user without a code`).to.equal(true);
        await login(0, { otp: totp(otpSecret(seed, 0)) });
        const tenant = json.find((x) => x.tenantCode === t.code)!;
        for (const [id, secret] of [
          [tenant.kcClientId, tenant.kcClientSecret],
          [tenant.deKcClientId, tenant.deKcClientSecret],
        ]) {
          const c = (await s.admin.findClient(t.code, String(id)))!;
          expect(await s.admin.clientSecret(t.code, c.id!), `${t.code} ${String(id)}`).to.equal(
            secret,
          );
        }
      }
    } finally {
      await s.close();
    }
  });

  it('CDS trees equal entry by entry, for every tenant and the primary', async () => {
    for (const code of [...f.tenants.map((t) => t.code), undefined]) {
      const source = await cdsTree(SOURCE, sourceNs, f, code);
      expect(source.length, code).to.be.greaterThan(5);
      expect(await cdsTree(TARGET, targetNs, f, code), code ?? 'primary').to.deep.equal(source);
    }
  });

  it('the tenant JSON names the target namespace, hosts and Keycloak', async () => {
    const json = await tenantsJson(TARGET, targetNs);
    const text = JSON.stringify(json);
    expect(text).to.not.include(`.${sourceNs}.`);
    expect(text).to.not.include(f.app.ingressHostName);
    for (const t of json) {
      for (const field of ['dbUrl', 'deDbUrl', 'kcInternalAuthUrl', 'cdsPrivateUrl']) {
        expect(String(t[field]), `${String(t.tenantCode)} ${field}`).to.include(`.${targetNs}.`);
      }
      expect(t.fqdns).to.equal(`${String(t.tenantCode)}.${targetHost}`);
      expect(t.kcAuthUrl).to.equal(`http://sso.${targetNs}.sandbox.local/auth`);
    }
  });

  it('the hand-added env is on the restored deployments; a reconcile drops it and a re-run with --existing update converges', async () => {
    const appEnv = () => envNames(TARGET, targetNs, `${APP}-deployment`, 'server-container');
    const cmEnv = () => envNames(TARGET, targetNs, `${APP}-cm-deployment`, 'de-container');
    expect(await appEnv()).to.include.members([
      'ENTANDO_TENANTS',
      'CDS_ENABLED',
      'CDS_PRIVATE_URL',
    ]);
    expect(await cmEnv()).to.include('ENTANDO_TENANTS');
    // The operator rewrites the deployments when it processes the app again.
    await kubectl(TARGET, [
      '-n',
      targetNs,
      'annotate',
      'entandoapp',
      APP,
      'entando.org/processing-instruction=force',
    ]);
    await waitFor('the operator to drop the hand-added env', async () =>
      (await appEnv()).includes('ENTANDO_TENANTS') ? undefined : true,
    );
    const r = await restore(targetNs, ['--existing', 'update']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(await appEnv()).to.include.members([
      'ENTANDO_TENANTS',
      'CDS_ENABLED',
      'CDS_PRIVATE_URL',
    ]);
    expect(await cmEnv()).to.include('ENTANDO_TENANTS');
  });

  it("a 7.3 tenant's bundles are reinstalled for that tenant only (X-ENTANDO-TENANTCODE)", async () => {
    const json = await tenantsJson(TARGET, targetNs);
    const kc = kubeConfig({ kubeconfig: KUBECONFIG, context: TARGET });
    const conn = await connect(kc, targetNs, APP);
    try {
      const code = bundleCrName(f.bundles.find((b) => b.name === 'tenant-widgets')!);
      const installed = async (tenant: string) => {
        const t = json.find((x) => x.tenantCode === tenant)!;
        const token = await clientCredentialsToken(
          conn.keycloakBase,
          tenant,
          String(t.deKcClientId),
          String(t.deKcClientSecret),
        );
        const r = await conn.cm.withToken(token).forTenant(tenant).call<{
          payload?: { installed?: boolean; installedJob?: { componentVersion?: string } };
        }>('GET', `/components/${code}`);
        return r.body?.payload?.installed ? r.body.payload.installedJob?.componentVersion : 'no';
      };
      expect(await installed('t1')).to.equal('1.0.0');
      expect(await installed('t2')).to.equal('no');
    } finally {
      await conn.close();
    }
  });

  it('compare says equal but for named, expected differences', async () => {
    const r = await runCli([
      'compare',
      APP,
      '--kubeconfig',
      KUBECONFIG,
      '--context',
      SOURCE,
      '-n',
      sourceNs,
      '--to-context',
      TARGET,
      '--to-namespace',
      targetNs,
      '-o',
      'json',
    ]);
    const out = JSON.parse(r.stdout) as {
      rows: { section: string; name: string; verdict: string; why?: string }[];
    };
    const bad = out.rows.filter((x) => x.verdict !== 'same' && x.verdict !== 'expected');
    expect(bad, JSON.stringify(bad, null, 1)).to.deep.equal([]);
    expect(r.code, r.stderr).to.equal(0);
    for (const x of out.rows.filter((y) => y.verdict === 'expected')) {
      expect(x.why, x.name).to.be.a('string').and.not.equal('');
    }
    const names = out.rows.map((x) => x.name).join('\n');
    for (const t of f.tenants) {
      expect(names).to.include(`tenant ${t.code}`);
    }
  });
});
