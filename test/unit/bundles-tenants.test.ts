// Per-tenant bundles (Entando 7.3): what the backup asks the CM for, the tenant's CM access, the
// restore's per-tenant plan steps, plugin placement and verify's expected differences.
import { expect } from 'chai';
import nock from 'nock';
import { markReinstalled } from '../../src/compare/reinstalled.js';
import { ABSENT, type CompareRow } from '../../src/compare/rows.js';
import {
  bundlePluginNames,
  tenantsToRecord,
  type BundlesSummary,
} from '../../src/components/bundles/backup.js';
import { ComponentManagerClient } from '../../src/components/bundles/cm-client.js';
import { TENANT_HEADER, tenantCmAccess } from '../../src/components/bundles/connect.js';
import { describeBundles } from '../../src/components/bundles/describe.js';
import { bundlesModeFor } from '../../src/components/bundles/mode.js';
import { tenantBundleSteps } from '../../src/components/bundles/restore.js';
import type { LoadedArchive } from '../../src/components/component.js';
import { databasesPhase } from '../../src/components/databases/restore.js';
import { filesPhase } from '../../src/components/files/restore-plan.js';
import { phase } from '../../src/contract/order.js';
import { pluginDataPlacement, type RestoreMapping } from '../../src/contract/mapping.js';
import { pluginLinkName, tenantId } from '../../src/entando/plugin-names.js';
import type { TenantConfig } from '../../src/entando/tenants.js';

const tenant = (code: string, fields: Record<string, string> = {}): TenantConfig => ({
  code,
  from: 'Secret entando-tenants-secret',
  fields: { tenantCode: code, ...fields },
});

const T1_PLUGIN = `pn-6cd85816-${tenantId('t1')}-93ce70fd-simple-ms`;

const summary: BundlesSummary = {
  recorded: true,
  bundles: [
    { code: 'ms-1', installed: true, version: '2.0.0', plugins: [{ pluginCode: 'pn-1-2-ms' }] },
  ],
  tenants: [
    {
      tenant: 't1',
      recorded: true,
      bundles: [
        {
          code: 'simple-ms-bundle-6cd85816',
          installed: true,
          version: '1.0.1',
          plugins: [{ pluginCode: T1_PLUGIN }],
        },
        { code: 'widgets-1', installed: false, plugins: [] },
      ],
    },
    { tenant: 't2', recorded: false, reason: 'Keycloak refused', bundles: [] },
  ],
};

describe('bundles of secondary tenants (7.3)', () => {
  afterEach(() => nock.cleanAll());

  it('asks for every tenant of a 7.3 app; none of a 7.2 app, saying why in a line', () => {
    expect(tenantsToRecord([])).to.deep.equal({ tenants: [] });
    const t73 = [tenant('t1', { deKcClientId: 'qs-de' }), tenant('t2')];
    expect(tenantsToRecord(t73)).to.deep.equal({ tenants: t73 });
    const r = tenantsToRecord([tenant('t1'), tenant('t2')]);
    expect(r.tenants).to.deep.equal([]);
    expect(r.reason).to.match(/^no tenant bundles: tenants t1, t2 carry no deKcClientId.*7\.2/);
  });

  it("a tenant's CM access: its deKc client in its realm, or why not", () => {
    expect(
      tenantCmAccess(
        tenant('t1', {
          deKcClientId: 'qs-de',
          deKcClientSecret: 's',
          kcRealm: 'realm1',
          kcAuthUrl: 'https://qs.example.com/auth/',
        }),
      ),
    ).to.deep.equal({
      clientId: 'qs-de',
      clientSecret: 's',
      realm: 'realm1',
      authUrl: 'https://qs.example.com/auth',
    });
    const noRealm = tenantCmAccess(tenant('t1', { deKcClientId: 'qs-de', deKcClientSecret: 's' }));
    expect(noRealm).to.include({ realm: 't1' });
    const missing = tenantCmAccess(tenant('t1', { deKcClientId: 'qs-de' }));
    expect(missing)
      .to.have.property('why')
      .that.match(/tenant t1 has no deKcClientSecret/);
  });

  it('sends the tenant header on every call', async () => {
    const scope = nock('http://cm.invalid', { reqheaders: { [TENANT_HEADER]: 't1' } })
      .get('/digital-exchange/components')
      .query(true)
      .reply(200, { payload: [{ code: 'b' }], metaData: { lastPage: 1 } });
    const cm = new ComponentManagerClient(
      'http://cm.invalid/digital-exchange',
      { token: () => Promise.resolve('tok') },
      undefined,
      { [TENANT_HEADER]: 't1' },
    );
    expect((await cm.components()).map((b) => b.code)).to.deep.equal(['b']);
    expect(scope.isDone()).to.equal(true);
  });

  it('plans one step per tenant after app-env: its installed bundles, or why none', () => {
    const app = { apiVersion: 'entando.org/v1', kind: 'EntandoApp', namespace: 'dst', name: 'qs' };
    const steps = tenantBundleSteps(summary, app, 60_000);
    expect(steps.map((s) => [s.phase, s.action])).to.deep.equal([
      ['tenant-bundles-reinstall', 'run'],
      ['tenant-bundles-reinstall', 'skip'],
    ]);
    expect(steps[0].priority).to.be.greaterThan(phase('app-env').priority);
    expect(steps[0].changes).to.deep.equal([
      'tenant t1: install simple-ms-bundle-6cd85816 1.0.1 (conflictStrategy SKIP)',
    ]);
    expect(steps[0].reason)
      .to.include('X-ENTANDO-TENANTCODE: t1')
      .and.include(T1_PLUGIN)
      .and.include("tenant's hash")
      .and.include('1 bundle not installed for the tenant in the source left alone');
    expect(steps[0].run).to.be.a('function');
    expect(steps[1].reason).to.equal(
      'tenant t2: its bundles were not recorded (Keycloak refused): none reinstalled',
    );
  });

  it("the tenants' plugins are made by their reinstall: not restored as objects, data after it", () => {
    const archive = { manifest: { components: { bundles: summary } } } as unknown as LoadedArchive;
    const b = bundlesModeFor(archive, 'reinstall')!;
    expect(b.plugins).to.have.members(['pn-1-2-ms', T1_PLUGIN]);
    expect(b.tenantPlugins).to.deep.equal([T1_PLUGIN]);
    expect(bundlePluginNames(summary)).to.have.length(2);
    const mapping = { bundles: b } as RestoreMapping;
    const t = pluginDataPlacement(mapping, T1_PLUGIN);
    expect(t).to.deep.equal({ afterReinstall: true, tenantReinstall: true });
    expect(pluginDataPlacement(mapping, 'pn-1-2-ms')).to.deep.equal({
      afterReinstall: true,
    });
    expect(databasesPhase('EntandoPlugin', t)).to.equal('reinstalled-tenant-plugin-databases');
    expect(filesPhase('EntandoPlugin', t)).to.equal('reinstalled-tenant-plugin-files');
    expect(databasesPhase('EntandoPlugin', { afterReinstall: true })).to.equal(
      'reinstalled-plugin-databases',
    );
  });

  it("verify: a tenant's reinstalled plugin and its (cut) link are expected differences", () => {
    const app = 'quickstart-application';
    const link = pluginLinkName(app, T1_PLUGIN);
    expect(link).to.have.length(63);
    const missing = (name: string): CompareRow => ({
      section: 'object',
      name,
      source: ABSENT,
      target: 'abc',
      verdict: 'missing',
    });
    const rows = markReinstalled(
      [missing(`EntandoPlugin dst/${T1_PLUGIN}`), missing(`EntandoAppPluginLink dst/${link}`)],
      summary,
      app,
    );
    expect(rows.map((r) => r.verdict)).to.deep.equal(['expected', 'expected']);
    expect(rows[0].why).to.include('simple-ms-bundle-6cd85816 (tenant t1)');
  });

  it('describes the tenants’ bundles, and why none for a 7.2 app', () => {
    const lines = describeBundles(summary);
    expect(lines).to.include('tenant t1: 2 known, 1 installed');
    expect(lines).to.include('tenant t2: not recorded (Keycloak refused)');
    const v72 = describeBundles({
      recorded: true,
      bundles: [],
      tenantsReason: 'no tenant bundles: tenant t1 carry no deKcClientId',
    });
    expect(v72.at(-1)).to.match(/^no tenant bundles/);
  });
});
