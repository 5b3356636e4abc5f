import { expect } from 'chai';
import type { Manifest } from '../../src/archive/manifest.js';
import { tenantBlockLines, tenantBlocks } from '../../src/cli/render/tenants.js';
import { realmCounts } from '../helpers/tenants.js';

const counts = (users: number) => realmCounts(users, 1);

const datasource = (
  tenant: string | undefined,
  qualifier: string,
  schema: string,
  bytes: number,
) => ({
  owner: { kind: 'EntandoApp', name: 'qs', ...(tenant ? { tenant } : {}) },
  qualifier,
  dbms: 'postgresql' as const,
  database: 'db',
  schema,
  username: 'u',
  credentials: 'c',
  host: 'pg',
  port: 5432,
  location: 'dbms-pod' as const,
  format: 'pg_dump-plain' as const,
  entry: `data/databases/${schema}.sql`,
  bytes,
});

const MANIFEST = {
  source: { app: 'qs', namespace: 'qs', server: 's', context: 'c' },
  components: {
    resources: {
      counts: {},
      objects: [],
      tenancy: {
        primary: { hosts: ['qs.example.com'], solr: { core: 'entando', coreFrom: 'default' } },
        tenants: [
          {
            code: 't1',
            hosts: ['t1.qs.example.com'],
            solr: {
              address: 'http://solr/solr',
              addressFrom: 'tenant',
              core: 't1',
              coreFrom: 'tenant',
            },
          },
          { code: 't2', hosts: [], solr: { core: 'entando', coreFrom: 'default' } },
        ],
        solrActive: true,
        redisActive: false,
      },
    },
    databases: {
      datasources: [
        datasource(undefined, 'portdb', 'qs_portdb', 2048),
        datasource('t1', 'db', 't1', 1024),
      ],
      shared: [
        {
          owner: { kind: 'EntandoApp', name: 'qs', tenant: 't2' },
          qualifier: 'db',
          username: 'u',
          sameAs: 'data/databases/t1.sql',
        },
      ],
      embedded: [],
    },
    keycloak: {
      mode: 'realm',
      realm: 'entando',
      counts: counts(5),
      locales: ['en'],
      tenantRealms: [
        { tenants: ['t1'], realm: 't1', mode: 'realm', counts: counts(3) },
        { tenants: ['t2'], realm: 't2', mode: 'not-carried', reason: 'another Keycloak' },
      ],
    },
    files: {
      volumes: [],
      cds: [
        {
          namespace: 'qs',
          service: 'cds-service',
          tenants: ['primary', 't1'],
          deployment: 'cds-deployment',
          claimName: 'cds-pvc',
          capacity: '1Gi',
          via: 'volume-pod',
          dirs: [{ dir: 'public', entry: 'e', bytes: 4096, files: 2, fileBytes: 15 }],
          missing: ['protected'],
        },
      ],
      cdsLeftOut: [{ tenant: 't2', message: 'Service qs/t2-cds-service not found' }],
    },
  },
  entries: [],
  warnings: [],
} as unknown as Manifest;

describe('inspect: one block per tenant', () => {
  it('gathers schemas (shared ones named), realm, CDS files, Solr collection and hosts per tenant', () => {
    const blocks = tenantBlocks(MANIFEST);
    expect(blocks.map((b) => b.code)).to.deep.equal(['primary', 't1', 't2']);
    expect(blocks[2].schemas).to.deep.equal([
      {
        qualifier: 'db',
        schema: 't1',
        database: 'db',
        host: 'pg',
        entry: 'data/databases/t1.sql',
        sharedWith: 't1',
      },
    ]);
    expect(blocks[2].cdsNotCarried).to.equal('Service qs/t2-cds-service not found');
    expect(blocks[0].realm?.realm).to.equal('entando');
    const text = blocks.flatMap((b) => tenantBlockLines(b, true));
    expect(text).to.deep.equal([
      'primary: hosts qs.example.com',
      '  schemas: portdb qs_portdb (2.0 KiB)',
      '  keycloak: realm entando: 4 users (+1 service accounts), 3 clients, 2 realm roles, 1 client roles, 1 groups, 1 key providers, localization: en',
      '  cds files: qs/cds-deployment (volume cds-pvc 1Gi, shared with t1): public/ 2 files, 15 B; protected/ absent',
      '  solr: collection entando (the default) no address recorded; index not carried, rebuilt after a restore',
      't1: hosts t1.qs.example.com',
      '  schemas: db t1 (1.0 KiB)',
      '  keycloak: realm t1: 2 users (+1 service accounts), 3 clients, 2 realm roles, 1 client roles, 1 groups, 1 key providers, localization: none',
      '  cds files: qs/cds-deployment (volume cds-pvc 1Gi, shared with primary): public/ 2 files, 15 B; protected/ absent',
      '  solr: collection t1 (solrCore) at http://solr/solr (solrAddress); index not carried, rebuilt after a restore',
      't2: no host recorded',
      '  schemas: db t1 (shared with t1: dumped once)',
      '  keycloak: realm t2 not carried (another Keycloak)',
      '  cds files: NOT carried: Service qs/t2-cds-service not found',
      '  solr: collection entando (the default) no address recorded; index not carried, rebuilt after a restore',
    ]);
  });

  it('an older archive: tenants found from the other summaries; a single-tenant one has no block', () => {
    const older = {
      ...MANIFEST,
      components: { ...MANIFEST.components, resources: { counts: {}, objects: [] } },
    } as Manifest;
    const blocks = tenantBlocks(older);
    expect(blocks.map((b) => [b.code, b.hosts, b.solr])).to.deep.equal([
      ['primary', [], undefined],
      ['t1', [], undefined],
      ['t2', [], undefined],
    ]);
    const single = { ...MANIFEST, components: { keycloak: MANIFEST.components.keycloak } };
    expect(
      tenantBlocks({
        ...single,
        components: { keycloak: { ...MANIFEST.components.keycloak!, tenantRealms: [] } },
      } as Manifest),
    ).to.deep.equal([]);
  });
});
