import { expect } from 'chai';
import { refuseTenancyLoss } from '../../src/backup/backup.js';
import { classifyTenantRealms } from '../../src/components/keycloak/tenant-realms.js';
import { DEFAULT_BACKUP_OPTIONS } from '../../src/contract/component.js';
import { readTenants, tenancyLoss, tenancyOf } from '../../src/entando/tenants.js';
import type { Output } from '../../src/report/output.js';
import type { KubeObject } from '../../src/kube/object.js';
import { FakeKube } from '../helpers/fakes.js';

const NS = 'qs';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const tenants = (...codes: string[]) =>
  JSON.stringify(codes.map((c) => ({ tenantCode: c, dbUrl: `jdbc:postgresql://db/${c}` })));

const app = (env?: unknown[]): KubeObject => ({
  apiVersion: 'entando.org/v1',
  kind: 'EntandoApp',
  metadata: { name: 'quickstart', namespace: NS },
  spec: { dbms: 'postgresql', ...(env ? { environmentVariables: env } : {}) },
});
const deployment = (container: Record<string, unknown>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'quickstart-deployment', namespace: NS },
  spec: { template: { spec: { containers: [{ name: 'server-container', ...container }] } } },
});
const secret = (name: string, data: Record<string, string>, string = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS },
  ...(string
    ? { stringData: data }
    : { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) }),
});
const configMap = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS },
  data,
});

async function codes(objects: KubeObject[], cr = app()) {
  const facts = await tenancyOf(new FakeKube(objects).client, cr);
  return { codes: facts.tenants.map((t) => `${t.code} <- ${t.from}`), facts };
}

describe('tenants: a multi-tenant app is found however the app engine gets ENTANDO_TENANTS', () => {
  it('the Secret entando-tenants-secret (data or stringData); an empty list is no tenant', async () => {
    const two = await codes([
      secret('entando-tenants-secret', { ENTANDO_TENANTS: tenants('t1', 't2') }),
    ]);
    expect(two.codes).to.deep.equal([
      't1 <- Secret entando-tenants-secret',
      't2 <- Secret entando-tenants-secret',
    ]);
    const s = await codes([
      secret('entando-tenants-secret', { ENTANDO_TENANTS: tenants('t3') }, true),
    ]);
    expect(s.codes).to.deep.equal(['t3 <- Secret entando-tenants-secret']);
    const none = await codes([secret('entando-tenants-secret', { ENTANDO_TENANTS: '[]' })]);
    expect(tenancyLoss(none.facts)).to.equal(undefined);
  });

  it('the deployment: literal, secretKeyRef, configMapKeyRef, envFrom (with prefix); the CR env', async () => {
    const literal = await codes([
      deployment({ env: [{ name: 'ENTANDO_TENANTS', value: tenants('lit') }] }),
    ]);
    expect(literal.codes).to.deep.equal(['lit <- quickstart-deployment: env ENTANDO_TENANTS']);
    const ref = await codes([
      secret('my-tenants', { list: tenants('sec') }),
      configMap('cm-tenants', { t: tenants('cm') }),
      deployment({
        env: [
          {
            name: 'ENTANDO_TENANTS',
            valueFrom: { secretKeyRef: { name: 'my-tenants', key: 'list' } },
          },
        ],
      }),
    ]);
    expect(ref.codes).to.deep.equal(['sec <- quickstart-deployment: Secret my-tenants key list']);
    const cm = await codes([
      configMap('cm-tenants', { t: tenants('cm') }),
      deployment({
        env: [
          {
            name: 'ENTANDO_TENANTS',
            valueFrom: { configMapKeyRef: { name: 'cm-tenants', key: 't' } },
          },
        ],
      }),
    ]);
    expect(cm.codes).to.deep.equal(['cm <- quickstart-deployment: ConfigMap cm-tenants key t']);
    const from = await codes([
      configMap('all-env', { ENTANDO_TENANTS: tenants('ef'), CDS_ENABLED: 'true' }),
      deployment({ envFrom: [{ configMapRef: { name: 'all-env' } }] }),
    ]);
    expect(from.codes).to.deep.equal(['ef <- quickstart-deployment: ConfigMap all-env (envFrom)']);
    expect(from.facts.cdsEnabled).to.equal('quickstart-deployment: ConfigMap all-env (envFrom)');
    // With a prefix the variable is X_ENTANDO_TENANTS, which the app engine does not read.
    const prefixed = await codes([
      configMap('all-env', { ENTANDO_TENANTS: tenants('ef') }),
      deployment({ envFrom: [{ configMapRef: { name: 'all-env' }, prefix: 'X_' }] }),
    ]);
    expect(prefixed.codes).to.deep.equal([]);
    const cr = await codes([], app([{ name: 'ENTANDO_TENANTS', value: tenants('crt') }]));
    expect(cr.codes).to.deep.equal([
      'crt <- EntandoApp spec.environmentVariables: env ENTANDO_TENANTS',
    ]);
  });

  it('CDS files are carried: no loss for CDS_ENABLED=true; realms still named; named again when CDS is left out', async () => {
    const cds = await codes([deployment({ env: [{ name: 'CDS_ENABLED', value: 'TRUE' }] })]);
    expect(tenancyLoss(cds.facts)).to.equal(undefined);
    expect(tenancyLoss(cds.facts, { cdsFiles: false })).to.equal(
      "the primary tenant's files in CDS (CDS_ENABLED=true in quickstart-deployment: env CDS_ENABLED)",
    );
    const both = await codes([
      secret('entando-tenants-secret', { ENTANDO_TENANTS: tenants('t1', 't2') }),
      deployment({ env: [{ name: 'CDS_ENABLED', value: 'true' }] }),
    ]);
    // Their schemas and CDS files are carried: only the realms are lost...
    expect(tenancyLoss(both.facts)).to.equal(
      'its secondary tenants t1, t2 (Secret entando-tenants-secret): their realms',
    );
    // ...unless a backup leaves them out.
    expect(tenancyLoss(both.facts, { schemas: false, cdsFiles: false })).to.equal(
      "its secondary tenants t1, t2 (Secret entando-tenants-secret): their schemas, realms and CDS files, and the primary tenant's files in CDS (CDS_ENABLED=true in quickstart-deployment: env CDS_ENABLED)",
    );
    const off = await codes([deployment({ env: [{ name: 'CDS_ENABLED', value: 'false' }] })]);
    expect(tenancyLoss(off.facts)).to.equal(undefined);
  });

  it('the backup refusal: none when everything is carried; else what is lost and what the rest carries', async () => {
    // As the objects e2e: two tenants on the primary's schema, no kcRealm, no CDS.
    const objects = [
      secret('entando-tenants-secret', {
        ENTANDO_TENANTS: JSON.stringify([
          { tenantCode: 'tenant1', dbUrl: 'jdbc:postgresql://db/x' },
          { tenantCode: 'tenant2', dbUrl: 'jdbc:postgresql://db/x' },
        ]),
      }),
    ];
    const { facts, configs } = await readTenants(new FakeKube(objects).client, app());
    const kc = { service: { name: 'kc-service', namespace: NS }, frontEndUrl: 'https://sso/auth' };
    const refusal = (realms: Parameters<typeof refuseTenancyLoss>[1], extra = {}) => {
      const warned: string[] = [];
      const output = { warn: (m: string) => warned.push(m) } as unknown as Output;
      const options = { ...DEFAULT_BACKUP_OPTIONS, ...extra };
      try {
        refuseTenancyLoss(facts, realms, `${NS}/quickstart`, options, output);
      } catch (err) {
        return (err as Error).message;
      }
      return warned.length > 0 ? `warned: ${warned.join('; ')}` : undefined;
    };
    const noRealm = classifyTenantRealms(configs, 'entando', kc, NS);
    expect(refusal(noRealm)).to.equal(
      `backup refused: EntandoApp ${NS}/quickstart is multi-tenant and this version does not carry the realm of tenants tenant1, tenant2 (no kcRealm in its ENTANDO_TENANTS object); pass --primary-tenant-only to back up the rest (the primary tenant's databases, realm and /entando-data, the secondary tenants' schemas; every CDS volume found) without it`,
    );
    expect(refusal(noRealm, { primaryTenantOnly: true })).to.equal(
      `warned: EntandoApp ${NS}/quickstart is multi-tenant: not in this archive (--primary-tenant-only): the realm of tenants tenant1, tenant2 (no kcRealm in its ENTANDO_TENANTS object)`,
    );
    // Every realm in the app's Keycloak, schemas and CDS files carried: no refusal at all.
    const withRealms = configs.map((c) => ({
      ...c,
      fields: { ...c.fields, kcRealm: c.code } as Record<string, string>,
    }));
    expect(refusal(classifyTenantRealms(withRealms, 'entando', kc, NS))).to.equal(undefined);
    // One realm elsewhere: named; the rest carries the others' realms.
    withRealms[1].fields.kcAuthUrl = 'https://kc.other.com/auth';
    expect(refusal(classifyTenantRealms(withRealms, 'entando', kc, NS))).to.equal(
      `backup refused: EntandoApp ${NS}/quickstart is multi-tenant and this version does not carry realm tenant2 of tenant tenant2 (https://kc.other.com/auth is another Keycloak than the app's (https://sso/auth)); pass --primary-tenant-only to back up the rest (the primary tenant's databases, realm and /entando-data, the secondary tenants' schemas and realms in the app's Keycloak; every CDS volume found) without it`,
    );
    // Without the keycloak component the realms are all counted as lost; schemas and CDS files
    // turned off are named again.
    expect(refusal(undefined, { tenantSchemas: false, tenantCdsFiles: false })).to.equal(
      `backup refused: EntandoApp ${NS}/quickstart is multi-tenant and this version does not carry its secondary tenants tenant1, tenant2 (Secret entando-tenants-secret): their schemas, realms and CDS files; pass --primary-tenant-only to back up the rest (the primary tenant's databases, realm and /entando-data) without it`,
    );
  });

  it('a value that is not a JSON array of tenants fails, naming where it was read', async () => {
    let err: unknown;
    await codes([secret('entando-tenants-secret', { ENTANDO_TENANTS: '{oops' })]).catch(
      (e: unknown) => (err = e),
    );
    expect((err as Error).message).to.match(
      /^Secret entando-tenants-secret: ENTANDO_TENANTS is not JSON/,
    );
  });
});
