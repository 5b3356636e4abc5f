import { expect } from 'chai';
import { tenancyLoss, tenancyOf } from '../../src/entando/tenants.js';
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
