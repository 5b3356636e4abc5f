// The component manager stand-in (sandbox/cm) against the real sandbox: a fixture namespace with
// a real Keycloak, whose `<app>-cm-deployment` pod runs the stand-in (operator stand-in with the
// CM runtime), reached through port-forwards as `ent` reaches the CM. Also the MariaDB dialect of
// its dedb layer against the sandbox's MariaDB. Needs the sandbox up.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { DENIED } from '../../sandbox/cm/auth.js';
import { KeycloakAdmin } from '../../src/components/keycloak/admin.js';
import {
  connect,
  deToken,
  passwordToken,
  type CmClient,
  type CmConnection,
} from '../../sandbox/cm/client.js';
import { openDb } from '../../sandbox/cm/db.js';
import { bundleCode, bundleId } from '../../sandbox/cm/names.js';
import {
  descriptorPath,
  writeDescriptor,
  type BundleDescriptor,
} from '../../sandbox/cm/registry.js';
import { schemaDdl } from '../../sandbox/cm/schema.js';
import { Store } from '../../sandbox/cm/store.js';
import { userName, userPassword } from '../../sandbox/fixture/realm.js';
import { pluginName } from '../../sandbox/fixture/spec.js';
import { kubectl } from '../helpers/scenario.js';
import {
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  ROOT,
  SOURCE,
  waitFor,
} from '../helpers/sandbox.js';

const run = promisify(execFile);
const SEED = 7390;
const APP = 'cmapp';
const REGISTRY = join(ROOT, '.sandbox', 'cm-registry');
const BOOTSTRAP = bundleCode(
  'entando-epc-bootstrap',
  'docker://registry.hub.docker.com/entando/entando-bootstrap-bundle',
);

interface Job {
  id: string;
  status: string;
  startedAt?: string;
  componentVersion: string;
  installErrorMessage?: string;
  componentJobs?: { type: string; componentId: string; status: string; action: string }[];
}
type Payload<T> = { payload: T };

describe('component manager stand-in (sandbox)', function () {
  this.timeout(900_000);
  const suffix = randomSuffix();
  const ns = `e2e-cm-${suffix}`;
  const url = (name: string) => `docker://registry.sandbox.local/cm-test-${suffix}/${name}`;
  const msUrl = `https://github.com/entando-samples/cm-ms-${suffix}-bundle.git`;
  const widgets = bundleCode('cm-widgets', url('cm-widgets'));
  const slow = bundleCode('cm-slow', url('cm-slow'));
  const failing = bundleCode('cm-fail', url('cm-fail'));
  const ms = bundleCode('cm-ms-bundle', msUrl);
  const plugin = pluginName({ name: 'cm-ms', bundle: msUrl, image: 'x' });
  const kc = new KubeConfig();
  let dir: string;
  let conn: CmConnection;
  let admin: CmClient;
  let user: CmClient;

  const install = (c: CmClient, code: string, body?: unknown) =>
    c.call<Payload<Job>>('POST', `/components/${code}/install`, body);

  async function reconnect(): Promise<void> {
    await conn?.close();
    conn = await connect(kc, ns, APP);
    await waitFor('the CM stand-in', async () =>
      (await conn.cm.call('GET', '/actuator/health').catch(() => undefined))?.status === 200
        ? true
        : undefined,
    );
    admin = conn.cm.withToken(await deToken(kc, conn, ns, APP));
    user = conn.cm.withToken(await userToken());
  }

  const secretValues = async (name: string) => {
    const sec = JSON.parse(
      await kubectl(SOURCE, ['-n', ns, 'get', 'secret', name, '-o', 'json']),
    ) as { data: Record<string, string> };
    return (k: string) => Buffer.from(sec.data[k], 'base64').toString('utf8');
  };

  /** A fixture user's token, through the `<app>-de` client (direct access grants). */
  async function userToken(): Promise<string> {
    const d = await secretValues(`${APP}-de-secret`);
    return passwordToken(
      conn.keycloakBase,
      'entando',
      d('clientId'),
      d('clientSecret'),
      userName(0),
      userPassword(SEED, 0),
    );
  }

  /** Sandbox-only hooks: a slow install (holds the lock) and a failing widget. */
  function writeHookDescriptors(): void {
    const d = (name: string, extra: Partial<BundleDescriptor>): BundleDescriptor => ({
      url: url(name),
      version: '1.0.0',
      name,
      widgets: [{ code: `${name}-a` }, { code: `${name}-b` }],
      ...extra,
    });
    writeDescriptor(REGISTRY, d('cm-slow', { sandbox: { installDelaySeconds: 12 } }));
    writeDescriptor(
      REGISTRY,
      d('cm-fail', {
        sandbox: {
          failComponent: {
            component: `widget:cm-fail-b-${bundleId(url('cm-fail'))}`,
            message: 'sandbox hook: widget refused',
          },
        },
      }),
    );
  }

  before(async () => {
    await requireSandbox();
    kc.loadFromFile(KUBECONFIG);
    kc.setCurrentContext(SOURCE);
    dir = mkdtempSync(join(tmpdir(), 'cm-test-'));
    const fixture = join(dir, 'cm.yaml');
    const bundle = (name: string, install = false) => `  - name: ${name}
    url: ${url(name)}
    versions: [1.0.0]
    widgets: [${name}-a, ${name}-b]
    install: ${install}`;
    writeFileSync(
      fixture,
      `seed: ${SEED}
namespace: ${ns}
app: { name: ${APP}, dbms: postgresql }
files: { count: 3, totalSize: 3KiB, awkward: false }
rows: 5
plugins:
  - { name: cm-ms, bundle: '${msUrl}', dbms: postgresql, rows: 5 }
bundles:
  - name: cm-ms-bundle
    url: '${msUrl}'
    versions: [1.0.0, 1.1.0]
    widgets: [cm-ms-widget]
${bundle('cm-widgets')}
${bundle('cm-slow')}
${bundle('cm-fail')}
  - name: cm-ecr
    url: ${url('cm-ecr')}
    versions: [1.0.0]
    widgets: [cm-ecr-a]
    repositoryNamespace: true
keycloak: { users: 2, otpUsers: 0, groups: 1 }
`,
    );
    await run(
      'node',
      [
        join(ROOT, 'dist/sandbox/fixture/apply.js'),
        fixture,
        '--context',
        SOURCE,
        '--timeout',
        '600',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, SANDBOX_KUBECONFIG: KUBECONFIG },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    writeHookDescriptors();
    await reconnect();
  });

  after(async () => {
    await conn?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const u of [...['cm-widgets', 'cm-slow', 'cm-fail', 'cm-ecr'].map(url), msUrl]) {
      rmSync(dirname(descriptorPath(REGISTRY, u, '1.0.0')), { recursive: true, force: true });
    }
    await deleteNamespace(SOURCE, ns).catch(() => undefined);
  });

  it('health needs no token; everything else a valid bearer token of the realm (401)', async () => {
    const anon = conn.cm.withToken(undefined);
    const health = await anon.call('GET', '/actuator/health');
    expect(health.status).to.equal(200);
    expect(health.body).to.deep.equal({ status: 'UP' });
    const none = await anon.call('GET', '/components');
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer/);
    const good = await deToken(kc, conn, ns, APP);
    const [h, p, sig] = good.split('.');
    const forged = `${h}.${p}.${Buffer.from(randomBytes(256)).toString('base64url')}`;
    expect((await conn.cm.withToken(forged).call('GET', '/components')).status).to.equal(401);
    // Same signature, changed claims (aud without account): the signature no longer matches.
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const altered = Buffer.from(JSON.stringify({ ...claims, aud: ['other'] })).toString(
      'base64url',
    );
    expect(
      (await conn.cm.withToken(`${h}.${altered}.${sig}`).call('GET', '/components')).status,
    ).to.equal(401);
    // The token carries the realm's public issuer although it was fetched through a port-forward.
    expect(claims.iss).to.equal(`http://sso.${ns}.sandbox.local/auth/realms/entando`);
    expect((await admin.call('GET', '/components')).status).to.equal(200);
  });

  it('403 on writes for a user without <app>:superuser; reads are allowed', async () => {
    // The fixture's users have no realm default roles: no `account` audience, so 401.
    expect((await user.call('GET', '/components')).status).to.equal(401);
    const a = await secretValues('default-sso-in-namespace-admin-secret');
    const kcAdmin = new KeycloakAdmin(conn.keycloakBase, {
      username: a('username'),
      password: a('password'),
    });
    const [u] = await kcAdmin.get<{ id: string }[]>(
      `/realms/entando/users?username=${userName(0)}&exact=true`,
    );
    const role = await kcAdmin.get('/realms/entando/roles/default-roles-entando');
    await kcAdmin.call('POST', `/realms/entando/users/${u.id}/role-mappings/realm`, [role]);
    user = conn.cm.withToken(await userToken());
    expect((await user.call('GET', '/components')).status).to.equal(200);
    const r = await install(user, widgets, { version: '1.0.0' });
    expect(r.status).to.equal(403);
    expect(r.body).to.deep.equal(DENIED);
  });

  it('post-init installed the bootstrap bundle; bundles of the repository namespace are listed', async () => {
    expect((await admin.call('GET', '/post-inits/status')).text).to.equal('SUCCESSFUL');
    const list = await admin.call<{
      payload: { code: string; installed: boolean }[];
      metaData: { totalItems: number };
    }>('GET', '/components');
    const byCode = new Map(list.body.payload.map((b) => [b.code, b]));
    expect(byCode.get(BOOTSTRAP)?.installed).to.equal(true);
    // Installed by `fixture apply` from the repository namespace <ns>-ecr.
    expect(byCode.get(bundleCode('cm-ecr', url('cm-ecr')))?.installed).to.equal(true);
    expect(byCode.get(widgets)?.installed).to.equal(false);
    expect(byCode.get(ms)?.installed).to.equal(true); // installed by `fixture apply`
    expect(list.body.metaData.totalItems).to.equal(list.body.payload.length);
  });

  it('the plugin bundle: CRs as k8s-service makes them, plugin_data; SKIP re-registers a lost row', async () => {
    const cr = JSON.parse(
      await kubectl(SOURCE, ['-n', ns, 'get', 'entandoplugin', plugin, '-o', 'json']),
    ) as {
      metadata: { ownerReferences?: unknown };
      spec: { environmentVariables: { name: string }[] };
    };
    expect(cr.metadata.ownerReferences).to.equal(undefined);
    expect(cr.spec.environmentVariables.map((e) => e.name)).to.include.members([
      'ENTANDO_ECR_INGRESS_URL',
      'ENTANDO_TIMESTAMP',
    ]);
    const link = JSON.parse(
      await kubectl(SOURCE, [
        '-n',
        ns,
        'get',
        'entandoapppluginlink',
        `${APP}-${plugin}-link`,
        '-o',
        'json',
      ]),
    ) as { spec: Record<string, string>; status: { phase: string } };
    expect(link.spec).to.include({
      entandoAppNamespace: ns,
      entandoPluginNamespace: ns,
      entandoPluginName: plugin,
    });
    const sql = (q: string) => psql(ns, q);
    expect(await sql(`SELECT plugin_code FROM plugin_data`)).to.equal(plugin);
    await sql(`DELETE FROM plugin_data`);
    const r = await install(admin, ms, { version: '1.1.0', conflictStrategy: 'SKIP' });
    expect(r.status, r.text).to.equal(201);
    const job = await admin.waitInstalled(ms);
    expect(job.status).to.equal('INSTALL_COMPLETED');
    expect(await sql(`SELECT plugin_code FROM plugin_data`)).to.equal(plugin);
    const detail = await admin.call<Payload<Job>>('GET', `/jobs/${job.id}`);
    const pj = detail.body.payload.componentJobs!.find((c) => c.type === 'PLUGIN')!;
    expect(pj).to.include({ componentId: plugin, action: 'SKIP', status: 'INSTALL_COMPLETED' });
  });

  it('install: 201 + Location, INSTALL_CREATED -> INSTALL_COMPLETED; then 409 for CREATE', async () => {
    const bad = await install(admin, widgets, { version: '9.9.9' });
    expect(bad.status).to.equal(422);
    expect(bad.body).to.deep.equal({ message: 'Version 9.9.9 not defined in bundle versions' });
    const unknown = await install(admin, 'no-such-bundle', {});
    expect(unknown.status).to.equal(404);
    expect(unknown.body).to.deep.equal({ message: "Bundle 'no-such-bundle' has not been found" });
    const r = await install(admin, widgets, { version: 'latest' });
    expect(r.status, r.text).to.equal(201);
    const created = r.body.payload;
    expect(created.status).to.equal('INSTALL_CREATED');
    expect(created).to.not.have.property('startedAt');
    expect(r.headers.get('location')).to.match(new RegExp(`/jobs/${created.id}$`));
    expect(created.id).to.match(/^[0-9a-f-]{36}$/);
    const done = await admin.waitInstalled(widgets);
    expect(done).to.include({
      id: created.id,
      status: 'INSTALL_COMPLETED',
      componentVersion: '1.0.0',
    });
    const detail = await admin.call<Payload<Job>>('GET', `/jobs/${created.id}`);
    expect(detail.body.payload.componentJobs!.map((c) => `${c.type} ${c.status}`)).to.deep.equal([
      'WIDGET INSTALL_COMPLETED',
      'WIDGET INSTALL_COMPLETED',
    ]);
    for (const body of [{}, { conflictStrategy: 'CREATE' }]) {
      const again = await install(admin, widgets, body);
      expect(again.status).to.equal(409);
      expect((again.body as unknown as { message: string }).message).to.equal(
        `Error install request conflict strategy:'${'conflictStrategy' in body ? 'CREATE' : 'null'}' not compatible with the status of the bundle:'${widgets}'`,
      );
    }
    const jobs = await admin.call<{ payload: Job[] }>(
      'GET',
      `/jobs?filters[0].attribute=componentId&filters[0].operator=eq&filters[0].value=${widgets}`,
    );
    expect(jobs.body.payload.map((j) => j.id)).to.deep.equal([created.id]);
  });

  it('one bundle operation at a time (409); an unfinished job blocks its bundle (409 JOB ID)', async () => {
    const r = await install(admin, slow, { version: '1.0.0' });
    expect(r.status, r.text).to.equal(201);
    const id = r.body.payload.id;
    const other = await install(admin, failing, { version: '1.0.0' });
    expect(other.status).to.equal(409);
    expect(other.body).to.deep.equal({
      message:
        'Another bundle operation (analysis, install, etc.) is already running. Multiple concurrent operations are not supported.',
    });
    const same = await install(admin, slow, { version: '1.0.0', conflictStrategy: 'SKIP' });
    expect(same.status).to.equal(409);
    expect((same.body as unknown as { message: string }).message).to.equal(
      `Conflict with another job for the component ${slow} - JOB ID: ${id}`,
    );
    await waitFor('INSTALL_IN_PROGRESS', async () => {
      const last = await admin.call<Payload<{ status: string }>>(
        'GET',
        `/components/${slow}/lastJob`,
      );
      return last.status === 200 && last.body.payload.status === 'installing' ? true : undefined;
    });
    expect((await admin.waitInstalled(slow)).status).to.equal('INSTALL_COMPLETED');
    expect((await admin.call('GET', `/components/${slow}/lastJob`)).status).to.equal(404);
  });

  it('a component error rolls the install back (INSTALL_ROLLBACK, the error message kept)', async () => {
    const r = await install(admin, failing, { version: '1.0.0' });
    expect(r.status, r.text).to.equal(201);
    const job = await admin.waitInstalled(failing);
    expect(job.status).to.equal('INSTALL_ROLLBACK');
    expect(job.installErrorMessage).to.equal('sandbox hook: widget refused');
    const detail = await admin.call<Payload<Job>>('GET', `/jobs/${job.id}`);
    expect(detail.body.payload.componentJobs!.map((c) => c.status).sort()).to.deep.equal([
      'INSTALL_ERROR',
      'INSTALL_ROLLBACK',
    ]);
    // The rolled-back widget is gone: a new analysis sees both widgets NEW again.
    const plan = await admin.call<Payload<{ widgets: Record<string, { status: string }> }>>(
      'POST',
      `/components/${failing}/installplans`,
      { version: '1.0.0' },
    );
    expect(plan.status, plan.text).to.equal(200);
    expect(Object.values(plan.body.payload.widgets).map((w) => w.status)).to.deep.equal([
      'NEW',
      'NEW',
    ]);
    const bundle = await admin.call<Payload<{ installed: boolean }>>(
      'GET',
      `/components/${failing}`,
    );
    expect(bundle.body.payload.installed).to.equal(false);
  });

  it('a restart turns INSTALL_IN_PROGRESS into INSTALL_ERROR and frees the lock', async () => {
    const r = await install(admin, slow, { version: '1.0.0', conflictStrategy: 'OVERRIDE' });
    expect(r.status, r.text).to.equal(201);
    const id = r.body.payload.id;
    await waitFor('INSTALL_IN_PROGRESS', async () => {
      const j = await admin.call<Payload<Job>>('GET', `/jobs/${id}`);
      return j.body.payload.status === 'INSTALL_IN_PROGRESS' ? true : undefined;
    });
    await kubectl(SOURCE, [
      '-n',
      ns,
      'delete',
      'pod',
      '-l',
      `entando.org/deployment=${APP}-cm-deployment`,
      '--wait=true',
    ]);
    await waitFor(
      'a new CM pod',
      async () => {
        try {
          await reconnect();
          return true;
        } catch {
          return undefined;
        }
      },
      180_000,
      2000,
    );
    const after = await admin.call<Payload<Job>>('GET', `/jobs/${id}`);
    expect(after.body.payload.status).to.equal('INSTALL_ERROR');
    // Not the installed job: the bundle stays installed with the earlier one.
    const bundle = await admin.call<Payload<{ installed: boolean; installedJob: { id: string } }>>(
      'GET',
      `/components/${slow}`,
    );
    expect(bundle.body.payload.installed).to.equal(true);
    expect(bundle.body.payload.installedJob.id).to.not.equal(id);
    const plan = await admin.call('POST', `/components/${widgets}/installplans`, {
      version: '1.0.0',
    });
    expect(plan.status, plan.text).to.equal(200);
  });
});

/** One value from the app's dedb (as its owner, through the sandbox PostgreSQL on the host). */
async function psql(ns: string, query: string): Promise<string> {
  const secret = JSON.parse(
    await kubectl(SOURCE, ['-n', ns, 'get', 'secret', `${APP}-dedb-secret`, '-o', 'json']),
  ) as { data: Record<string, string> };
  const d = (k: string) => Buffer.from(secret.data[k], 'base64').toString('utf8');
  const dbms = JSON.parse(
    readFileSync(join(dirname(KUBECONFIG), 'clusters', 'source', 'dbms.json'), 'utf8'),
  ) as {
    postgresql: { port: number; database: string };
  };
  const { stdout } = await run(
    'psql',
    [
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-p',
      String(dbms.postgresql.port),
      '-c',
      query,
    ],
    {
      env: {
        ...process.env,
        PGUSER: d('username'),
        PGPASSWORD: d('password'),
        PGDATABASE: dbms.postgresql.database,
      },
    },
  );
  return stdout.trim();
}

describe('component manager stand-in: dedb on MariaDB (sandbox)', function () {
  this.timeout(120_000);
  const dbmsFile = join(dirname(KUBECONFIG), 'clusters', 'source', 'dbms.json');
  const name = `cm_test_${randomBytes(3).toString('hex')}`;
  let root: { host: string; port: number; adminUser: string; adminPassword: string };
  const rootSql = (sql: string) =>
    run(
      'mariadb',
      ['--protocol=TCP', '-h', root.host, '-P', String(root.port), '-u', root.adminUser, '-e', sql],
      {
        env: { ...process.env, MYSQL_PWD: root.adminPassword },
      },
    );

  before(async () => {
    await requireSandbox();
    root = (JSON.parse(readFileSync(dbmsFile, 'utf8')) as { mysql: typeof root }).mysql;
    await rootSql(
      `CREATE DATABASE ${name}; CREATE USER '${name}'@'%' IDENTIFIED BY 'pw-${name}'; GRANT ALL ON ${name}.* TO '${name}'@'%';`,
    );
  });
  after(async () => {
    if (root) await rootSql(`DROP DATABASE IF EXISTS ${name}; DROP USER IF EXISTS '${name}'@'%';`);
  });

  it('creates the tables once, keeps jobs and installed bundles with Java-side values', async () => {
    const env = {
      SPRING_DATASOURCE_URL: `jdbc:mysql://default-mysql-dbms-in-namespace-service.x.svc.cluster.local:3306/${name}`,
      SPRING_DATASOURCE_USERNAME: name,
      SPRING_DATASOURCE_PASSWORD: `pw-${name}`,
      SANDBOX_CM_DBMS_PORT: String(root.port),
    };
    const db = openDb(env);
    expect(db.dialect).to.equal('mysql');
    await db.ensureSchema(schemaDdl('mysql'));
    await db.ensureSchema(schemaDdl('mysql')); // idempotent, as Liquibase at every start
    const store = new Store(db);
    const job = await store.createJob({
      componentId: 'b-12345678',
      componentName: 'b',
      componentVersion: '1.0.0',
      progress: 0,
      status: 'INSTALL_CREATED',
      installPlan: `{"quote":"it's \\\\ fine"}`,
      customInstallation: false,
    });
    await store.updateJob(job.id, {
      status: 'INSTALL_COMPLETED',
      startedAt: '2026-01-02T03:04:05.678',
      progress: 1,
    });
    const back = await store.job(job.id);
    expect(back).to.deep.include({
      status: 'INSTALL_COMPLETED',
      startedAt: '2026-01-02T03:04:05.678',
      progress: 1,
      customInstallation: false,
      installPlan: `{"quote":"it's \\\\ fine"}`,
    });
    const row = {
      bundleCode: 'b-12345678',
      name: 'b',
      installed: true,
      jobId: job.id,
      lastUpdate: '2026-01-02T03:04:05.678',
      version: '1.0.0',
    };
    await store.saveInstalledBundle(row);
    await store.saveInstalledBundle({ ...row, version: '1.1.0' });
    const bundles = await store.installedBundles();
    expect(bundles).to.have.length(1);
    expect(bundles[0]).to.include({ installed: true, version: '1.1.0' });
  });
});
