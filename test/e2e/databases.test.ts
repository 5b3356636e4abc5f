import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { run } from '../../src/cli/main.js';
import { ORIGINAL_REPLICAS } from '../../src/kube/scale.js';
import { podExecOk } from '../../src/kube/pod-exec.js';
import { CLIENT_POD_LABEL } from '../../src/components/databases/executor.js';
import { collectState, type State } from '../../sandbox/fixture/statelib.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { Scenario } from '../helpers/scenario.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';

function kubeConfig(context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  kc.setCurrentContext(context);
  return kc;
}

async function state(context: string, namespace: string, app: string): Promise<State> {
  return collectState(kubeConfig(context), { kubeconfig: KUBECONFIG, context, namespace }, app);
}

/** Per datasource and table: rows and content hash (Liquibase's lock table is cleared). */
function tables(s: State): Record<string, Record<string, { rows: number; sha256: string }>> {
  return Object.fromEntries(
    Object.entries(s.databases).map(([k, d]) => [
      k,
      Object.fromEntries(
        Object.entries(d.tables)
          .filter(([, t]) => t.hashed)
          .map(([name, t]) => [name, { rows: t.rows, sha256: t.sha256 }]),
      ),
    ]),
  );
}

/** Every deployment of the namespace at its spec's replicas, ready, and not left annotated. */
async function replicas(context: string, namespace: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of await client(context).list('apps/v1', 'Deployment', namespace)) {
    const spec = (d.spec as { replicas?: number }).replicas ?? 1;
    expect(d.metadata.annotations?.[ORIGINAL_REPLICAS], d.metadata.name).to.equal(undefined);
    out[d.metadata.name] = spec;
  }
  return out;
}

async function allReady(context: string, namespace: string): Promise<void> {
  await waitFor(`deployments of ${namespace} ready`, async () => {
    for (const d of await client(context).list('apps/v1', 'Deployment', namespace)) {
      const want = (d.spec as { replicas?: number }).replicas ?? 1;
      if (((d.status as { readyReplicas?: number })?.readyReplicas ?? 0) < want) return undefined;
    }
    return true;
  });
}

describe('e2e: databases, dumped on sandbox-source and loaded on sandbox-target', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const pgNs = `e2e-db-pg-${suffix}`;
  const myNs = `e2e-db-my-${suffix}`;
  const pgTarget = `e2e-db-pg-r-${suffix}`;
  const myTarget = `e2e-db-my-r-${suffix}`;
  const cutTarget = `e2e-db-cut-${suffix}`;
  const extNs = `e2e-db-ext-${suffix}`;
  const extTarget = `e2e-db-ext-r-${suffix}`;
  const extRole = `ext_portdb_${suffix}`;
  let scenario: Scenario;
  const kube = ['--kubeconfig', KUBECONFIG];
  let tmp: Scenario['tmp'];
  let keyFile: string;
  let pgArchive: string;
  let myArchive: string;
  let pgSource: State;

  /** SQL as the DBMS admin, through the source's in-namespace PostgreSQL pod of pgNs. */
  async function pgAdmin(sql: string): Promise<string> {
    const pods = await client(SOURCE).list(
      'v1',
      'Pod',
      pgNs,
      'entando.org/deployment=default-postgresql-dbms-in-namespace-deployment',
    );
    const chunks: Buffer[] = [];
    const stdout = new PassThrough();
    stdout.on('data', (c: Buffer) => chunks.push(c));
    await podExecOk(
      kubeConfig(SOURCE),
      {
        namespace: pgNs,
        pod: pods[0].metadata.name,
        container: 'db-container',
        command: [
          'psql',
          '-X',
          '-q',
          '-At',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          'default_postgresql_dbms_in_namespace_db',
          '-c',
          sql,
        ],
        stdout,
      },
      'psql',
    );
    return Buffer.concat(chunks).toString().trim();
  }

  before(async () => {
    await requireSandbox();
    scenario = new Scenario();
    tmp = scenario.tmp;
    keyFile = scenario.keyFile;
    pgArchive = path.join(tmp.dir, 'pg.tar.age');
    myArchive = path.join(tmp.dir, 'my.tar.age');
    await Promise.all([
      applyFixture('sandbox/fixtures/default.yaml', SOURCE, pgNs),
      applyFixture('sandbox/fixtures/mysql.yaml', SOURCE, myNs),
    ]);
  });
  after(async () => {
    tmp?.cleanup();
    await pgAdmin(
      `DROP SCHEMA IF EXISTS ${extRole} CASCADE; DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${extRole}') THEN DROP OWNED BY ${extRole}; DROP ROLE ${extRole}; END IF; END $$`,
    ).catch(() => undefined);
    for (const [ctx, ns] of [
      [SOURCE, pgNs],
      [SOURCE, myNs],
      [TARGET, pgTarget],
      [TARGET, myTarget],
      [TARGET, cutTarget],
      [SOURCE, extNs],
      [TARGET, extTarget],
      // Restores keep the repository namespace `<source>-ecr` of default.yaml's third bundle.
      [TARGET, pgNs],
    ]) {
      await deleteNamespace(ctx, ns).catch(() => undefined);
    }
  });

  const backup = (ns: string, file: string, ...extra: string[]) =>
    scenario.backup(SOURCE, ns, file, ['-o', 'json', ...extra]);
  const restore = (file: string, ns: string, host: string, ...extra: string[]) =>
    scenario.restore(file, TARGET, ns, ['--ingress-host', host, ...extra]);

  it('PostgreSQL: dumps every schema (app engine, component manager, plugin) with its facts', async () => {
    const r = await backup(pgNs, pgArchive);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    const found = out.databases.map((d: { qualifier: string }) => d.qualifier).sort();
    expect(found).to.deep.equal(['dedb', 'plugindb', 'portdb', 'servdb']);
    for (const d of out.databases) {
      expect(d.dbms).to.equal('postgresql');
      expect(d.bytes).to.be.greaterThan(10_000);
    }
    const inspect = await runCli(['inspect', pgArchive, '-i', keyFile, '-o', 'json']);
    expect(inspect.code, inspect.stderr).to.equal(0);
    const manifest = JSON.parse(inspect.stdout);
    const manifestText = JSON.stringify(manifest);
    const entries = manifest.entries.filter((e: { path: string }) =>
      e.path.startsWith('data/databases/'),
    );
    expect(entries).to.have.length(4);
    for (const e of entries) {
      expect(e.meta).to.include({
        component: 'databases',
        dbms: 'postgresql',
        location: 'dbms-pod',
      });
      expect(e.meta.schema).to.equal(e.meta.username);
      expect(e.meta.secret).to.match(/-(portdb|servdb|dedb|plugindb)-secret$/);
      expect(e.sha256).to.match(/^[0-9a-f]{64}$/);
    }
    // No password anywhere in the manifest.
    const secret = await client(SOURCE).get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: pgNs,
      name: 'quickstart-portdb-secret',
    });
    const password = Buffer.from((secret!.data as { password: string }).password, 'base64');
    expect(manifestText).to.not.contain(password.toString());
    pgSource = await state(SOURCE, pgNs, 'quickstart');
  });

  it('PostgreSQL: restored into another cluster, namespace and host, every table equal', async () => {
    const before = await replicas(SOURCE, pgNs);
    const r = await restore(pgArchive, pgTarget, `qs-${suffix}.db.sandbox.local`);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    await allReady(TARGET, pgTarget);
    const restored = await state(TARGET, pgTarget, 'quickstart');
    expect(tables(restored)).to.deep.equal(tables(pgSource));
    expect(restored.hashes.databases).to.equal(pgSource.hashes.databases);
    for (const d of Object.values(restored.databases)) {
      expect(d.tables.databasechangeloglock?.rows, 'Liquibase lock cleared').to.equal(0);
    }
    expect(await replicas(TARGET, pgTarget)).to.deep.include(
      Object.fromEntries(Object.entries(before).filter(([n]) => !n.startsWith('default-'))),
    );
    expect(await replicas(SOURCE, pgNs)).to.deep.equal(before);
  });

  it('MySQL: backed up with --quiesce (and scaled back), restored, every table equal', async () => {
    const before = await replicas(SOURCE, myNs);
    const r = await backup(myNs, myArchive, '--quiesce');
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.databases.map((d: { qualifier: string }) => d.qualifier).sort()).to.deep.equal([
      'dedb',
      'plugindb',
      'portdb',
      'servdb',
    ]);
    expect(await replicas(SOURCE, myNs)).to.deep.equal(before);
    await allReady(SOURCE, myNs);
    const source = await state(SOURCE, myNs, 'mysql-app');
    const rr = await restore(myArchive, myTarget, `my-${suffix}.db.sandbox.local`);
    expect(rr.code, rr.stderr + rr.stdout).to.equal(0);
    await allReady(TARGET, myTarget);
    const restored = await state(TARGET, myTarget, 'mysql-app');
    expect(tables(restored)).to.deep.equal(tables(source));
    expect(restored.hashes.databases).to.equal(source.hashes.databases);
    expect(await replicas(TARGET, myTarget)).to.deep.include(
      Object.fromEntries(Object.entries(before).filter(([n]) => !n.startsWith('default-'))),
    );
  });

  it('a dump that fails (the role lost access to its schema) fails the backup with its stderr', async () => {
    const sec = await client(SOURCE).get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: pgNs,
      name: 'quickstart-servdb-secret',
    });
    const schema = Buffer.from((sec!.data as { username: string }).username, 'base64').toString();
    const pods = await client(SOURCE).list(
      'v1',
      'Pod',
      pgNs,
      'entando.org/deployment=default-postgresql-dbms-in-namespace-deployment',
    );
    const psql = (sql: string) =>
      podExecOk(
        kubeConfig(SOURCE),
        {
          namespace: pgNs,
          pod: pods[0].metadata.name,
          container: 'db-container',
          command: [
            'psql',
            '-X',
            '-v',
            'ON_ERROR_STOP=1',
            '-d',
            'default_postgresql_dbms_in_namespace_db',
            '-c',
            sql,
          ],
        },
        'psql',
      );
    await psql(`REVOKE ALL ON SCHEMA ${schema} FROM ${schema}`);
    const file = path.join(tmp.dir, 'failed.tar.age');
    let r: CliRun;
    try {
      r = await backup(pgNs, file);
    } finally {
      await psql(`GRANT ALL ON SCHEMA ${schema} TO ${schema}`);
    }
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`pg_dump of ${schema} failed`);
    expect(r.stderr).to.match(/permission denied for schema/);
    expect(fs.existsSync(file)).to.equal(false);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.endsWith('.partial'))).to.deep.equal([]);
  });

  it('a restore interrupted while loading leaves replicas back; run again with --existing update it converges', async () => {
    const controller = new AbortController();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => out.push(c));
    // Interrupt once the database step has scaled the app down (it then loads the schemas).
    let interrupted = false;
    const watcher = (async () => {
      for (let i = 0; i < 1200 && !interrupted; i++) {
        const d = await client(TARGET)
          .get({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            namespace: cutTarget,
            name: 'quickstart-deployment',
          })
          .catch(() => undefined);
        if (d?.metadata.annotations?.[ORIGINAL_REPLICAS] !== undefined) {
          interrupted = true;
          controller.abort();
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const code = await run(
      [
        'restore',
        pgArchive,
        '-i',
        keyFile,
        ...kube,
        '--to-context',
        TARGET,
        '--to-namespace',
        cutTarget,
        '--ingress-host',
        `cut-${suffix}.db.sandbox.local`,
        // default.yaml's third bundle lives in <ns>-ecr, restored once already (same name).
        '--namespace-map',
        `${pgNs}-ecr=${cutTarget}-ecr`,
        '--yes',
      ],
      { stdout, stderr, env: { PATH: process.env.PATH }, signal: controller.signal },
    );
    interrupted = true;
    await watcher;
    const text = Buffer.concat(out).toString();
    expect(controller.signal.aborted, text).to.equal(true);
    expect(code, text).to.not.equal(0);
    expect(text, text).to.match(/interrupted/);
    // The step scaled back what it had scaled down, before giving up.
    await replicas(TARGET, cutTarget);
    const again = await restore(
      pgArchive,
      cutTarget,
      `cut-${suffix}.db.sandbox.local`,
      '--namespace-map',
      `${pgNs}-ecr=${cutTarget}-ecr`,
      '--existing',
      'update',
    );
    expect(again.code, again.stderr + again.stdout).to.equal(0);
    await allReady(TARGET, cutTarget);
    const restored = await state(TARGET, cutTarget, 'quickstart');
    expect(restored.hashes.databases).to.equal(pgSource.hashes.databases);
    const counts = await replicas(TARGET, cutTarget);
    for (const name of ['quickstart-deployment', 'quickstart-cm-deployment']) {
      expect(counts[name], name).to.equal(1);
    }
  });
  it('external DBMS (dbms none, env vars): dumped and loaded from a short-lived client pod', async () => {
    // The sandbox's "external" server: this cluster's PostgreSQL, reached on 127.0.0.1.
    const dbms = await client(SOURCE).get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: pgNs,
      name: 'default-postgresql-dbms-in-namespace-deployment',
    });
    const env = (
      dbms!.spec as {
        template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
      }
    ).template.spec.containers[0].env;
    const port = env.find((e) => e.name === 'PGPORT')!.value!;
    const password = `Ext:pw"#'\\${suffix}`;
    const literal = `'${password.replace(/'/g, "''")}'`;
    await pgAdmin(
      `CREATE ROLE ${extRole} LOGIN PASSWORD ${literal}; GRANT CONNECT ON DATABASE default_postgresql_dbms_in_namespace_db TO ${extRole}; CREATE SCHEMA ${extRole} AUTHORIZATION ${extRole}; SET ROLE ${extRole}; CREATE TABLE ${extRole}.items AS SELECT g AS id, 'item ' || g AS name FROM generate_series(1, 300) g; CREATE TABLE ${extRole}.databasechangeloglock (id int PRIMARY KEY, locked boolean); INSERT INTO ${extRole}.databasechangeloglock VALUES (1, true)`,
    );
    const source = client(SOURCE);
    await source.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: extNs } });
    await source.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'ext-db', namespace: extNs },
      stringData: { username: extRole, password },
    });
    await source.create({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      // No realm needed here (as the fixtures' --no-keycloak): no Keycloak JVM, and no component
      // manager stand-in whose post-init would deploy its bootstrap bundle in the target too.
      metadata: {
        name: 'ext',
        namespace: extNs,
        annotations: { 'sandbox.entando.org/keycloak': 'none' },
      },
      spec: {
        dbms: 'none',
        ingressHostName: `ext-${suffix}.db.sandbox.local`,
        environmentVariables: [
          {
            name: 'PORTDB_URL',
            value: `jdbc:postgresql://127.0.0.1:${port}/default_postgresql_dbms_in_namespace_db`,
          },
          {
            name: 'PORTDB_USERNAME',
            valueFrom: { secretKeyRef: { name: 'ext-db', key: 'username' } },
          },
          {
            name: 'PORTDB_PASSWORD',
            valueFrom: { secretKeyRef: { name: 'ext-db', key: 'password' } },
          },
        ],
      },
    });
    await waitFor('the external-DBMS app', async () => {
      const app = await source.get({
        apiVersion: 'entando.org/v1',
        kind: 'EntandoApp',
        namespace: extNs,
        name: 'ext',
      });
      return (app?.status as { phase?: string })?.phase === 'successful' ? true : undefined;
    });
    const file = path.join(tmp.dir, 'ext.tar.age');
    const r = await backup(extNs, file);
    expect(r.code, r.stderr).to.equal(0);
    const inspect = JSON.parse(
      (await runCli(['inspect', file, '-i', keyFile, '-o', 'json'])).stdout,
    );
    const entry = inspect.entries.find(
      (e: { path: string }) => e.path === 'data/databases/ext.portdb.sql',
    );
    expect(entry.meta).to.include({
      location: 'client-pod',
      host: '127.0.0.1',
      schema: extRole,
      deployment: 'ext-deployment',
      secret: 'ext-db',
    });
    expect(await source.list('v1', 'Pod', extNs, CLIENT_POD_LABEL)).to.deep.equal([]);
    // Change the data, then restore (the target's client pod reaches the same server).
    await pgAdmin(
      `DELETE FROM ${extRole}.items WHERE id > 100; SET ROLE ${extRole}; CREATE TABLE ${extRole}.junk (x int)`,
    );
    const rr = await restore(file, extTarget, `ext-r-${suffix}.db.sandbox.local`);
    expect(rr.code, rr.stderr + rr.stdout).to.equal(0);
    expect(await pgAdmin(`SELECT count(*), sum(id) FROM ${extRole}.items`)).to.equal('300|45150');
    expect(await pgAdmin(`SELECT to_regclass('${extRole}.junk') IS NULL`)).to.equal('t');
    expect(await pgAdmin(`SELECT count(*) FROM ${extRole}.databasechangeloglock`)).to.equal('0');
    expect(
      await pgAdmin(
        `SELECT tableowner FROM pg_tables WHERE schemaname = '${extRole}' AND tablename = 'items'`,
      ),
    ).to.equal(extRole);
    expect(await client(TARGET).list('v1', 'Pod', extTarget, CLIENT_POD_LABEL)).to.deep.equal([]);
  });
});
