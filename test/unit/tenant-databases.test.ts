import { expect } from 'chai';
import type { LoadedArchive, BackupContext } from '../../src/components/component.js';
import { databasesComponent, entryMeta } from '../../src/components/databases/index.js';
import { discoverDatasources, type Datasource } from '../../src/components/databases/discovery.js';
import { planDatabaseSteps } from '../../src/components/databases/restore.js';
import {
  ensureTenantSchema,
  ensureTenantSql,
  requireTenantSchema,
} from '../../src/components/databases/tenant-admin.js';
import {
  archivedTenants,
  targetHost,
  tenantTarget,
} from '../../src/components/databases/tenant-restore.js';
import type { DatabaseEntryMeta } from '../../src/contract/manifest.js';
import type { RestoreMapping } from '../../src/contract/mapping.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { phase } from '../../src/restore/order.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Results } from '../../src/report/results.js';
import { Limiter } from '../../src/util/limit.js';
import { FakeKube, FakePodExec } from '../helpers/fakes.js';

const NS = 'src';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const SVC = `default-postgresql-dbms-in-namespace-service.${NS}.svc.cluster.local`;
const PGDB = 'default_postgresql_dbms_in_namespace_db';
const pgUrl = (schema?: string, host = SVC) =>
  `jdbc:postgresql://${host}:5432/${PGDB}${schema ? `?currentSchema=${schema}` : ''}`;

const app: KubeObject = {
  apiVersion: 'entando.org/v1',
  kind: 'EntandoApp',
  metadata: { name: 'qs', namespace: NS },
  spec: { dbms: 'postgresql' },
  status: { serverStatuses: { main: { deploymentName: 'qs-deployment' } } },
};
const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const tenantsSecret = (tenants: Record<string, unknown>[]) =>
  secret('entando-tenants-secret', { ENTANDO_TENANTS: JSON.stringify(tenants) });
/** The primary's portdb, in the env of the app engine. */
const primary: KubeObject[] = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'qs-deployment', namespace: NS },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'server-container',
              env: [
                { name: 'PORTDB_URL', value: pgUrl() },
                {
                  name: 'PORTDB_USERNAME',
                  valueFrom: { secretKeyRef: { name: 'qs-portdb-secret', key: 'username' } },
                },
                {
                  name: 'PORTDB_PASSWORD',
                  valueFrom: { secretKeyRef: { name: 'qs-portdb-secret', key: 'password' } },
                },
              ],
            },
          ],
        },
      },
    },
  },
  secret('qs-portdb-secret', { username: 'qs_portdb_1', password: 'primary-pw' }),
];

/** The fixture of the sandbox e2e: two PostgreSQL tenants and a MariaDB one, and a shared one. */
const TENANTS = [
  // Entando's tutorial: one schema named after the tenant, as the DBMS admin.
  { tenantCode: 't1', dbUrl: pgUrl('t1'), dbUsername: 'postgres', dbPassword: 'pg-admin-pw' },
  // The 7.3.0 sample: the component manager's tables in their own <t>_cmschema.
  {
    tenantCode: 't2',
    dbUrl: pgUrl('t2'),
    dbUsername: 't2user',
    dbPassword: 't2-pw',
    deDbUrl: pgUrl('t2_cmschema'),
    deDbUsername: 't2user',
    deDbPassword: 't2-pw',
    kcEnabled: true,
  },
  {
    tenantCode: 't3',
    dbUrl: 'jdbc:mariadb://maria.example.com:3307/t3db?useSSL=false',
    dbUsername: 't3user',
    dbPassword: 't3-pw',
  },
  // The primary's portdb (the host spelled short) and t2's schema (another user): dumped once.
  {
    tenantCode: 't4',
    dbUrl: `jdbc:postgresql://default-postgresql-dbms-in-namespace-service.${NS}:5432/${PGDB}?currentSchema=qs_portdb_1`,
    dbUsername: 'qs_portdb_1',
    dbPassword: 'primary-pw',
    deDbUrl: pgUrl('t2'),
    deDbUsername: 'other',
    deDbPassword: 'other-pw',
  },
];

async function discover(tenants: Record<string, unknown>[], on = true) {
  const kube = new FakeKube([app, ...primary, tenantsSecret(tenants)]).client;
  return discoverDatasources(kube, app, { tenants: on });
}

const row = (d: Datasource) =>
  `${d.owner.tenant ?? '-'} ${d.qualifier}: ${d.dbms} ${d.host}:${d.port}/${d.database} schema ${d.schema} as ${d.username}`;

describe('tenant databases: discovery from ENTANDO_TENANTS', () => {
  it('PostgreSQL currentSchema, a separate <t>_cmschema, MariaDB database; shared schemas once', async () => {
    const found = await discover(TENANTS);
    expect(found.problems).to.deep.equal([]);
    expect(found.datasources.map(row)).to.deep.equal([
      `- portdb: postgresql ${SVC}:5432/${PGDB} schema qs_portdb_1 as qs_portdb_1`,
      `t1 t1-db: postgresql ${SVC}:5432/${PGDB} schema t1 as postgres`,
      `t2 t2-db: postgresql ${SVC}:5432/${PGDB} schema t2 as t2user`,
      `t2 t2-dedb: postgresql ${SVC}:5432/${PGDB} schema t2_cmschema as t2user`,
      `t3 t3-db: mysql maria.example.com:3307/t3db schema t3db as t3user`,
    ]);
    expect(found.datasources[1].owner).to.deep.equal({
      kind: 'EntandoApp',
      name: 'qs',
      tenant: 't1',
    });
    expect(found.datasources[2].password).to.equal('t2-pw');
    expect(found.shared).to.deep.equal([
      {
        owner: { kind: 'EntandoApp', name: 'qs', tenant: 't4' },
        qualifier: 't4-db',
        username: 'qs_portdb_1',
        sameAs: 'qs.portdb.sql',
      },
      {
        owner: { kind: 'EntandoApp', name: 'qs', tenant: 't4' },
        qualifier: 't4-dedb',
        username: 'other',
        sameAs: 'qs.t2-db.sql',
      },
    ]);
  });

  it('the manifest entry names the tenant and where the credentials were read, never the password', async () => {
    const found = await discover(TENANTS);
    const t2 = found.datasources.find((d) => d.qualifier === 't2-dedb')!;
    const meta = entryMeta(t2, 'dbms-pod');
    expect(meta.owner).to.deep.equal({ kind: 'EntandoApp', name: 'qs', tenant: 't2' });
    expect(meta.credentials).to.equal(
      'username from Secret entando-tenants-secret key ENTANDO_TENANTS tenant t2 field deDbUsername, password from Secret entando-tenants-secret key ENTANDO_TENANTS tenant t2 field deDbPassword',
    );
    expect(meta.secret).to.equal('entando-tenants-secret');
    expect(JSON.stringify(meta)).to.not.include('t2-pw');
  });

  it('missing fields are problems naming the tenant; no deDbUrl (7.2) is none', async () => {
    const found = await discover([
      { tenantCode: 'a', dbUsername: 'u', dbPassword: 'p' },
      { tenantCode: 'b', dbUrl: pgUrl('b'), dbUsername: 'u' },
      { tenantCode: 'c', dbUrl: pgUrl('c'), dbPassword: 'p', deDbUrl: pgUrl('cm') },
      { tenantCode: 'd', dbUrl: 'jdbc:sqlserver://x:1433', dbUsername: 'u', dbPassword: 'p' },
      { tenantCode: 'e', dbUrl: pgUrl('e'), dbUsername: 'u', dbPassword: '' },
    ]);
    expect(found.problems).to.deep.equal([
      'tenant a: no dbUrl in Secret entando-tenants-secret',
      'tenant b dbUrl: no dbPassword in Secret entando-tenants-secret',
      'tenant c dbUrl: no dbUsername in Secret entando-tenants-secret',
      'tenant c deDbUrl: no deDbUsername or deDbPassword in Secret entando-tenants-secret',
      'tenant d dbUrl: JDBC URL jdbc:sqlserver://x:1433 not understood (PostgreSQL, MySQL, Oracle expected)',
    ]);
    // An empty password is a password.
    expect(found.datasources.map((d) => d.qualifier)).to.deep.equal(['portdb', 'e-db']);
  });

  it('not asked for: the app alone; a JSON that is not an array is a problem', async () => {
    const off = await discover(TENANTS, false);
    expect(off.datasources.map((d) => d.qualifier)).to.deep.equal(['portdb']);
    const kube = new FakeKube([
      app,
      ...primary,
      secret('entando-tenants-secret', { ENTANDO_TENANTS: '{"tenantCode":"x"}' }),
    ]).client;
    const bad = await discoverDatasources(kube, app, { tenants: true });
    expect(bad.problems).to.deep.equal([
      'Secret entando-tenants-secret: ENTANDO_TENANTS is not a JSON array of tenants',
    ]);
  });
});

describe('tenant databases: backup', () => {
  it("a tenant's schema that cannot be reached fails the backup in one line naming the tenant", async () => {
    const service: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'default-postgresql-dbms-in-namespace-service', namespace: NS },
      spec: { selector: { app: 'db' } },
    };
    const kube = new FakeKube([
      { ...app, spec: { dbms: 'none' } },
      service,
      tenantsSecret([TENANTS[0]]),
    ]);
    const manifest = { components: {} } as LoadedArchive['manifest'];
    const quiet = () => undefined;
    const ctx = {
      options: { quiesce: false, parallel: 2, includeIndices: false, keycloak: 'realm' },
      streams: new Limiter(2),
      progress: { add: quiet, finish: quiet, expect: quiet },
      kube: kube.client,
      namespace: NS,
      app: { ...app, spec: { dbms: 'none' } },
      archive: { manifest },
      output: { debug: quiet, progress: quiet },
      signal: new AbortController().signal,
    } as unknown as BackupContext;
    let err: Error | undefined;
    await databasesComponent.backup(ctx).catch((e: Error) => (err = e));
    expect(err?.message).to.equal(
      `databases: tenant t1 (t1-db: postgresql schema t1 on ${SVC}:5432) cannot be dumped: the DBMS service ${NS}/default-postgresql-dbms-in-namespace-service has no running pod (0 pods match its selector): start it, then run again`,
    );
    expect(manifest.components.databases?.datasources).to.deep.equal([]);
  });
});

const mapping: RestoreMapping = {
  sourceNamespace: NS,
  targetNamespace: 'dst',
  namespaceMap: { dbs: 'dbs2' },
};

const meta = (tenant: string, qualifier: string, over: Partial<DatabaseEntryMeta> = {}) =>
  ({
    component: 'databases',
    owner: { kind: 'EntandoApp', name: 'qs', tenant },
    qualifier,
    dbms: 'postgresql',
    database: PGDB,
    schema: tenant,
    username: `${tenant}user`,
    credentials: 'from the JSON',
    secret: 'entando-tenants-secret',
    host: SVC,
    port: 5432,
    location: 'dbms-pod',
    format: 'pg_dump-plain',
    ...over,
  }) as DatabaseEntryMeta;

function archive(): LoadedArchive {
  const entry = (m: DatabaseEntryMeta, size = 2048) => ({
    path: `data/databases/${m.owner.name}.${m.qualifier}.sql`,
    size,
    sha256: '0'.repeat(64),
    meta: m,
  });
  return {
    manifest: {
      source: { namespace: NS, app: 'qs' },
      components: {
        databases: {
          datasources: [],
          embedded: [],
          shared: [
            {
              owner: { kind: 'EntandoApp', name: 'qs', tenant: 't4' },
              qualifier: 't4-db',
              username: 'qs_portdb_1',
              sameAs: 'qs.portdb.sql',
            },
          ],
        },
      },
      entries: [
        entry({ ...meta('x', 'portdb'), owner: { kind: 'EntandoApp', name: 'qs' } }),
        entry(meta('t2', 't2-db')),
        entry(meta('t2', 't2-dedb', { schema: 't2_cmschema' })),
        entry(
          meta('t3', 't3-db', {
            dbms: 'mysql',
            host: 'maria.example.com',
            port: 3307,
            database: 't3db',
            schema: 't3db',
            location: 'client-pod',
            format: 'mysqldump',
          }),
        ),
      ],
    },
    objects: [app, tenantsSecret(TENANTS)],
  } as unknown as LoadedArchive;
}

describe('tenant databases: restore plan', () => {
  it('one step per tenant in tenant-databases, in a scale window of the app after the plugins, into the target DBMS', async () => {
    const steps = await planDatabaseSteps({
      archive: archive(),
      existing: 'fail',
      parallel: 2,
      mapping,
      target: new FakeKube().client,
      results: new Results(),
      windows: new ScaleWindows(),
    });
    const app = steps.find((s) => s.priority === phase('app-databases').priority)!;
    const tenants = steps.filter((s) => s.priority === phase('tenant-databases').priority);
    expect(tenants.map((s) => [s.action, s.group ?? '', s.changes])).to.deep.equal([
      [
        'run',
        'data:EntandoApp/qs#tenants',
        [
          `load t2-db: postgresql schema t2 (2.0 KiB) on default-postgresql-dbms-in-namespace-service.dst.svc.cluster.local, as t2user`,
          `load t2-dedb: postgresql schema t2_cmschema (2.0 KiB) on default-postgresql-dbms-in-namespace-service.dst.svc.cluster.local, as t2user`,
        ],
      ],
      [
        'run',
        'data:EntandoApp/qs#tenants',
        ['load t3-db: mysql database t3db (2.0 KiB) on maria.example.com, as t3user'],
      ],
      ['skip', '', ['t4-db: the schema of qs.portdb.sql, loaded with it (dumped once)']],
    ]);
    expect(tenants[0].reason).to.match(/^tenant t2: in the in-namespace DBMS its user/);
    expect(app.group).to.equal('data:EntandoApp/qs');
    expect(phase('tenant-databases').priority).to.be.above(phase('plugin-databases').priority);
  });

  it('--existing skip with the app in the target: the tenants are left alone too', async () => {
    const steps = await planDatabaseSteps({
      archive: archive(),
      existing: 'skip',
      parallel: 2,
      mapping,
      target: new FakeKube([{ ...app, metadata: { name: 'qs', namespace: 'dst' } }]).client,
      results: new Results(),
      windows: new ScaleWindows(),
    });
    const tenants = steps.filter((s) => s.priority === phase('tenant-databases').priority);
    expect(tenants.map((s) => s.action)).to.deep.equal(['skip', 'skip', 'skip']);
  });

  it("hosts: the source's namespace (and a mapped one) become the target's; others stay", () => {
    expect(targetHost(SVC, mapping)).to.equal(
      'default-postgresql-dbms-in-namespace-service.dst.svc.cluster.local',
    );
    expect(targetHost('db.src', mapping)).to.equal('db.dst');
    expect(targetHost('db.dbs.svc', mapping)).to.equal('db.dbs2.svc');
    expect(targetHost('db.other.svc', mapping)).to.equal('db.other.svc');
    expect(targetHost('db', mapping)).to.equal('db');
    expect(targetHost('db.example.com', mapping)).to.equal('db.example.com');
  });

  it('passwords come from the archived tenants JSON (Secret, or a literal in the recorded env)', async () => {
    const configs = await archivedTenants(archive());
    const t2 = configs.find((t) => t.code === 't2');
    const ds = tenantTarget(meta('t2', 't2-dedb', { schema: 't2_cmschema' }), t2, mapping);
    expect([ds.host, ds.username, ds.password, ds.schema]).to.deep.equal([
      'default-postgresql-dbms-in-namespace-service.dst.svc.cluster.local',
      't2user',
      't2-pw',
      't2_cmschema',
    ]);
    const literal = archive();
    literal.objects = [app];
    (literal.manifest.components as Record<string, unknown>).resources = {
      counts: {},
      objects: [],
      handAddedEnv: [
        {
          qualifier: 'main',
          deployment: 'qs-deployment',
          container: 'server-container',
          env: [{ name: 'ENTANDO_TENANTS', value: JSON.stringify([TENANTS[2]]) }],
          envFrom: [],
        },
      ],
    };
    const fromEnv = await archivedTenants(literal);
    expect(fromEnv.map((t) => [t.code, t.fields.dbPassword])).to.deep.equal([['t3', 't3-pw']]);
    expect(() => tenantTarget(meta('t9', 't9-db'), undefined, mapping)).to.throw(
      'tenant t9: the archive holds no dbPassword for user t9user (ENTANDO_TENANTS not found as at backup, in Secret entando-tenants-secret): its t9-db schema cannot be loaded',
    );
  });
});

const target = (over: Partial<Datasource> = {}): Datasource => ({
  owner: { kind: 'EntandoApp', name: 'qs', tenant: 't2' },
  qualifier: 't2-db',
  dbms: 'postgresql',
  url: '',
  host: 'db',
  port: 5432,
  database: PGDB,
  schema: 't2',
  username: 't2user',
  password: "p'w",
  credentials: '',
  ...over,
});

describe('tenant databases: user and schema in the target', () => {
  it('PostgreSQL: the role made or its password set again, the schema made when missing', () => {
    const sql = ensureTenantSql(target(), 'postgres');
    expect(sql).to.include(`CREATE ROLE "t2user" LOGIN PASSWORD 'p''w';`);
    expect(sql).to.include(`ALTER ROLE "t2user" LOGIN PASSWORD 'p''w';`);
    expect(sql).to.include('CREATE SCHEMA IF NOT EXISTS "t2" AUTHORIZATION "t2user";');
    // The tenant logs in as the admin: no role is touched.
    const self = ensureTenantSql(target({ username: 'postgres' }), 'postgres');
    expect(self).to.not.include('ROLE');
    expect(self).to.include('CREATE SCHEMA IF NOT EXISTS "t2" AUTHORIZATION "postgres";');
  });

  it('MySQL/MariaDB: user, database, grant', () => {
    const sql = ensureTenantSql(
      target({ dbms: 'mysql', schema: 't3db', username: 't3user' }),
      'root',
    );
    expect(sql.split('\n').filter(Boolean)).to.deep.equal([
      "CREATE USER IF NOT EXISTS 't3user'@'%' IDENTIFIED BY 'p''w';",
      "ALTER USER 't3user'@'%' IDENTIFIED BY 'p''w';",
      'CREATE DATABASE IF NOT EXISTS `t3db`;',
      "GRANT ALL PRIVILEGES ON `t3db`.* TO 't3user'@'%';",
    ]);
  });

  it('runs as the DBMS admin (its password by file, not the command line); a failure hides the password', async () => {
    const pods = new FakePodExec((req) =>
      req.command.includes('psql') ? { exitCode: 3, stderr: `ERROR: near 'p''w'\n` } : {},
    );
    const admin = { username: 'postgres', password: 'admin-pw', secret: 'dst/x-admin-secret' };
    let err: Error | undefined;
    await ensureTenantSchema(pods.executor('dst/db-0'), target(), admin, 't2').catch(
      (e: Error) => (err = e),
    );
    const [write, psql] = pods.calls;
    expect(write.stdin).to.include(':postgres:admin-pw');
    expect(psql.command).to.include('--username=postgres');
    expect(psql.command.join(' ')).to.not.include('admin-pw');
    expect(psql.stdin).to.include('CREATE ROLE "t2user"');
    expect(err?.message).to.match(/^tenant t2: making user t2user and schema t2 as postgres/);
    expect(err?.message).to.include('***').and.not.include("p''w");
  });

  it('an external DBMS without the schema or the user: refused in one line naming the tenant', async () => {
    const none = new FakePodExec((req) =>
      req.command.includes('psql') ? { stdout: ['0\n'] } : {},
    );
    let err: Error | undefined;
    await requireTenantSchema(none.executor('dst/c', 'client-pod'), target(), 't2').catch(
      (e: Error) => (err = e),
    );
    expect(err?.message).to.equal(
      `tenant t2: schema t2 does not exist on the external postgresql db:5432/${PGDB}: create it as in the source, then run the restore again (owned by t2user)`,
    );
    const denied = new FakePodExec((req) =>
      req.command.includes('psql')
        ? { exitCode: 2, stderr: 'FATAL: password authentication failed for user "t2user"\n' }
        : {},
    );
    await requireTenantSchema(denied.executor('dst/c', 'client-pod'), target(), 't2').catch(
      (e: Error) => (err = e),
    );
    expect(err?.message).to.match(
      /^tenant t2: user t2user cannot log in to the external postgresql db:5432\//,
    );
    expect(err?.message).to.not.include('\n');
    const there = new FakePodExec((req) =>
      req.command.includes('psql') ? { stdout: ['1\n'] } : {},
    );
    await requireTenantSchema(there.executor('dst/c', 'client-pod'), target(), 't2');
  });
});
