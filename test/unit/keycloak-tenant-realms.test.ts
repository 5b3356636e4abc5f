import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { TenantRealmSummary } from '../../src/contract/manifest.js';
import { describeTenantRealms } from '../../src/components/keycloak/describe.js';
import { exportRuns, SPARE_USERS_PER_BOOT } from '../../src/components/keycloak/export-runs.js';
import { RealmAssembler } from '../../src/components/keycloak/realm-assembler.js';
import { tarMembers } from '../helpers/tar-members.js';
import { realmInMemory, realmsTar } from '../../src/components/keycloak/realm-import.js';
import { exportCommand, importCommand } from '../../src/components/keycloak/side-server-scripts.js';
import {
  classifyTenantRealms,
  discoverTenantRealms,
  tenantRealmsLost,
  type AppKeycloak,
} from '../../src/components/keycloak/tenant-realms.js';
import { checkTenantClientSecrets } from '../../src/components/keycloak/tenant-realms-restore.js';
import { hostMoves } from '../../src/components/resources/tenants-rewrite.js';
import { realmCountRows } from '../../src/compare/verify-restore.js';
import { tenancyLoss, type TenantConfig } from '../../src/entando/tenants.js';
import { realmCounts } from '../helpers/tenants.js';
import { FakeKube } from '../helpers/fakes.js';

const NS = 'qs';
const KC: AppKeycloak = {
  service: { name: 'default-sso-in-namespace-service', namespace: NS },
  frontEndUrl: 'https://sso.example.com/auth',
};
const INTERNAL = `http://default-sso-in-namespace-service.${NS}.svc.cluster.local:8080/auth`;
const tenant = (code: string, fields: Record<string, string>): TenantConfig => ({
  code,
  from: 'Secret entando-tenants-secret',
  fields: { tenantCode: code, ...fields },
});
const counts = realmCounts;

describe('tenant realms at backup: which are carried', () => {
  it('dedupes, skips the app realm, and keeps only realms of the app Keycloak', () => {
    const out = classifyTenantRealms(
      [
        tenant('t1', { kcRealm: 't1', kcInternalAuthUrl: INTERNAL }),
        tenant('t2', { kcRealm: 't1', kcAuthUrl: 'https://SSO.example.com/auth' }),
        tenant('t3', { kcRealm: 'entando' }),
        tenant('t4', { kcRealm: 't4', kcAuthUrl: 'https://kc.other.com/auth' }),
        tenant('t5', {
          kcRealm: 't5',
          kcInternalAuthUrl: 'http://other-sso-service.qs.svc.cluster.local:8080/auth',
        }),
        tenant('t6', { kcRealm: '' }),
        tenant('t7', { kcRealm: 'master' }),
        tenant('t8', { kcRealm: 't8' }),
      ],
      'entando',
      KC,
      NS,
    );
    expect(out.map((t) => [t.tenants, t.realm, t.mode])).to.deep.equal([
      [['t1', 't2'], 't1', 'realm'],
      [['t3'], 'entando', 'app-realm'],
      [['t4'], 't4', 'not-carried'],
      [['t5'], 't5', 'not-carried'],
      [['t6'], '', 'not-carried'],
      [['t7'], 'master', 'not-carried'],
      [['t8'], 't8', 'realm'],
    ]);
    expect(out[2].reason).to.equal(
      "https://kc.other.com/auth is another Keycloak than the app's (https://sso.example.com/auth)",
    );
    expect(out[3].reason).to.equal(
      "kcInternalAuthUrl names Service qs/other-sso-service, not the app's Keycloak qs/default-sso-in-namespace-service",
    );
    // A public URL with no known public URL of the app's Keycloak cannot be told apart.
    const unknown = classifyTenantRealms(
      [tenant('t1', { kcRealm: 't1', kcAuthUrl: 'https://sso.example.com/auth' })],
      'entando',
      { service: KC.service },
      NS,
    );
    expect(unknown[0].mode).to.equal('not-carried');
    expect(unknown[0].reason).to.match(/^cannot tell whether/);
  });

  it('reads the tenants Secret and the Keycloak from the cluster; skip carries none', async () => {
    const app = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      metadata: { name: 'quickstart', namespace: NS },
      spec: {},
    };
    const server = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoKeycloakServer',
      metadata: { name: 'default-sso-in-namespace', namespace: NS },
      spec: {},
      status: { serverStatuses: { server: { externalBaseUrl: 'https://sso.example.com/auth' } } },
    };
    const configs = [tenant('t1', { kcRealm: 'r1', kcAuthUrl: 'https://sso.example.com/auth' })];
    const kube = new FakeKube([app, server]);
    const carried = await discoverTenantRealms(kube.client, app, configs, 'realm');
    expect(carried).to.deep.equal([{ tenants: ['t1'], realm: 'r1', mode: 'realm' }]);
    const skipped = await discoverTenantRealms(kube.client, app, configs, 'skip');
    expect(skipped).to.deep.equal([
      { tenants: ['t1'], realm: 'r1', mode: 'not-carried', reason: '--keycloak skip' },
    ]);
    // No Keycloak server: no pod to export from.
    const none = await discoverTenantRealms(new FakeKube([app]).client, app, configs, 'realm');
    expect(none[0].mode).to.equal('not-carried');
    expect(none[0].reason).to.match(/no Keycloak pod to export it from$/);
  });

  it('the multi-tenant refusal names only the realms left out', () => {
    const facts = {
      tenants: [
        { code: 't1', from: 'S' },
        { code: 't4', from: 'S' },
      ],
    };
    const lost = tenantRealmsLost([
      { tenants: ['t1'], realm: 't1', mode: 'realm' },
      { tenants: ['t4'], realm: 't4', mode: 'not-carried', reason: 'elsewhere' },
    ]);
    expect(lost).to.deep.equal(['realm t4 of tenant t4 (elsewhere)']);
    // Schemas and CDS files carried: only the realm left out is named...
    expect(tenancyLoss(facts, { schemas: true, cdsFiles: true, realmsLost: lost })).to.equal(
      'realm t4 of tenant t4 (elsewhere)',
    );
    // ...and nothing lost is no refusal at all.
    expect(tenancyLoss(facts, { schemas: true, cdsFiles: true, realmsLost: [] })).to.equal(
      undefined,
    );
    expect(
      tenancyLoss({ ...facts, cdsEnabled: 'D: env CDS_ENABLED' }, { realmsLost: [] }),
    ).to.equal(undefined);
    // What a caller turns off is named again, beside the realms lost.
    expect(tenancyLoss(facts, { schemas: false, cdsFiles: false, realmsLost: lost })).to.equal(
      'its secondary tenants t1, t4 (S): their schemas and CDS files, and realm t4 of tenant t4 (elsewhere)',
    );
    expect(tenancyLoss(facts, { cdsFiles: false, realmsLost: [] })).to.equal(
      'its secondary tenants t1, t4 (S): their CDS files',
    );
  });

  it('one run for several realms unless the other realms hold more users than boots saved', () => {
    expect(exportRuns(['entando'], [])).to.deep.equal([['entando']]);
    const few = [{ realm: 'master', users: 1 }];
    expect(exportRuns(['entando', 't1', 't2'], few)).to.deep.equal([['entando', 't1', 't2']]);
    const many = [{ realm: 'other-app', users: SPARE_USERS_PER_BOOT + 1 }];
    expect(exportRuns(['entando', 't1'], many)).to.deep.equal([['entando'], ['t1']]);
    // A needed realm is not counted as spare.
    expect(exportRuns(['entando', 't1'], [{ realm: 't1', users: 1e6 }])).to.have.length(1);
  });

  it('the side-server scripts name one realm to Keycloak, or none for several', () => {
    const p = { portOffset: 2505, heap: '512m', timeoutSeconds: 60, runId: 'r' };
    const one = exportCommand({ ...p, realms: ['entando'], largestRealmUsers: 10 });
    const two = importCommand({ ...p, realms: ['entando', 't1'] });
    expect(one.slice(-1)).to.deep.equal(['entando']);
    expect(two.slice(-2)).to.deep.equal(['entando', 't1']);
    expect(one[2]).to.contain('if [ "$#" -eq 1 ]; then only="-Dkeycloak.migration.realmName=$1"');
  });
});

function framed(files: [string, unknown][]): Buffer {
  return Buffer.concat(
    files.flatMap(([name, doc]) => {
      const body = Buffer.from(JSON.stringify(doc));
      return [Buffer.from(`KCFILE ${name} ${body.length}\n`), body];
    }),
  );
}

function sink(into: Map<string, Buffer[]>, realm: string): Writable {
  const parts: Buffer[] = [];
  into.set(realm, parts);
  return new Writable({
    write(c: Buffer, _e, done) {
      parts.push(c);
      done();
    },
  });
}

async function assembleAll(input: Buffer, realms: string[]) {
  const outs = new Map<string, Buffer[]>();
  const a = new RealmAssembler((r) => sink(outs, r), realms);
  await new Promise<void>((resolve, reject) => {
    a.once('error', reject);
    a.end(input, (err?: Error | null) => (err ? reject(err) : resolve()));
  });
  return { a, outs };
}

describe('tenant realms: one export stream, one realm JSON each', () => {
  const realm = (name: string) => ({ realm: name, clients: [{ clientId: `${name}-c` }] });
  it('splits the realms of one run into their own outputs, counted apart', async () => {
    const { a, outs } = await assembleAll(
      framed([
        ['entando-realm.json', realm('entando')],
        ['entando-users-0.json', { users: [{ username: 'a' }, { username: 'b' }] }],
        ['t1-realm.json', realm('t1')],
        ['t1-users-0.json', { users: [{ username: 'c' }] }],
      ]),
      ['entando', 't1'],
    );
    const json = (r: string) => JSON.parse(Buffer.concat(outs.get(r)!).toString('utf8'));
    expect(json('entando').users.map((u: { username: string }) => u.username)).to.deep.equal([
      'a',
      'b',
    ]);
    expect(json('t1')).to.deep.equal({ ...realm('t1'), users: [{ username: 'c' }] });
    expect([a.countsOf('entando').users, a.countsOf('t1').users]).to.deep.equal([2, 1]);
    expect(a.countsOf('t1').realm).to.equal('t1');
  });

  it('refuses a realm asked for but not sent', async () => {
    let err: Error | undefined;
    await assembleAll(framed([['entando-realm.json', realm('entando')]]), ['entando', 't1']).catch(
      (e: Error) => (err = e),
    );
    expect(err?.message).to.equal('the realm export holds no realm t1');
  });

  it('an import tar holds each realm and its pages, one end of archive', async () => {
    const parts: Buffer[] = [];
    for await (const b of realmsTar([
      realmInMemory('entando', { realm: 'entando', users: [{ username: 'a' }] }),
      realmInMemory('t1', { realm: 't1', users: [] }),
    ]))
      parts.push(b);
    const tar = Buffer.concat(parts);
    const names = [...tarMembers(tar).keys()];
    // Pages as the users stream by, then the realm (the import unpacks the whole tar first).
    expect(names).to.deep.equal(['entando-users-0.json', 'entando-realm.json', 't1-realm.json']);
  });
});

describe('tenant realms at restore', () => {
  it("the tenants' hosts move as the Secret's rewrite moves them", () => {
    expect(
      hostMoves(
        { fqdns: 't1.qs.example.com,t1b.example.com' },
        { fqdns: 't1.qs2.example.com,t1b.example.com' },
      ),
    ).to.deep.equal([['t1.qs.example.com', 't1.qs2.example.com']]);
    // --tenant-host with fewer hosts: the extra old ones go to the first new one.
    expect(hostMoves({ fqdns: 'a.x,b.x' }, { fqdns: 'n.y' })).to.deep.equal([
      ['a.x', 'n.y'],
      ['b.x', 'n.y'],
    ]);
  });

  it("checks the tenants' clients against kcClientSecret and deKcClientSecret, naming no secret", async () => {
    const secrets: Record<string, string> = { 'id-qs': 'S1', 'id-qs-de': 'WRONG' };
    const admin = {
      findClient: async (_realm: string, clientId: string) =>
        clientId === 'missing' ? undefined : { id: `id-${clientId}`, clientId },
      clientSecret: async (_realm: string, id: string) => secrets[id],
    };
    const tenants = [
      {
        tenantCode: 't1',
        kcClientId: 'qs',
        kcClientSecret: 'S1',
        deKcClientId: 'qs-de',
        deKcClientSecret: 'S2',
      },
      { tenantCode: 't2', kcClientId: 'missing', kcClientSecret: 'x' },
    ];
    const { ok, problems } = await checkTenantClientSecrets(admin, 'r1', tenants, [
      't1',
      't2',
      't9',
    ]);
    expect(ok).to.deep.equal(['tenant t1: client qs holds kcClientSecret']);
    expect(problems).to.have.length(3);
    expect(problems[0]).to.match(
      /^tenant t1: client qs-de of realm r1 does not hold deKcClientSecret/,
    );
    expect(problems[1]).to.equal('tenant t2: no client missing (kcClientId) in realm r1');
    expect(problems[2]).to.equal("tenant t9: not in the target's ENTANDO_TENANTS");
    expect(problems.join(' ')).not.to.contain('WRONG');
    expect(problems.join(' ')).not.to.contain('S2');
  });

  it('verify compares a tenant realm counts like the app realm, naming the tenant', () => {
    const t: TenantRealmSummary = {
      tenants: ['t1'],
      realm: 'r1',
      mode: 'realm',
      counts: counts(5, 1),
    };
    const rows = realmCountRows(t, {
      realm: 'r1',
      facts: {
        'users (count)': '4',
        'clients (count)': '3',
        'groups (count)': '1',
        'realm roles (count)': '9',
      },
    });
    expect(rows.map((r) => [r.name, r.source, r.target, r.verdict])).to.deep.equal([
      ['tenant t1 realm r1 users (count)', '4', '4', 'same'],
      ['tenant t1 realm r1 clients (count)', '3', '3', 'same'],
      ['tenant t1 realm r1 groups (count)', '1', '1', 'same'],
      ['tenant t1 realm r1 realm roles (count)', '2', '9', 'differs'],
    ]);
    expect(realmCountRows({ ...t, mode: 'not-carried' }, { realm: 'r1' })).to.deep.equal([]);
  });

  it('inspect shows each tenant realm with its counts, or why it is not carried', () => {
    const lines = describeTenantRealms({
      mode: 'realm',
      realm: 'entando',
      tenantRealms: [
        {
          tenants: ['t1', 't2'],
          realm: 'r1',
          mode: 'realm',
          counts: counts(5, 1),
          locales: ['en'],
        },
        { tenants: ['t3'], realm: 'entando', mode: 'app-realm' },
        { tenants: ['t4'], realm: 'r4', mode: 'not-carried', reason: 'elsewhere' },
      ],
    });
    expect(lines).to.deep.equal([
      'tenants t1, t2: realm r1: 4 users (+1 service accounts), 3 clients, 2 realm roles, 1 client roles, 1 groups, 1 key providers, localization: en',
      "tenant t3: the app's realm entando",
      'tenant t4: realm r4 not carried (elsewhere)',
    ]);
  });
});
