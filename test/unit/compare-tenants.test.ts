import { expect } from 'chai';
import path from 'node:path';
import { newManifest } from '../../src/archive/manifest.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { decryptionKeys } from '../../src/archive/encryption.js';
import type { DatabaseEntryMeta, FilesEntryMeta } from '../../src/contract/manifest.js';
import { tenantDatasources } from '../../src/components/databases/tenants.js';
import { parseTenants } from '../../src/entando/tenants.js';
import { archiveTables, archiveTrees } from '../../src/compare/archive-side.js';
import { cdsTreeKey } from '../../src/compare/cds-trees.js';
import { compareTrees, type FileEntry } from '../../src/compare/files.js';
import { compareRealms } from '../../src/compare/keycloak.js';
import { compareTables, type DatasourceState } from '../../src/compare/tables.js';
import { realmsOfEither, tenantRealmLabel } from '../../src/compare/tenant-realms.js';
import { archivedTenantsOnly, datasourceKey } from '../../src/compare/tenant-schemas.js';
import type { KubeObject } from '../../src/kube/object.js';
import { tarOf } from '../helpers/files-tar.js';
import { tempDir } from '../helpers/tmp.js';

const app: KubeObject = {
  apiVersion: 'entando.org/v1',
  kind: 'EntandoApp',
  metadata: { name: 'qs', namespace: 'qs2' },
};

/** The live JSON after a restore into qs2: hosts rewritten to the target namespace. */
const liveJson = JSON.stringify([
  {
    tenantCode: 't1',
    dbUrl:
      'jdbc:postgresql://default-postgresql-dbms-in-namespace-service.qs2.svc.cluster.local:5432/db?currentSchema=t1',
    dbUsername: 'postgres',
    dbPassword: 'pw',
    deDbUrl:
      'jdbc:postgresql://default-postgresql-dbms-in-namespace-service.qs2.svc.cluster.local:5432/db?currentSchema=t1_cm',
    deDbUsername: 't1_cm',
    deDbPassword: 'pw2',
  },
]);

const dbMeta = (tenant: string, qualifier: string, schema: string): DatabaseEntryMeta => ({
  component: 'databases',
  owner: { kind: 'EntandoApp', name: 'qs', tenant },
  qualifier,
  dbms: 'postgresql',
  database: 'db',
  schema,
  username: 'postgres',
  credentials: 'x',
  // The source's namespace: compare must not match by it.
  host: 'default-postgresql-dbms-in-namespace-service.qs.svc.cluster.local',
  port: 5432,
  location: 'dbms-pod',
  format: 'pg_dump-plain',
});

const cdsMeta = (dir: string): FilesEntryMeta => ({
  component: 'files',
  owner: { kind: 'Deployment', name: 't1-cds-deployment', tenant: 't1' },
  qualifier: 'cds',
  deployment: 't1-cds-deployment',
  container: 'cds',
  claimName: 't1-cds-pvc',
  mountPath: '/entando-data',
  dir,
  embedded: false,
  via: 'volume-pod',
  format: 'tar',
  cds: { namespace: 'qs', service: 't1-cds-service', tenants: ['t1'] },
});

const file = (data: string, sha256: string): FileEntry => ({
  type: 'file',
  mode: 0o644,
  size: data.length,
  sha256,
});

describe('compare: secondary tenants', () => {
  it("keys a tenant's schema by its code and JSON field, the app's by owner and qualifier", () => {
    expect(datasourceKey({ kind: 'EntandoApp', name: 'qs' }, 'portdb')).to.equal('qs portdb');
    expect(datasourceKey({ kind: 'EntandoApp', name: 'qs', tenant: 't1' }, 't1-db')).to.equal(
      'tenant t1 dbUrl',
    );
    expect(datasourceKey({ kind: 'EntandoApp', name: 'qs', tenant: 't1' }, 't1-dedb')).to.equal(
      'tenant t1 deDbUrl',
    );
  });

  it('sets only the tenants the archive holds schemas of beside it', () => {
    const live = [
      { key: 'qs portdb' },
      { key: 'tenant t1 dbUrl', tenant: 't1' },
      { key: 'tenant t2 dbUrl', tenant: 't2' },
    ];
    expect(
      archivedTenantsOnly(live, [{ tenant: undefined }, { tenant: 't1' }]).map((d) => d.key),
    ).to.deep.equal(['qs portdb', 'tenant t1 dbUrl']);
  });

  describe('with an archive', () => {
    let tmp: ReturnType<typeof tempDir>;
    beforeEach(() => {
      tmp = tempDir();
    });
    afterEach(() => tmp.cleanup());

    async function archive() {
      const f = path.join(tmp.dir, 'a.tar');
      const source = { server: 's', context: 'c', namespace: 'qs', app: 'qs' };
      const writer = await ArchiveWriter.open(
        f,
        newManifest({ name: 't', version: '0' }, source, new Date('2026-01-01T00:00:00Z')),
        { partSize: 1024 * 1024 },
      );
      const dump = (rows: number) =>
        Buffer.from(
          `COPY t1.jpages (code) FROM stdin;\n${'x\n'.repeat(rows)}\\.\nCOPY t1.jtable (id) FROM stdin;\n1\n\\.\n`,
        );
      await writer.addBuffer('data/databases/qs/t1-db.sql', dump(12), dbMeta('t1', 't1-db', 't1'));
      await writer.addBuffer(
        'data/databases/qs/t1-dedb.sql',
        Buffer.from('COPY t1_cm.jobs (id) FROM stdin;\n1\n\\.\n'),
        dbMeta('t1', 't1-dedb', 't1_cm'),
      );
      await writer.addBuffer(
        'data/files/cds/qs/t1-cds-deployment/public.tar',
        tarOf([
          { path: 'public', type: 'Directory' },
          { path: 'public/logo.png', data: 'png' },
          { path: 'public/gone.css', data: 'css' },
        ]),
        cdsMeta('public'),
      );
      const manifest = await writer.commit();
      return { archive: { file: f, keys: decryptionKeys({}, { env: {} }) }, manifest };
    }

    it("matches the archive's tenant schemas to the live JSON's by tenant and field, not host, and names the tenant", async () => {
      const { archive: a, manifest } = await archive();
      const archived = await archiveTables(a, manifest.entries);
      const live = tenantDatasources(app, parseTenants(liveJson, 'Secret entando-tenants-secret'));
      expect(live.problems).to.deep.equal([]);
      // What collectTables makes of them, with the live counts.
      const states: DatasourceState[] = live.datasources.map((ds) => ({
        key: datasourceKey(ds.owner, ds.qualifier),
        tenant: ds.owner.tenant,
        dbms: ds.dbms,
        schema: ds.schema,
        tables: new Map(
          ds.qualifier === 't1-db'
            ? [
                ['jpages', { rows: 11 }],
                ['jtable', { rows: 1 }],
              ]
            : [],
        ),
      }));
      const rows = compareTables(archived, states);
      expect(rows.map((r) => [r.name, r.source, r.target, r.verdict, r.why])).to.deep.equal([
        ['tenant t1 dbUrl/jpages', '12 rows', '11 rows', 'differs', '12 rows vs 11'],
        ['tenant t1 dbUrl/jtable', '1 rows', '1 rows', 'same', undefined],
        [
          'tenant t1 deDbUrl (datasource)',
          'postgresql t1_cm 1 tables',
          'postgresql t1_cm 0 tables',
          'missing',
          'schema t1_cm is missing or empty in the target',
        ],
      ]);
    });

    it('a tenant schema the live JSON does not name is missing, naming the tenant', async () => {
      const { archive: a, manifest } = await archive();
      const rows = compareTables(await archiveTables(a, manifest.entries), []);
      const why = "tenant t1: no such schema in the target's ENTANDO_TENANTS";
      expect(rows.map((r) => [r.name, r.verdict, r.why])).to.deep.equal(
        ['dbUrl', 'deDbUrl'].map((f) => [`tenant t1 ${f} (datasource)`, 'missing', why]),
      );
    });

    it('sets an archived CDS tree beside the live CDS of the same tenants, entry by entry', async () => {
      const { archive: a, manifest } = await archive();
      const trees = await archiveTrees(a, manifest.entries);
      expect(trees.map((t) => t.key)).to.deep.equal(['tenant t1 cds/public']);
      const archivedPng = trees[0].entries!.get('public/logo.png')!;
      const live = new Map<string, FileEntry>([
        ['public', { type: 'dir', mode: trees[0].entries!.get('public')!.mode }],
        ['public/logo.png', archivedPng],
        ['public/new.js', file('js', 'f'.repeat(64))],
      ]);
      const rows = compareTrees(trees, [{ key: cdsTreeKey(['t1'], 'public'), entries: live }]);
      expect(rows.map((r) => [r.section, r.name, r.verdict, r.why])).to.deep.equal([
        ['files', 'tenant t1 cds/public', 'differs', '2 of 4 entries differ or are missing'],
        ['file', 'tenant t1 cds/public/gone.css', 'missing', 'not in the target'],
        ['file', 'tenant t1 cds/public/new.js', 'missing', 'only in the target'],
      ]);
    });
  });

  it('names a CDS by its tenants: shared ones all, the primary as such', () => {
    expect(cdsTreeKey(['primary'], 'protected')).to.equal('tenant primary cds/protected');
    expect(cdsTreeKey(['t1', 't2'], 'public')).to.equal('tenants t1, t2 cds/public');
  });

  it('compares each tenant realm of either side once, its rows naming the tenants', () => {
    const r = (realm: string, tenants: string[]) => ({ realm, tenants, mode: 'realm' as const });
    const realms = realmsOfEither([r('r1', ['t1', 't2'])], [r('r1', ['t1']), r('r3', ['t3'])]);
    expect(realms.map(tenantRealmLabel)).to.deep.equal([
      'tenants t1, t2 realm r1',
      'tenant t3 realm r3',
    ]);
    const side = (users: string) => ({
      realm: 'r3',
      facts: { 'users (count)': users },
      clientSecrets: { qs: 'd1' },
      k8sSecretsMatch: {},
    });
    const rows = compareRealms(side('4'), side('3'), tenantRealmLabel(realms[1]));
    expect(rows.map((x) => [x.name, x.source, x.target, x.verdict])).to.deep.equal([
      ['tenant t3 realm r3 users (count)', '4', '3', 'differs'],
      ['tenant t3 realm r3 client qs secret', 'd1', 'd1', 'same'],
    ]);
    expect(
      compareRealms({ realm: 'r3', unavailable: 'no realm r3' }, side('3'), 'tenant t3 realm r3')[0]
        .name,
    ).to.equal('tenant t3 realm r3 (realm)');
  });
});
