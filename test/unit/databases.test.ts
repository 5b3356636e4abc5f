import { expect } from 'chai';
import type { Writable } from 'node:stream';
import type { KubeObject } from '../../src/kube/object.js';
import {
  discoverDatasources,
  qualifierOf,
  type Datasource,
  type KubeReader,
} from '../../src/components/databases/discovery.js';
import { parseJdbcUrl, serviceOfHost } from '../../src/components/databases/jdbc.js';
import {
  pgDumpCommand,
  psqlCommand,
  withoutCreateSchema,
} from '../../src/components/databases/postgresql.js';
import {
  myPreamble,
  mysqlCommand,
  mysqldumpCommand,
  parseObjectList,
} from '../../src/components/databases/mysql.js';
import { myCnfContent, pgpassContent } from '../../src/components/databases/credentials.js';
import { streamDump } from '../../src/components/databases/dump.js';
import { LOAD_COMPLETE, loadDump } from '../../src/components/databases/load.js';
import { DumpEndCheck } from '../../src/components/databases/dump-end.js';
import type { DbExecutor } from '../../src/components/databases/executor.js';
import { clientPod } from '../../src/components/databases/executor.js';
import { oracleError } from '../../src/components/databases/oracle.js';
import { matchTarget } from '../../src/components/databases/restore.js';
import type { DatabaseEntryMeta } from '../../src/components/databases/index.js';
import { FakeKube, FakePodExec } from '../helpers/fakes.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('databases: JDBC URLs', () => {
  const cases: [string, unknown][] = [
    [
      'jdbc:postgresql://default-postgresql-dbms-in-namespace-service.ns.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db',
      {
        dbms: 'postgresql',
        host: 'default-postgresql-dbms-in-namespace-service.ns.svc.cluster.local',
        port: 5432,
        database: 'default_postgresql_dbms_in_namespace_db',
      },
    ],
    [
      'jdbc:postgresql://db.example.com/entando?currentSchema=qs_portdb&sslmode=require',
      {
        dbms: 'postgresql',
        host: 'db.example.com',
        port: 5432,
        database: 'entando',
        schema: 'qs_portdb',
      },
    ],
    [
      'jdbc:postgresql://h1:5433,h2:5434/db',
      { dbms: 'postgresql', host: 'h1', port: 5433, database: 'db' },
    ],
    [
      'jdbc:postgresql://[::1]:6432/db',
      { dbms: 'postgresql', host: '::1', port: 6432, database: 'db' },
    ],
    [
      'jdbc:mysql://default-mysql-dbms-in-namespace-service.ns.svc.cluster.local:3306/qs_portdb_12345?useSSL=false',
      {
        dbms: 'mysql',
        host: 'default-mysql-dbms-in-namespace-service.ns.svc.cluster.local',
        port: 3306,
        database: 'qs_portdb_12345',
      },
    ],
    [
      'jdbc:mariadb://maria:3307/app',
      { dbms: 'mysql', host: 'maria', port: 3307, database: 'app' },
    ],
    [
      'jdbc:oracle:thin:@//ora.example.com:1521/ORCLPDB1',
      { dbms: 'oracle', host: 'ora.example.com', port: 1521, service: 'ORCLPDB1' },
    ],
    ['jdbc:oracle:thin:@ora:1522:XE', { dbms: 'oracle', host: 'ora', port: 1522, service: 'XE' }],
    [
      'jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora2)(PORT=1523))(CONNECT_DATA=(SERVICE_NAME=pdb)))',
      { dbms: 'oracle', host: 'ora2', port: 1523, service: 'pdb' },
    ],
    [
      'jdbc:derby:/entando-data/databases/entandoPort;create=true',
      { dbms: 'embedded', engine: 'derby' },
    ],
    [
      'jdbc:h2:file:/entando-data/databases/de.db;DB_CLOSE_ON_EXIT=FALSE',
      { dbms: 'embedded', engine: 'h2' },
    ],
    ['jdbc:sqlserver://x:1433;databaseName=y', undefined],
    ['not a url', undefined],
  ];
  for (const [url, want] of cases) {
    it(url, () => expect(parseJdbcUrl(url)).to.deep.equal(want));
  }

  const hosts: [string, unknown][] = [
    ['svc', { name: 'svc', namespace: 'app-ns' }],
    ['svc.other', { name: 'svc', namespace: 'other' }],
    ['svc.other.svc', { name: 'svc', namespace: 'other' }],
    ['svc.other.svc.cluster.local', { name: 'svc', namespace: 'other' }],
    ['db.example.com', undefined],
    ['10.0.0.7', undefined],
    ['::1', undefined],
  ];
  for (const [host, want] of hosts) {
    it(`host ${host} as a Service`, () =>
      expect(serviceOfHost(host, 'app-ns')).to.deep.equal(want));
  }
});

/** A cluster of plain objects for discovery. */
function fakeKube(objects: KubeObject[]): KubeReader {
  return new FakeKube(objects).client;
}

const NS = 'ent';
const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const deployment = (name: string, env: unknown[]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: { template: { spec: { containers: [{ name: 'c', env }] } } },
});
const fromSecret = (name: string, secretName: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: secretName, key } },
});
const cr = (
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  servers: Record<string, string> = {},
): KubeObject => ({
  apiVersion: 'entando.org/v1',
  kind,
  metadata: { name, namespace: NS },
  spec,
  status: {
    serverStatuses: Object.fromEntries(
      Object.entries(servers).map(([q, d]) => [q, { deploymentName: d }]),
    ),
  },
});
const link = (app: string, plugin: string): KubeObject => ({
  apiVersion: 'entando.org/v1',
  kind: 'EntandoAppPluginLink',
  metadata: { name: `${app}-${plugin}-link`, namespace: NS },
  spec: { entandoAppName: app, entandoPluginName: plugin },
});
const PG = `jdbc:postgresql://default-postgresql-dbms-in-namespace-service.${NS}.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db`;
const dsEnv = (prefix: string, url: string, secretName: string) => [
  { name: `${prefix}_URL`, value: url },
  fromSecret(`${prefix}_USERNAME`, secretName, 'username'),
  fromSecret(`${prefix}_PASSWORD`, secretName, 'password'),
];

/** A PostgreSQL app (as the operator makes it) with one plugin. */
function pgApp(): KubeObject[] {
  return [
    cr(
      'EntandoApp',
      'qs',
      { dbms: 'postgresql' },
      {
        main: 'qs-deployment',
        cm: 'qs-cm-deployment',
        ab: 'qs-ab-deployment',
        db: 'default-postgresql-dbms-in-namespace-deployment',
      },
    ),
    deployment('qs-deployment', [
      ...dsEnv('PORTDB', PG, 'qs-portdb-secret'),
      ...dsEnv('SERVDB', PG, 'qs-servdb-secret'),
      { name: 'KEYCLOAK_REALM', value: 'entando' },
    ]),
    deployment('qs-cm-deployment', dsEnv('SPRING_DATASOURCE', PG, 'qs-dedb-secret')),
    deployment('qs-ab-deployment', [{ name: 'DOMAIN', value: '/entando-de-app' }]),
    deployment('default-postgresql-dbms-in-namespace-deployment', [
      { name: 'PGPASSWORD', value: 'admin' },
    ]),
    secret('qs-portdb-secret', { username: 'qs_portdb_11111', password: 'p1' }),
    secret('qs-servdb-secret', { username: 'qs_servdb_22222', password: 'p2' }),
    secret('qs-dedb-secret', { username: 'qs_dedb_33333', password: 'p3' }),
    cr('EntandoPlugin', 'pn-1-2-ms', { dbms: 'postgresql' }, { main: 'pn-1-2-ms-deployment' }),
    deployment('pn-1-2-ms-deployment', dsEnv('SPRING_DATASOURCE', PG, 'pn-1-2-ms-plugindb-secret')),
    secret('pn-1-2-ms-plugindb-secret', { username: 'pn_1_2_ms_plugindb_44444', password: 'p4' }),
    link('qs', 'pn-1-2-ms'),
  ];
}

type Row = Pick<
  Datasource,
  'qualifier' | 'dbms' | 'schema' | 'username' | 'host' | 'port' | 'database'
> & {
  owner: string;
};
const rows = (ds: Datasource[]): Row[] =>
  ds.map((d) => ({
    owner: d.owner.name,
    qualifier: d.qualifier,
    dbms: d.dbms,
    schema: d.schema,
    username: d.username,
    host: d.host,
    port: d.port,
    database: d.database,
  }));
const appOf = (objects: KubeObject[]) => objects.find((o) => o.kind === 'EntandoApp')!;

describe('databases: discovery', () => {
  it('PostgreSQL app and plugin: from the deployments env and their secrets, not from names', async () => {
    const objects = pgApp();
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(found.problems).to.deep.equal([]);
    const host = `default-postgresql-dbms-in-namespace-service.${NS}.svc.cluster.local`;
    const db = 'default_postgresql_dbms_in_namespace_db';
    expect(rows(found.datasources)).to.deep.equal([
      {
        owner: 'qs',
        qualifier: 'portdb',
        dbms: 'postgresql',
        schema: 'qs_portdb_11111',
        username: 'qs_portdb_11111',
        host,
        port: 5432,
        database: db,
      },
      {
        owner: 'qs',
        qualifier: 'servdb',
        dbms: 'postgresql',
        schema: 'qs_servdb_22222',
        username: 'qs_servdb_22222',
        host,
        port: 5432,
        database: db,
      },
      {
        owner: 'qs',
        qualifier: 'dedb',
        dbms: 'postgresql',
        schema: 'qs_dedb_33333',
        username: 'qs_dedb_33333',
        host,
        port: 5432,
        database: db,
      },
      {
        owner: 'pn-1-2-ms',
        qualifier: 'plugindb',
        dbms: 'postgresql',
        schema: 'pn_1_2_ms_plugindb_44444',
        username: 'pn_1_2_ms_plugindb_44444',
        host,
        port: 5432,
        database: db,
      },
    ]);
    expect(found.datasources[0].password).to.equal('p1');
    expect(found.datasources[0].secretName).to.equal('qs-portdb-secret');
    expect(found.datasources[2].deployment).to.equal('qs-cm-deployment');
  });

  it('secrets with other names than the convention are followed (the env is the truth)', async () => {
    const objects = pgApp().map((o) =>
      o.metadata.name === 'qs-deployment'
        ? deployment('qs-deployment', [
            ...dsEnv('PORTDB', PG, 'custom-db'),
            ...dsEnv('SERVDB', PG, 'custom-db'),
          ])
        : o,
    );
    objects.push(secret('custom-db', { username: 'someone', password: 'x' }));
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(
      found.datasources.filter((d) => d.owner.name === 'qs').map((d) => d.username),
    ).to.deep.equal(['someone', 'someone', 'qs_dedb_33333']);
  });

  it('dbms none: an external DBMS from the CR environmentVariables, literal or from a secret', async () => {
    const url = 'jdbc:mysql://mysql.example.com:3307/ext_port';
    const objects: KubeObject[] = [
      cr('EntandoApp', 'ext', {
        dbms: 'none',
        environmentVariables: [
          { name: 'PORTDB_URL', value: url },
          { name: 'PORTDB_USERNAME', value: 'ext_user' },
          fromSecret('PORTDB_PASSWORD', 'ext-db', 'pw'),
          { name: 'SERVDB_URL', value: 'jdbc:mysql://mysql.example.com:3307/ext_serv' },
          {
            name: 'SERVDB_USERNAME',
            valueFrom: { configMapKeyRef: { name: 'ext-cfg', key: 'user' } },
          },
          { name: 'SERVDB_PASSWORD', value: 'literal' },
        ],
      }),
      secret('ext-db', { pw: 'secret-pw' }),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'ext-cfg', namespace: NS },
        data: { user: 'serv_user' },
      },
    ];
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(found.problems).to.deep.equal([]);
    expect(rows(found.datasources)).to.deep.equal([
      {
        owner: 'ext',
        qualifier: 'portdb',
        dbms: 'mysql',
        schema: 'ext_port',
        username: 'ext_user',
        host: 'mysql.example.com',
        port: 3307,
        database: 'ext_port',
      },
      {
        owner: 'ext',
        qualifier: 'servdb',
        dbms: 'mysql',
        schema: 'ext_serv',
        username: 'serv_user',
        host: 'mysql.example.com',
        port: 3307,
        database: 'ext_serv',
      },
    ]);
    expect(found.datasources.map((d) => d.password)).to.deep.equal(['secret-pw', 'literal']);
    expect(found.datasources[1].credentials).to.equal(
      'username from configmap ext-cfg key user, password from env SERVDB value',
    );
  });

  it('embedded (Derby, H2) datasources are listed for the files component, not dumped', async () => {
    const objects: KubeObject[] = [
      cr('EntandoApp', 'emb', {}, { main: 'emb-deployment', cm: 'emb-cm-deployment' }),
      deployment('emb-deployment', [
        { name: 'PORTDB_URL', value: 'jdbc:derby:/entando-data/databases/entandoPort;create=true' },
        { name: 'SERVDB_URL', value: 'jdbc:derby:/entando-data/databases/entandoServ;create=true' },
      ]),
      deployment('emb-cm-deployment', [
        { name: 'SPRING_DATASOURCE_URL', value: 'jdbc:h2:file:/entando-data/databases/de.db' },
      ]),
    ];
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(found.datasources).to.deep.equal([]);
    expect(found.embedded.map((e) => `${e.qualifier}:${e.engine}`)).to.deep.equal([
      'portdb:derby',
      'servdb:derby',
      'dedb:h2',
    ]);
  });

  it('a missing secret or an unreadable URL is a problem, never a silent skip', async () => {
    const objects = pgApp().filter(
      (o) => o.metadata.name !== 'qs-servdb-secret' && o.metadata.name !== 'pn-1-2-ms-deployment',
    );
    objects.push(
      deployment('pn-1-2-ms-deployment', [
        { name: 'SPRING_DATASOURCE_URL', value: 'jdbc:db2://x/y' },
      ]),
    );
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(found.problems).to.have.length(2);
    expect(found.problems.join('\n')).to.contain(
      'EntandoApp qs servdb: secret qs-servdb-secret not found',
    );
    expect(found.problems.join('\n')).to.contain('JDBC URL jdbc:db2://x/y not understood');
  });

  it('no deployment env (not generated yet): the conventional secret of a postgresql/mysql CR', async () => {
    const objects = pgApp().filter((o) => o.kind !== 'Deployment');
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(found.problems).to.deep.equal([]);
    expect(found.datasources.map((d) => `${d.qualifier}:${d.username}`)).to.deep.equal([
      'portdb:qs_portdb_11111',
      'servdb:qs_servdb_22222',
      'dedb:qs_dedb_33333',
      'plugindb:pn_1_2_ms_plugindb_44444',
    ]);
    expect(found.datasources[0].credentials).to.contain('conventional secret name');
  });

  it("Keycloak's database is not dumped, even in the app's DBMS (the realm is carried instead)", async () => {
    const objects = [
      ...pgApp(),
      cr(
        'EntandoKeycloakServer',
        'default-sso-in-namespace',
        { dbms: 'postgresql' },
        {
          server: 'default-sso-in-namespace-deployment',
        },
      ),
      deployment('default-sso-in-namespace-deployment', [
        { name: 'DB_VENDOR', value: 'postgres' },
        {
          name: 'DB_ADDR',
          value: `default-postgresql-dbms-in-namespace-service.${NS}.svc.cluster.local`,
        },
        { name: 'DB_PORT', value: '5432' },
        { name: 'DB_DATABASE', value: 'default_postgresql_dbms_in_namespace_db' },
        { name: 'DB_SCHEMA', value: 'kc_schema' },
        fromSecret('DB_USER', 'kc-db', 'username'),
        fromSecret('DB_PASSWORD', 'kc-db', 'password'),
      ]),
      secret('kc-db', { username: 'kc_user', password: 'kc' }),
    ];
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(found.datasources.map((d) => d.owner.kind)).not.to.include('EntandoKeycloakServer');
    expect(found.datasources.map((d) => d.qualifier).sort()).to.deep.equal([
      'dedb',
      'plugindb',
      'portdb',
      'servdb',
    ]);
  });

  it('Oracle datasources are found, and the backup refuses them naming the schemas', async () => {
    const objects: KubeObject[] = [
      cr('EntandoApp', 'ora', {
        dbms: 'none',
        environmentVariables: [
          { name: 'PORTDB_URL', value: 'jdbc:oracle:thin:@//ora:1521/PDB' },
          { name: 'PORTDB_USERNAME', value: 'qs_port' },
          { name: 'PORTDB_PASSWORD', value: 'x' },
        ],
      }),
    ];
    const found = await discoverDatasources(fakeKube(objects), appOf(objects));
    expect(rows(found.datasources)[0]).to.include({
      dbms: 'oracle',
      schema: 'QS_PORT',
      database: 'PDB',
    });
    const err = oracleError(found.datasources);
    expect(err.message).to.contain('schema QS_PORT on ora:1521/PDB');
    expect(err.message).to.contain('expdp SCHEMAS=QS_PORT');
  });

  const qualifiers: [string, string, string][] = [
    ['EntandoApp', 'PORTDB', 'portdb'],
    ['EntandoApp', 'SERVDB', 'servdb'],
    ['EntandoApp', 'SPRING_DATASOURCE', 'dedb'],
    ['EntandoPlugin', 'SPRING_DATASOURCE', 'plugindb'],
    ['EntandoKeycloakServer', 'DB', 'kcdb'],
  ];
  for (const [kind, prefix, q] of qualifiers) {
    it(`${kind} ${prefix}_* is ${q}`, () => expect(qualifierOf(kind, prefix)).to.equal(q));
  }
});

const PASSWORD = 'S3cr:t\\pa"ss#word';
const ds = (dbms: 'postgresql' | 'mysql', extra: Partial<Datasource> = {}): Datasource => ({
  owner: { kind: 'EntandoApp', name: 'qs' },
  qualifier: 'portdb',
  dbms,
  url: 'jdbc:x',
  host: 'db.example.com',
  port: dbms === 'postgresql' ? 5432 : 3306,
  database: dbms === 'postgresql' ? 'entando' : 'qs_portdb_1',
  schema: 'qs_portdb_1',
  username: 'qs_portdb_1',
  password: PASSWORD,
  credentials: 'test',
  ...extra,
});

describe('databases: commands', () => {
  const commands: [string, string[]][] = [
    ['pg_dump in the DBMS pod', pgDumpCommand(ds('postgresql'), '/tmp/d', false)],
    ['pg_dump from a client pod', pgDumpCommand(ds('postgresql'), '/tmp/d', true)],
    ['psql', psqlCommand(ds('postgresql'), '/tmp/d', true)],
    ['mysqldump', mysqldumpCommand(ds('mysql'), '/tmp/d', false)],
    ['mysql', mysqlCommand(ds('mysql'), '/tmp/d', true)],
  ];
  for (const [what, argv] of commands) {
    it(`${what}: no password in the command line`, () => {
      expect(argv.join(' ')).to.not.contain(PASSWORD);
      expect(argv.join(' ')).to.not.contain('S3cr');
      expect(argv.slice(0, 2)).to.deep.equal(['sh', '-c']);
      expect(argv[4]).to.equal('/tmp/d');
    });
  }

  it('pg_dump: the schema, plain SQL, no owner, no grants; host only from a client pod', () => {
    const local = pgDumpCommand(ds('postgresql'), '/tmp/d', false).slice(5);
    expect(local).to.deep.equal([
      'pg_dump',
      '--username=qs_portdb_1',
      '--dbname=entando',
      '--no-password',
      '--schema=qs_portdb_1',
      '--format=plain',
      '--encoding=UTF8',
      '--no-owner',
      '--no-privileges',
    ]);
    const remote = pgDumpCommand(ds('postgresql'), '/tmp/d', true);
    expect(remote).to.include.members(['--host=db.example.com', '--port=5432']);
    const script = remote[2];
    expect(script).to.contain('unset PGPASSWORD');
    expect(script).to.contain('PGPASSFILE=$d/credentials');
    expect(script).to.contain('trap \'rm -rf -- "$d"\' EXIT');
  });

  it('mysqldump: one consistent snapshot with routines, triggers and events', () => {
    const argv = mysqldumpCommand(ds('mysql'), '/tmp/d', false);
    expect(argv.slice(5)).to.deep.equal([
      'dump',
      '--single-transaction',
      '--routines',
      '--triggers',
      '--events',
      '--no-tablespaces',
      '--hex-blob',
      '--default-character-set=utf8mb4',
      '--',
      'qs_portdb_1',
    ]);
    expect(argv[2]).to.contain('--defaults-extra-file="$d/credentials"');
    expect(argv[2]).to.contain('unset MYSQL_PWD');
    expect(mysqlCommand(ds('mysql'), '/tmp/d', true)).to.include.members([
      '--host=db.example.com',
      '--port=3306',
      '--database=qs_portdb_1',
    ]);
  });

  it('credential files escape what their formats need', () => {
    expect(pgpassContent('u:1', PASSWORD)).to.equal('*:*:*:u\\:1:S3cr\\:t\\\\pa"ss#word\n');
    expect(() => pgpassContent('u', 'a\nb')).to.throw(/line break/);
    expect(myCnfContent('u', PASSWORD)).to.equal(
      '[client]\nuser="u"\npassword="S3cr:t\\\\pa"ss#word"\n',
    );
  });

  it('the client pod: sleeps, no service account token, dies by itself', () => {
    const pod = clientPod('ns', 'qs-db-client-abc', 'postgres:16-alpine');
    expect(pod.spec).to.deep.include({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
    });
    expect((pod.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds).to.be.greaterThan(
      0,
    );
  });

  it('MySQL: what the database holds is dropped before the load', () => {
    const objects = parseObjectList(
      'VIEW\tv1\nTABLE\tpages\nTABLE\tweird\\tname\nPROCEDURE\tp\nFUNCTION\tf\nEVENT\te\n',
    );
    expect(objects[2]).to.deep.equal({ kind: 'TABLE', name: 'weird\tname' });
    expect(myPreamble(objects)).to.equal(
      [
        'SET FOREIGN_KEY_CHECKS = 0;',
        'DROP VIEW IF EXISTS `v1`;',
        'DROP TABLE IF EXISTS `pages`, `weird\tname`;',
        'DROP PROCEDURE IF EXISTS `p`;',
        'DROP FUNCTION IF EXISTS `f`;',
        'DROP EVENT IF EXISTS `e`;',
        '',
      ].join('\n'),
    );
    expect(myPreamble([])).to.equal('SET FOREIGN_KEY_CHECKS = 0;\n');
  });
});

async function collect(source: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function* chunked(text: string, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe("databases: the dump's CREATE SCHEMA is left out at load", () => {
  const dump = [
    '--',
    '\\restrict abc',
    "SET client_encoding = 'UTF8';",
    '',
    'CREATE SCHEMA qs_portdb_1;',
    '',
    'CREATE TABLE qs_portdb_1.t (id integer, note text);',
    'COPY qs_portdb_1.t (id, note) FROM stdin;',
    '1\tCREATE SCHEMA qs_portdb_1;',
    '2\té unicode',
    '\\.',
    '',
  ].join('\n');
  const expected = dump.replace('\nCREATE SCHEMA qs_portdb_1;\n', '\n');
  for (const size of [1, 3, 7, 64, 100_000]) {
    it(`chunks of ${size} bytes`, async () => {
      expect(await collect(withoutCreateSchema(chunked(dump, size), 'qs_portdb_1'))).to.equal(
        expected,
      );
    });
  }
  it('a quoted schema name', async () => {
    const quoted = dump.replace('CREATE SCHEMA qs_portdb_1;\n\n', 'CREATE SCHEMA "Qs-1";\n\n');
    const out = await collect(withoutCreateSchema(chunked(quoted, 5), 'Qs-1'));
    expect(out).to.not.contain('CREATE SCHEMA "Qs-1"');
  });
  it('only in the prologue: a later identical line (data) is kept', async () => {
    const late = dump.replace('\nCREATE SCHEMA qs_portdb_1;\n', '\n');
    expect(await collect(withoutCreateSchema(chunked(late, 4), 'qs_portdb_1'))).to.equal(late);
  });
});

/** How pg_dump (15.14, 16.10, 17.6 and later) ends a whole dump. */
const PG_END = '--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict Zq9XfUu2nZb0\n\n';

/** An executor that writes `output` to stdout, then ends with `exitCode` (or throws). */
function fakeExecutor(
  output: string[],
  end: { exitCode?: number; stderr?: string; throws?: Error },
): DbExecutor & { commands: string[][]; stdins: string[] } {
  // The credentials' own execs (written, removed) succeed quietly.
  const fake = new FakePodExec((req) =>
    req.command[0] === 'rm' || req.command[2]?.startsWith('umask')
      ? {}
      : { stdout: output, ...end },
  );
  return {
    ...fake.executor(),
    get commands() {
      return fake.calls.map((c) => c.command);
    },
    get stdins() {
      return fake.calls.flatMap((c) => (c.stdin === undefined ? [] : [c.stdin]));
    },
  };
}

describe('databases: a dump streams into the archive only if its command succeeded', () => {
  it('exit 0: the consumer gets every byte; credentials written by stdin and removed', async () => {
    const exec = fakeExecutor(['abc', 'def', PG_END], { exitCode: 0 });
    let bytes = 0;
    const got = await streamDump(exec, ds('postgresql'), collect, { onBytes: (n) => (bytes += n) });
    expect(got).to.equal(`abcdef${PG_END}`);
    expect(bytes).to.equal(6 + PG_END.length);
    expect(exec.stdins).to.deep.equal([
      `*:*:*:qs_portdb_1:${PASSWORD.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`,
    ]);
    expect(exec.commands[0][2]).to.match(/^umask 077 && mkdir/);
    expect(exec.commands.at(-1)![0]).to.equal('rm');
    for (const c of exec.commands) expect(c.join(' ')).to.not.contain('S3cr');
  });

  it('a non-zero exit after bytes were streamed fails with the stderr, and the stream errors', async () => {
    const exec = fakeExecutor(['-- partial dump\n', 'CREATE TABLE'], {
      exitCode: 1,
      stderr: 'pg_dump: error: connection lost\n',
    });
    let consumerError: Error | undefined;
    const err = await streamDump(exec, ds('postgresql'), async (s) => {
      try {
        return await collect(s);
      } catch (e) {
        consumerError = e as Error;
        throw e;
      }
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal(
      'pg_dump of qs_portdb_1 failed in pod ns/db (exit code 1): pg_dump: error: connection lost',
    );
    expect(consumerError, 'the archive entry is never completed').to.not.equal(undefined);
    expect(exec.commands.at(-1)![0]).to.equal('rm');
  });

  it('exit 0 but the stream was cut before the closing line: fails, the archive entry never completed', async () => {
    for (const [dbms, output] of [
      ['postgresql', ['-- dump\n', 'COPY t (a) FROM stdin;\n1\n2\n']],
      ['postgresql', ['-- dump\n', PG_END.slice(0, 30)]],
      ['mysql', ['-- MySQL dump\n', 'INSERT INTO t VALUES (1);\n']],
    ] as const) {
      let consumerError: Error | undefined;
      const err = await streamDump(
        fakeExecutor([...output], { exitCode: 0 }),
        ds(dbms),
        async (s) => {
          try {
            return await collect(s);
          } catch (e) {
            consumerError = e as Error;
            throw e;
          }
        },
      ).catch((e: Error) => e);
      expect((err as Error).message, dbms).to.match(
        /of qs_portdb_1 in pod ns\/db: the dump ends without its closing "-- (PostgreSQL database dump complete|Dump completed)" line \(after \d+ bytes\); the exec stream was cut short .*kubernetes\/kubernetes#124571.*run the backup again$/,
      );
      expect(consumerError, 'the archive entry is never completed').to.not.equal(undefined);
    }
  });

  it("the closing lines pg_dump, mysqldump and mariadb-dump write are a whole dump's", () => {
    const whole: ['postgresql' | 'mysql', string][] = [
      ['postgresql', PG_END],
      ['postgresql', '--\n-- PostgreSQL database dump complete\n--\n\n'],
      ['mysql', '-- Dump completed on 2026-12-02 10:00:00\n'],
      ['mysql', '-- Dump completed on 2026-12-02  4:38:00\n\n'],
      ['mysql', '-- Dump completed\n'],
    ];
    for (const [dbms, end] of whole) {
      const c = new DumpEndCheck(dbms);
      for (const ch of `SELECT 1;\n${end}`) c.see(Buffer.from(ch));
      expect(c.problem(), JSON.stringify(end)).to.equal(undefined);
    }
    const c = new DumpEndCheck('postgresql');
    c.see(Buffer.from(`${PG_END}CREATE TABLE t (a int);\n`));
    expect(c.problem(), 'more SQL after the closing line').to.be.a('string');
  });

  it('an exec that fails (no exit status) fails the dump', async () => {
    const exec = fakeExecutor(['x'], { throws: new Error('exec ended without an exit status') });
    const err = await streamDump(exec, ds('mysql'), collect).catch((e: Error) => e);
    expect((err as Error).message).to.contain('exec ended without an exit status');
  });

  it('a consumer that gives up stops the command (its own error is reported)', async () => {
    const big = Array.from({ length: 200 }, () => 'x'.repeat(64 * 1024));
    const exec: DbExecutor = {
      where: 'pod ns/db',
      kind: 'dbms-pod',
      async exec(command, io) {
        if (command[0] === 'rm' || command[2]?.startsWith('umask'))
          return { exitCode: 0, stderr: '' };
        const stdout = io.stdout as Writable;
        for (const chunk of big) {
          if (io.signal?.aborted) throw new Error('interrupted');
          if (!stdout.write(chunk)) {
            await new Promise<void>((resolve) => {
              stdout.once('drain', () => resolve());
              io.signal?.addEventListener('abort', () => resolve(), { once: true });
            });
          }
        }
        stdout.end();
        return { exitCode: 0, stderr: '' };
      },
    };
    const err = await streamDump(exec, ds('mysql'), async (s) => {
      for await (const chunk of s) if (chunk) throw new Error('archive full');
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal('archive full');
  });
});

describe('databases: a load counts only if the client read its input to the end', () => {
  async function* dumpOf(text: string): AsyncGenerator<Buffer> {
    yield Buffer.from(text);
  }
  for (const dbms of ['postgresql', 'mysql'] as const) {
    it(`${dbms}: the client printed the closing marker after the last statement`, async () => {
      const exec = fakeExecutor([`${LOAD_COMPLETE}\n`], { exitCode: 0 });
      await loadDump(exec, ds(dbms), dumpOf('CREATE TABLE t (a int);\n'));
      const stdin = exec.stdins.at(-1)!;
      expect(stdin).to.contain('CREATE TABLE t (a int);');
      expect(stdin.trimEnd().split('\n').at(-1)).to.equal(
        dbms === 'postgresql' ? `\\echo '${LOAD_COMPLETE}'` : `SELECT '${LOAD_COMPLETE}';`,
      );
    });

    it(`${dbms}: exit 0 without the marker (input cut short) fails the load`, async () => {
      const err = await loadDump(
        fakeExecutor([], { exitCode: 0 }),
        ds(dbms),
        dumpOf('CREATE TABLE t (a int);\n'),
      ).catch((e: Error) => e);
      expect((err as Error).message).to.match(
        dbms === 'postgresql'
          ? /^psql loading schema qs_portdb_1 in pod ns\/db: the client exited 0 before the load's last statement .*nothing of it was committed\): run the same restore with --existing update$/
          : /^mysql loading database qs_portdb_1 in pod ns\/db: the client exited 0 before the load's last statement .*the database is partly loaded\): run the same restore with --existing update$/,
      );
    });
  }
});

describe('databases: restore matches archived datasources to the target', () => {
  const meta: DatabaseEntryMeta = {
    component: 'databases',
    owner: { kind: 'EntandoApp', name: 'qs' },
    qualifier: 'portdb',
    dbms: 'postgresql',
    database: 'entando',
    schema: 'qs_portdb_1',
    username: 'qs_portdb_1',
    secret: 'qs-portdb-secret',
    credentials: 'x',
    host: 'h',
    port: 5432,
    location: 'dbms-pod',
    format: 'pg_dump-plain',
  };
  const ref = { apiVersion: 'entando.org/v1', kind: 'EntandoApp', namespace: 'n', name: 'qs' };
  it('same qualifier, DBMS and user', () => {
    expect(matchTarget(meta, [ds('postgresql')], ref).schema).to.equal('qs_portdb_1');
  });
  const bad: [string, Datasource[], RegExp][] = [
    ['no such datasource', [ds('postgresql', { qualifier: 'servdb' })], /has no portdb datasource/],
    ['another DBMS', [ds('mysql')], /archived from postgresql, the target uses mysql/],
    [
      'another user (secret not restored)',
      [ds('postgresql', { username: 'qs_portdb_9', schema: 'qs_portdb_9' })],
      /target uses user qs_portdb_9 .* restore the credential secret qs-portdb-secret/,
    ],
  ];
  for (const [what, targets, message] of bad) {
    it(what, () => expect(() => matchTarget(meta, targets, ref)).to.throw(message));
  }
});
