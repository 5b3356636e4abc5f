// The operator stand-in against the real sandbox (source cluster, its real DBMS and
// kube-controller-manager). Needs `bash scripts/sandbox up` (npm test brings it up).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import { randomSuffix } from '../helpers/sandbox.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const KUBECONFIG = process.env.SANDBOX_KUBECONFIG ?? join(ROOT, '.sandbox/kubeconfig');
const CONTEXT = 'sandbox-source';
const DBMS_JSON = join(dirname(KUBECONFIG), 'clusters', 'source', 'dbms.json');

interface Dbms {
  postgresql: {
    host: string;
    port: number;
    adminUser: string;
    adminPassword: string;
    database: string;
  };
  mysql: { host: string; port: number; adminUser: string; adminPassword: string };
}
interface Cr {
  metadata: { uid: string; generation: number; annotations?: Record<string, string> };
  status?: {
    phase?: string;
    observedGeneration?: number;
    serverStatuses?: Record<string, Record<string, unknown>>;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s?: string) => Buffer.from(s ?? '', 'base64').toString('utf8');
const status = (err: unknown) => (err as { code?: number }).code;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1000);
  }
}

describe('operator stand-in (sandbox)', function () {
  this.timeout(300_000);
  const ns = `optest-${randomSuffix()}`;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let dbms: Dbms;

  const app = (name: string) =>
    custom.getNamespacedCustomObject({
      group: 'entando.org',
      version: 'v1',
      namespace: ns,
      plural: 'entandoapps',
      name,
    }) as Promise<Cr>;

  const createApp = (name: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({
      group: 'entando.org',
      version: 'v1',
      namespace: ns,
      plural: 'entandoapps',
      body: { apiVersion: 'entando.org/v1', kind: 'EntandoApp', metadata: { name }, spec },
    });

  const successful = (name: string) =>
    until(`EntandoApp ${name} successful`, async () => {
      const cr = await app(name);
      const s = cr.status;
      const forced = cr.metadata.annotations?.['entando.org/processing-instruction'] === 'force';
      return s?.phase === 'successful' && s.observedGeneration === cr.metadata.generation && !forced
        ? cr
        : undefined;
    });

  const secret = (name: string) => core.readNamespacedSecret({ namespace: ns, name });

  const secretGone = (name: string) =>
    until(`${name} deleted`, async () => {
      try {
        await secret(name);
        return undefined;
      } catch (err) {
        if (status(err) === 404) return true;
        throw err;
      }
    });

  const psql = (user: string, password: string, sql: string) =>
    run(
      'psql',
      [
        '-X',
        '-At',
        '-h',
        dbms.postgresql.host,
        '-p',
        String(dbms.postgresql.port),
        '-U',
        user,
        '-d',
        dbms.postgresql.database,
        '-c',
        sql,
      ],
      { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' } },
    ).then((r) => r.stdout.trim());

  /** One statement in the sandbox MariaDB as `user`, tab-separated rows without headers. */
  const mariadb = (user: string, password: string, sql: string, database?: string) =>
    run(
      'mariadb',
      [
        '--no-defaults',
        '-h',
        dbms.mysql.host,
        '-P',
        String(dbms.mysql.port),
        '-u',
        user,
        '-N',
        '-B',
        ...(database ? [database] : []),
        '-e',
        sql,
      ],
      { env: { ...process.env, MYSQL_PWD: password } },
    ).then((r) => r.stdout.trim());

  before(async () => {
    if (!existsSync(KUBECONFIG) || !existsSync(DBMS_JSON)) {
      throw new Error(
        `sandbox not up (${KUBECONFIG}, ${DBMS_JSON}): run 'bash scripts/sandbox up'`,
      );
    }
    dbms = JSON.parse(readFileSync(DBMS_JSON, 'utf8')) as Dbms;
    const kc = new KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    kc.setCurrentContext(CONTEXT);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  after(async () => {
    if (core) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('reuses a pre-created DB secret (create-if-absent) and owns what it creates', async () => {
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'pgapp-portdb-secret' },
        data: { username: b64('pgapp_portdb_11111'), password: b64('Preset-Pass-1') },
      },
    });
    const before = await secret('pgapp-portdb-secret');
    await createApp('pgapp', { dbms: 'postgresql', ingressHostName: 'pgapp.sandbox.local' });
    const cr = await successful('pgapp');

    const after = await secret('pgapp-portdb-secret');
    expect(after.data).to.deep.equal(before.data);
    expect(after.metadata?.resourceVersion).to.equal(before.metadata?.resourceVersion);
    expect(after.metadata?.ownerReferences ?? []).to.deep.equal([]);

    for (const name of ['pgapp-servdb-secret', 'pgapp-dedb-secret']) {
      const s: V1Secret = await secret(name);
      expect(unb64(s.data?.username)).to.match(new RegExp(`^pgapp_${name.split('-')[1]}_\\d{5}$`));
    }
    for (const name of ['pgapp-servdb-secret', 'pgapp-secret', 'pgapp-de-secret']) {
      const refs = (await secret(name)).metadata?.ownerReferences ?? [];
      expect(refs).to.deep.include({
        apiVersion: 'entando.org/v1',
        kind: 'EntandoApp',
        name: 'pgapp',
        uid: cr.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      });
    }
    expect(unb64((await secret('pgapp-secret')).data?.clientId)).to.equal('pgapp');
    const pvc = await core.readNamespacedPersistentVolumeClaim({
      namespace: ns,
      name: 'pgapp-server-pvc',
    });
    expect(pvc.metadata?.ownerReferences?.[0]).to.include({
      uid: cr.metadata.uid,
      controller: true,
    });
    expect(cr.status?.serverStatuses?.main).to.include({
      deploymentName: 'pgapp-deployment',
      serviceName: 'pgapp-service',
      ingressName: 'pgapp-ingress',
      externalBaseUrl: 'http://pgapp.sandbox.local/entando-de-app',
    });
    expect(cr.status?.serverStatuses?.db).to.include({
      adminSecretName: 'default-postgresql-dbms-in-namespace-admin-secret',
    });
    const admin = await secret('default-postgresql-dbms-in-namespace-admin-secret');
    expect(unb64(admin.data?.password)).to.equal(dbms.postgresql.adminPassword);
  });

  it('creates roles and schemas in the real PostgreSQL with the secrets credentials', async () => {
    for (const q of ['portdb', 'servdb', 'dedb']) {
      const s = await secret(`pgapp-${q}-secret`);
      const user = unb64(s.data?.username);
      const out = await psql(
        user,
        unb64(s.data?.password),
        'SELECT current_user, current_schema(), (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = current_schema())',
      );
      expect(out).to.equal(`${user}|${user}|${user}`);
    }
  });

  it('resets an existing role password to the secret (forced password reset)', async () => {
    const { adminUser, adminPassword } = dbms.postgresql;
    await psql(
      adminUser,
      adminPassword,
      `ALTER ROLE pgapp_portdb_11111 PASSWORD 'changed-elsewhere'`,
    );
    let failed = false;
    await psql('pgapp_portdb_11111', 'Preset-Pass-1', 'SELECT 1').catch(() => (failed = true));
    expect(failed, 'login with the secret password fails before the reset').to.equal(true);
    await custom.patchNamespacedCustomObject(
      {
        group: 'entando.org',
        version: 'v1',
        namespace: ns,
        plural: 'entandoapps',
        name: 'pgapp',
        body: { metadata: { annotations: { 'entando.org/processing-instruction': 'force' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await sleep(1000);
    await successful('pgapp');
    expect(await psql('pgapp_portdb_11111', 'Preset-Pass-1', 'SELECT current_schema()')).to.equal(
      'pgapp_portdb_11111',
    );
  });

  it('creates one MySQL database per user, reachable with the secrets credentials', async () => {
    await createApp('myapp', { dbms: 'mysql' });
    await successful('myapp');
    const s = await secret('myapp-dedb-secret');
    const user = unb64(s.data?.username);
    const stdout = await mariadb(
      user,
      unb64(s.data?.password),
      'SELECT CURRENT_USER(), DATABASE()',
      user,
    );
    expect(stdout).to.equal(`${user}@%\t${user}`);
    const dep = await core.listNamespacedPod({
      namespace: ns,
      labelSelector: 'entando.org/deployment=default-mysql-dbms-in-namespace-deployment',
    });
    expect(dep.items[0]?.metadata?.annotations?.['sandbox.entando.org/port-map']).to.equal(
      `3306:${dbms.mysql.port}`,
    );
  });

  it('embedded (dbms omitted): no DBMS, no DB secrets', async () => {
    await createApp('embapp', { ingressHostName: 'embapp.sandbox.local' });
    const cr = await successful('embapp');
    expect(cr.status?.serverStatuses).to.not.have.property('db');
    const names = (await core.listNamespacedSecret({ namespace: ns })).items.map(
      (s) => s.metadata?.name,
    );
    expect(names).to.include.members(['embapp-secret', 'embapp-de-secret']);
    expect(names).to.not.include('embapp-portdb-secret');
  });

  it('deleting the app garbage-collects its secrets and PVCs (real controller manager)', async () => {
    await custom.deleteNamespacedCustomObject({
      group: 'entando.org',
      version: 'v1',
      namespace: ns,
      plural: 'entandoapps',
      name: 'pgapp',
    });
    for (const s of [
      'pgapp-servdb-secret',
      'pgapp-dedb-secret',
      'pgapp-secret',
      'pgapp-de-secret',
    ]) {
      await secretGone(s);
    }
    for (const pvc of ['pgapp-server-pvc', 'pgapp-de-pvc']) {
      await until(`PVC ${pvc} deleted`, async () => {
        try {
          await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: pvc });
          return undefined;
        } catch (err) {
          if (status(err) === 404) return true;
          throw err;
        }
      });
    }
    // The pre-created secret had no ownerReference: it survives, as with the real operator.
    expect((await secret('pgapp-portdb-secret')).data?.username).to.equal(
      b64('pgapp_portdb_11111'),
    );
  });

  it('deleting the namespace drops its roles, schemas and MySQL databases, as a real in-namespace DBMS goes with it', async () => {
    const mysqlUsers: string[] = [];
    for (const q of ['portdb', 'servdb', 'dedb']) {
      mysqlUsers.push(unb64((await secret(`myapp-${q}-secret`)).data?.username));
    }
    const pgNames = ['pgapp_portdb_11111'];
    const { adminUser, adminPassword } = dbms.postgresql;
    const list = (xs: string[]) => xs.map((x) => `'${x}'`).join(', ');
    const pgLeft = () =>
      psql(
        adminUser,
        adminPassword,
        `SELECT (SELECT count(*) FROM pg_roles WHERE rolname IN (${list(pgNames)})) + (SELECT count(*) FROM pg_namespace WHERE nspname IN (${list(pgNames)}))`,
      ).then(Number);
    const myLeft = () =>
      mariadb(
        dbms.mysql.adminUser,
        dbms.mysql.adminPassword,
        `SELECT (SELECT count(*) FROM information_schema.schemata WHERE schema_name IN (${list(mysqlUsers)})) + (SELECT count(*) FROM mysql.user WHERE user IN (${list(mysqlUsers)}))`,
      ).then(Number);
    expect(await pgLeft(), 'roles and schemas before').to.equal(2);
    expect(await myLeft(), 'databases and users before').to.equal(9);
    await core.deleteNamespace({ name: ns });
    await until("the namespace's databases dropped", async () =>
      (await pgLeft()) + (await myLeft()) === 0 ? true : undefined,
    );
  });
});
