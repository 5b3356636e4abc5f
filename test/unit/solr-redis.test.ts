import { expect } from 'chai';
import type { LoadedArchive } from '../../src/contract/component.js';
import type { TenancyRecord } from '../../src/contract/manifest.js';
import type { RestoreMapping } from '../../src/contract/mapping.js';
import { planLeftToYouSteps, servedTenants } from '../../src/components/resources/left-to-you.js';
import {
  createCollectionCall,
  manualTasks,
  redisTask,
  solrTasks,
} from '../../src/entando/manual-tasks.js';
import { tenancyRecord, withoutCredentials } from '../../src/entando/tenancy-record.js';
import { readTenants } from '../../src/entando/tenants.js';
import type { KubeObject } from '../../src/kube/object.js';
import { leftToYou, leftToYouLines, planToJson } from '../../src/restore/plan.js';
import { planText } from '../../src/cli/render/restore.js';
import { FakeKube } from '../helpers/fakes.js';
import { appEngineDeployment, tenantConfig } from '../helpers/tenants.js';

const NS = 'qs';
const config = tenantConfig;
const env = (values: Record<string, string>) => ({
  tenants: [],
  searchAndCache: Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, { value: v, from: 'qs-deployment: env ' + k }]),
  ),
});

describe('solr and redis: what a backup records (config only, no call to Solr)', () => {
  it("a tenant's solrAddress/solrCore, else the primary's SOLR_ADDRESS/SOLR_CORE, else core entando", () => {
    const facts = env({
      SOLR_ACTIVE: 'TRUE ',
      SOLR_ADDRESS: 'http://solr-solrcloud-common/solr',
      REDIS_ACTIVE: 'true',
    });
    const record = tenancyRecord(
      facts,
      [
        config('t1', { solrCore: 't1', fqdns: 't1.qs.example.com, t1b.example.com' }),
        config('t2', { solrAddress: 'http://admin:pw@other-solr:8983/solr', solrCore: ' ' }),
      ],
      'qs.example.com',
    );
    expect(record).to.deep.equal({
      primary: {
        hosts: ['qs.example.com'],
        solr: {
          address: 'http://solr-solrcloud-common/solr',
          addressFrom: 'primary',
          core: 'entando',
          coreFrom: 'default',
        },
      },
      tenants: [
        {
          code: 't1',
          hosts: ['t1.qs.example.com', 't1b.example.com'],
          solr: {
            address: 'http://solr-solrcloud-common/solr',
            addressFrom: 'primary',
            core: 't1',
            coreFrom: 'tenant',
          },
        },
        {
          code: 't2',
          hosts: [],
          solr: {
            address: 'http://other-solr:8983/solr',
            addressFrom: 'tenant',
            core: 'entando',
            coreFrom: 'default',
          },
        },
      ],
      solrActive: true,
      solrActiveFrom: 'qs-deployment: env SOLR_ACTIVE',
      redisActive: true,
      redisActiveFrom: 'qs-deployment: env REDIS_ACTIVE',
    } satisfies TenancyRecord);
  });

  it("a SOLR_CORE of the primary is the tenants' fallback; nothing to record for a plain app", () => {
    const record = tenancyRecord(env({ SOLR_CORE: 'main' }), [config('t1')], undefined)!;
    expect(record.primary.solr).to.deep.equal({ core: 'main', coreFrom: 'primary' });
    expect(record.tenants[0].solr).to.deep.equal({ core: 'main', coreFrom: 'primary' });
    expect(record.solrActive).to.equal(false);
    expect(tenancyRecord({ tenants: [] }, [], 'qs.example.com')).to.equal(undefined);
    expect(withoutCredentials('https://u:p@s/solr')).to.equal('https://s/solr');
  });

  it('discovery reads SOLR_* and REDIS_ACTIVE where the app engine does, references resolved', async () => {
    const app: KubeObject = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      metadata: { name: 'quickstart', namespace: NS },
      spec: { environmentVariables: [{ name: 'SOLR_CORE', value: 'main' }] },
    };
    const deployment = appEngineDeployment(NS, 'quickstart-deployment', [
      { name: 'SOLR_ACTIVE', value: 'true' },
      { name: 'SOLR_CORE', value: 'ignored: the CR comes first' },
      { name: 'SOLR_ADDRESS', valueFrom: { configMapKeyRef: { name: 'solr', key: 'address' } } },
    ]);
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'solr', namespace: NS },
      data: { address: 'http://solr/solr' },
    };
    const { facts } = await readTenants(new FakeKube([deployment, cm]).client, app);
    expect(facts.searchAndCache).to.deep.equal({
      SOLR_CORE: { value: 'main', from: 'EntandoApp spec.environmentVariables: env SOLR_CORE' },
      SOLR_ACTIVE: { value: 'true', from: 'quickstart-deployment: env SOLR_ACTIVE' },
      SOLR_ADDRESS: {
        value: 'http://solr/solr',
        from: 'quickstart-deployment: ConfigMap solr key address',
      },
    });
  });
});

const RECORD: TenancyRecord = {
  primary: {
    hosts: ['qs.example.com'],
    solr: {
      address: 'http://solr-solrcloud-common.qs.svc.cluster.local/solr',
      addressFrom: 'primary',
      core: 'entando',
      coreFrom: 'default',
    },
  },
  tenants: [
    {
      code: 't1',
      hosts: ['t1.qs.example.com'],
      solr: {
        address: 'http://solr.qs/solr',
        addressFrom: 'tenant',
        core: 't1',
        coreFrom: 'tenant',
      },
    },
    {
      code: 't2',
      hosts: ['t2.other.com'],
      solr: {
        address: 'http://solr-solrcloud-common.qs.svc.cluster.local/solr',
        addressFrom: 'primary',
        core: 'entando',
        coreFrom: 'default',
      },
    },
  ],
  solrActive: true,
  redisActive: true,
};
const MAPPING: RestoreMapping = {
  sourceNamespace: 'qs',
  targetNamespace: 'qs2',
  sourceHost: 'qs.example.com',
  targetHost: 'qs2.example.com',
  tenantHosts: { t2: ['t2.new.com'] },
};
const KEYCLOAK = {
  mode: 'realm' as const,
  realm: 'entando',
  tenantRealms: [{ tenants: ['t1'], realm: 'r1', mode: 'realm' as const }],
};

describe('solr and redis: what a restore leaves to the user', () => {
  it('the tenants as the target serves them: hosts and Solr addresses moved as the restore moves them', () => {
    const served = servedTenants(RECORD, MAPPING, KEYCLOAK);
    expect(
      served.map((t) => [t.code, t.hosts, t.realm, t.solr.address, t.solr.core]),
    ).to.deep.equal([
      [
        'primary',
        ['qs2.example.com'],
        'entando',
        'http://solr-solrcloud-common.qs2.svc.cluster.local/solr',
        'entando',
      ],
      ['t1', ['t1.qs2.example.com'], 'r1', 'http://solr.qs2/solr', 't1'],
      [
        't2',
        ['t2.new.com'],
        undefined,
        'http://solr-solrcloud-common.qs2.svc.cluster.local/solr',
        'entando',
      ],
    ]);
  });

  it("one Solr task per tenant: Entando's CREATE call once per collection, then refresh and reindex through its host", () => {
    const tasks = solrTasks(servedTenants(RECORD, MAPPING, KEYCLOAK));
    expect(tasks.map((t) => t.what)).to.deep.equal([
      'solr: tenant primary (collection entando at http://solr-solrcloud-common.qs2.svc.cluster.local/solr)',
      'solr: tenant t1 (collection t1 at http://solr.qs2/solr)',
      'solr: tenant t2 (collection entando at http://solr-solrcloud-common.qs2.svc.cluster.local/solr)',
    ]);
    expect(tasks[1].instructions).to.deep.equal([
      "if the target's Solr lacks collection t1: GET http://solr.qs2/solr/admin/collections?action=CREATE&name=t1&numShards=1&replicationFactor=3&maxShardsPerNode=2",
      'then through host t1.qs2.example.com, with the token of a SUPERUSER of realm r1:',
      'POST /entando-de-app/api/plugins/solr/config/{contentTypeCode} for each content type (schema refresh; the codes: GET /entando-de-app/api/plugins/cms/contentTypes)',
      'POST /entando-de-app/api/plugins/cms/contentSettings/reloadIndexes (reindex)',
    ]);
    expect(tasks[2].instructions.slice(0, 2)).to.deep.equal([
      'collection entando: the one of primary (created there)',
      "then through host t2.new.com, with the token of a SUPERUSER of the tenant's realm (its kcRealm):",
    ]);
    expect(createCollectionCall('http://s/solr/', 'a b')).to.equal(
      'GET http://s/solr/admin/collections?action=CREATE&name=a%20b&numShards=1&replicationFactor=3&maxShardsPerNode=2',
    );
  });

  it('a tenant without host is reached by header; no address recorded says so', () => {
    const [t] = solrTasks([{ code: 't9', hosts: [], solr: { core: 't9', coreFrom: 'tenant' } }]);
    expect(t.what).to.equal(
      "solr: tenant t9 (collection t9 at the target's Solr (no SOLR_ADDRESS nor solrAddress recorded))",
    );
    expect(t.instructions[0]).to.equal(
      "if the target's Solr lacks collection t9: create it with Entando's parameters (numShards=1&replicationFactor=3&maxShardsPerNode=2)",
    );
    expect(t.instructions[1]).to.match(/X-ENTANDO-TENANTCODE: t9 \(7\.3; no host recorded\)/);
  });

  it('Redis: SCAN + UNLINK per tenant prefix, FLUSHDB named as disabled', () => {
    const task = redisTask(['t1', 't2']);
    expect(task.instructions.slice(1, 3)).to.deep.equal([
      "redis-cli --scan --pattern 't1_*' | xargs -r redis-cli unlink   # tenant t1",
      "redis-cli --scan --pattern 't2_*' | xargs -r redis-cli unlink   # tenant t2",
    ]);
    expect(task.instructions.at(-1)).to.match(/FLUSHDB and FLUSHALL are disabled/);
  });

  it('Solr tasks only for a multi-tenant app with SOLR_ACTIVE; Redis whenever REDIS_ACTIVE', () => {
    const served = servedTenants(RECORD, MAPPING, KEYCLOAK);
    expect(manualTasks(RECORD, served)).to.have.length(4);
    expect(manualTasks({ ...RECORD, solrActive: false }, served)).to.have.length(1);
    expect(manualTasks({ ...RECORD, tenants: [], redisActive: false }, served)).to.deep.equal([]);
  });

  it('the plan lists them as manual steps last; the summary and the JSON repeat them', () => {
    const archive = {
      manifest: {
        source: { app: 'qs' },
        components: { resources: { tenancy: RECORD }, keycloak: KEYCLOAK },
      },
    } as unknown as LoadedArchive;
    const steps = planLeftToYouSteps({ archive, mapping: MAPPING });
    expect(steps.map((s) => [s.phase, s.action, !!s.run])).to.deep.equal(
      Array(4).fill(['left-to-you', 'manual', false]),
    );
    const plan = { steps, problems: [] };
    const text = planText(plan, { context: 'c', namespace: 'qs2' });
    expect(text).to.include(
      '      manual solr: tenant t1 (collection t1 at http://solr.qs2/solr) (Solr indexes are derived from the database: not carried, rebuilt from the restored data)',
    );
    expect(text).to.include(
      '             > POST /entando-de-app/api/plugins/cms/contentSettings/reloadIndexes (reindex)',
    );
    expect((planToJson(plan) as { leftToYou: unknown[] }).leftToYou).to.deep.equal(leftToYou(plan));
    const summary = leftToYouLines(leftToYou(plan));
    expect(summary[0]).to.equal('  left to you (4):');
    expect(summary).to.include('    redis: stale cache keys: ' + steps[3].reason);
    expect(
      planLeftToYouSteps({
        archive: { manifest: { components: {} } } as LoadedArchive,
        mapping: MAPPING,
      }),
    ).to.deep.equal([]);
  });
});
