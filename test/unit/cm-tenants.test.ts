// The CM stand-in's tenants (sandbox/cm, 7.3 per-tenant bundles, TENANTS.md §6) without a
// cluster: tenant selection, names, the tenants annotation, and one install per tenant through
// its route over file-backed datasources and an in-memory API server.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError, type Claims, type TokenVerifier } from '../../sandbox/cm/auth.js';
import type { CmConfig } from '../../sandbox/cm/config.js';
import { openDatasource } from '../../sandbox/cm/db.js';
import { InstallService } from '../../sandbox/cm/install.js';
import type { CmKube, Cr, DeBundle } from '../../sandbox/cm/kube.js';
import { bundleCode, bundleId, linkName, pluginCode } from '../../sandbox/cm/names.js';
import type { PostInit } from '../../sandbox/cm/postinit.js';
import { writeDescriptor } from '../../sandbox/cm/registry.js';
import { schemaDdl } from '../../sandbox/cm/schema.js';
import { route, type Deps, type TenantDeps } from '../../sandbox/cm/server.js';
import { Store } from '../../sandbox/cm/store.js';
import {
  bundleForTenant,
  parseCmTenants,
  selectTenant,
  tenantIssuer,
  withTenant,
  type CmTenant,
} from '../../sandbox/cm/tenants.js';
import { pluginLinkName, tenantId } from '../../src/entando/plugin-names.js';

const sha8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** One ENTANDO_TENANTS object with the fields the 7.3 CM requires; `extra` overrides. */
function tenantJson(code: string, extra: Record<string, unknown> = {}) {
  const fields: Record<string, unknown> = {
    tenantCode: code,
    fqdns: `${code}.qs.example.com`,
    deDbUrl: `jdbc:postgresql://pg.ns.svc.cluster.local:5432/db?currentSchema=${code}_cmschema`,
    deDbUsername: 'postgres',
    deDbPassword: 'pw',
    kcAuthUrl: 'http://sso.example.com/auth/',
    kcRealm: code,
    deKcClientId: 'qs-de',
    deKcClientSecret: 's',
    kcClientId: 'qs',
  };
  return Object.assign(fields, extra);
}

describe('CM stand-in: tenants configuration and selection', () => {
  it('parses ENTANDO_TENANTS as the CM reads it, and refuses what TenantValidator refuses', () => {
    const [t] = parseCmTenants(
      JSON.stringify([tenantJson('t1', { fqdns: ' a.ex.com, b.ex.com' })]),
    );
    expect(t.fqdns).to.deep.equal(['a.ex.com', 'b.ex.com']);
    expect(tenantIssuer(t)).to.equal('http://sso.example.com/auth/realms/t1');
    expect(parseCmTenants(undefined)).to.deep.equal([]);
    expect(parseCmTenants('  ')).to.deep.equal([]);
    expect(() => parseCmTenants(JSON.stringify([tenantJson('t1', { deDbUrl: '' })]))).to.throw(
      /tenant t1: missing deDbUrl/,
    );
    expect(() => parseCmTenants(JSON.stringify([tenantJson('Primary')]))).to.throw(/reserved/);
    expect(() =>
      parseCmTenants(
        JSON.stringify([tenantJson('t1'), tenantJson('t2', { fqdns: 't1.qs.example.com' })]),
      ),
    ).to.throw(/fqdn t1.qs.example.com of tenant t2/);
    expect(() => parseCmTenants('{"tenantCode":"t1"}')).to.throw(/not a JSON array/);
  });

  it('selects the tenant: header, then the first host given against fqdns, then primary', () => {
    const tenants = parseCmTenants(JSON.stringify([tenantJson('t1'), tenantJson('t2')]));
    const pick = (h: Record<string, string>, server?: string) => selectTenant(tenants, h, server);
    expect(pick({ 'x-entando-tenantcode': 't2', host: 't1.qs.example.com' })).to.equal('t2');
    expect(pick({ 'x-entando-tenantcode': ' ', host: 't1.qs.example.com' })).to.equal('t1');
    expect(pick({ 'x-forwarded-host': 't2.qs.example.com', host: 't1.qs.example.com' })).to.equal(
      't2',
    );
    // A forwarded host naming no tenant decides primary: Host is not looked at (TenantFilterUtils).
    expect(pick({ 'x-forwarded-host': 'other.example.com', host: 't1.qs.example.com' })).to.equal(
      'primary',
    );
    expect(pick({ host: '127.0.0.1:41234' })).to.equal('primary');
    expect(pick({}, 't2.qs.example.com')).to.equal('t2');
    expect(pick({})).to.equal('primary');
    // An unknown code is taken as given (its requests then find no issuer).
    expect(pick({ 'x-entando-tenantcode': 'nope' })).to.equal('nope');
  });

  it('plugin names carry sha256(tenant)[:8] for a secondary tenant only', () => {
    const url = 'docker://registry.hub.docker.com/org/simple-ms-bundle';
    const p = { image: 'org/simple-ms:1.0.0', deploymentBaseName: 'simple-ms' };
    const primary = pluginCode(url, p);
    expect(primary).to.equal(`pn-${bundleId(url)}-${sha8('simple-ms')}-simple-ms`);
    expect(pluginCode(url, p, 'primary')).to.equal(primary);
    expect(tenantId('t1')).to.equal(sha8('t1'));
    expect(pluginCode(url, p, 't1')).to.equal(
      `pn-${bundleId(url)}-${sha8('t1')}-${sha8('simple-ms')}-simple-ms`,
    );
    // Links: `<app>-<plugin>` cut to 58, plus -link (the tenant names are longer).
    const long = pluginCode(url, p, 't1');
    expect(linkName('quickstart-application', long)).to.equal(
      pluginLinkName('quickstart-application', long),
    );
    expect(linkName('quickstart-application', long)).to.have.length(63);
  });

  it('the tenants annotation: who sees a bundle, and its upkeep', () => {
    const ann = { 'entando.org/tenants': 'primary, t1', 'entando.org/pbc': '[]' };
    expect(bundleForTenant(ann, 't1')).to.equal(true);
    expect(bundleForTenant(ann, 't2')).to.equal(false);
    expect(bundleForTenant({}, 'primary')).to.equal(true);
    expect(bundleForTenant({}, 't1')).to.equal(false);
    expect(withTenant(ann, 't1', true)).to.equal(undefined);
    expect(withTenant(ann, 't2', true)).to.deep.equal({
      'entando.org/tenants': 'primary,t1,t2',
      'entando.org/pbc': '[]',
    });
    expect(withTenant(ann, 'primary', false)?.['entando.org/tenants']).to.equal('t1');
  });
});

/** An API server holding EntandoDeBundles, plugins and links; everything it is given is ready. */
class MemKube {
  readonly objects = new Map<string, Cr>();
  private key = (plural: string, ns: string, name: string) => `${plural}/${ns}/${name}`;
  bundles(namespaces: string[]): Promise<DeBundle[]> {
    return Promise.resolve(
      [...this.objects.entries()]
        .filter(([k]) => k.startsWith('entandodebundles/'))
        .map(([, v]) => structuredClone(v) as unknown as DeBundle)
        .filter((b) => namespaces.includes(b.metadata.namespace)),
    );
  }
  get(plural: string, ns: string, name: string): Promise<Cr | undefined> {
    const o = this.objects.get(this.key(plural, ns, name));
    return Promise.resolve(o && structuredClone(o));
  }
  createOrReplace(plural: string, body: Cr): Promise<Cr> {
    const o = { ...structuredClone(body), status: { phase: 'successful' } };
    this.objects.set(this.key(plural, body.metadata.namespace!, body.metadata.name), o);
    return Promise.resolve(o);
  }
  delete(plural: string, ns: string, name: string): Promise<void> {
    this.objects.delete(this.key(plural, ns, name));
    return Promise.resolve();
  }
  deploymentReady(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

/** Accepts `Bearer <tenant>` only: shows which tenant's verifier a request reached. */
function fakeAuth(tenant: string): TokenVerifier {
  return {
    authenticate: (h: string | undefined) => {
      if (h !== `Bearer ${tenant}`) throw new HttpError(401, undefined);
      return Promise.resolve({ sub: `${tenant}-sa` } as Claims);
    },
    checkWritePermission: () => undefined,
  } as unknown as TokenVerifier;
}

describe('CM stand-in: per-tenant install through the route', () => {
  const NS = 'ns1';
  const URL_ = 'docker://registry.hub.docker.com/org/simple-ms-bundle';
  const CODE = bundleCode('simple-ms-bundle', URL_);
  let dir: string;
  let kube: MemKube;
  let handle: ReturnType<typeof route>;
  let stores: Record<string, Store>;

  const cfgOf = (tenants: CmTenant[]): CmConfig => ({
    appName: 'qs',
    namespace: NS,
    appHostName: 'qs.example.com',
    useTls: false,
    repositoryNamespaces: [],
    issuer: 'http://sso.example.com/auth/realms/entando',
    realm: 'entando',
    jwksUrl: 'http://127.0.0.1:1/none',
    appClientId: 'qs',
    port: 0,
    host: '127.0.0.1',
    kubeconfig: '/dev/null',
    registryDir: join(dir, 'registry'),
    pluginReadinessTimeoutMs: 5000,
    pluginPollMs: 10,
    postInit: false,
    tenants,
    keycloakUrl: 'http://127.0.0.1:1',
  });

  async function storeOf(name: string): Promise<Store> {
    const db = openDatasource(
      {
        url: 'jdbc:h2:file:x',
        username: '',
        password: '',
        stateFile: join(dir, `${name}.json`),
        what: name,
      },
      {},
    );
    await db.ensureSchema(schemaDdl(db.dialect));
    return new Store(db);
  }

  async function setUp(tenantCodes: string[]) {
    dir = mkdtempSync(join(tmpdir(), 'cm-tenants-'));
    kube = new MemKube();
    const tenants = parseCmTenants(JSON.stringify(tenantCodes.map((c) => tenantJson(c))));
    const cfg = cfgOf(tenants);
    writeDescriptor(cfg.registryDir, {
      url: URL_,
      version: '1.0.0',
      name: 'simple-ms-bundle',
      plugins: [
        { name: 'simple-ms', image: 'org/simple-ms:1.0.0', deploymentBaseName: 'simple-ms' },
      ],
      widgets: [{ code: 'w1' }],
    });
    await kube.createOrReplace('entandodebundles', {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoDeBundle',
      metadata: {
        name: CODE,
        namespace: NS,
        annotations: { 'entando.org/tenants': ['primary', ...tenantCodes].join(',') },
      },
      spec: {
        details: { name: 'simple-ms-bundle', 'dist-tags': { latest: '1.0.0' } },
        tags: [{ version: '1.0.0', tarball: URL_ }],
      } as Cr['spec'],
    });
    stores = { primary: await storeOf('primary') };
    const k = kube as unknown as CmKube;
    const install = new InstallService(cfg, stores.primary, k, () => undefined);
    const tdeps = new Map<string, TenantDeps>();
    for (const t of tenants) {
      stores[t.code] = await storeOf(t.code);
      tdeps.set(t.code, {
        store: stores[t.code],
        auth: fakeAuth(t.code),
        install: new InstallService(cfg, stores[t.code], k, () => undefined, {
          tenant: t.code,
          lock: install.lock,
        }),
      });
    }
    const deps: Deps = {
      auth: fakeAuth('primary'),
      install,
      store: stores.primary,
      postInit: { status: 'SUCCESSFUL' } as PostInit,
      log: () => undefined,
      tenants: tenants.length ? { configs: tenants, deps: tdeps } : undefined,
    };
    handle = route(deps);
  }

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const call = (method: string, path: string, tenant?: string, token = tenant ?? 'primary') =>
    handle({
      method,
      path: `/digital-exchange${path}`,
      query: new URLSearchParams(),
      headers: {
        authorization: `Bearer ${token}`,
        ...(tenant ? { 'x-entando-tenantcode': tenant } : {}),
      },
      body: method === 'POST' ? { version: '1.0.0' } : undefined,
    });

  async function installAndWait(tenant?: string) {
    // The global lock is let go just after the job ends: a 409 meanwhile is retried.
    let started;
    for (let i = 0; !started; i++) {
      started = await call('POST', `/components/${CODE}/install`, tenant).catch((e: unknown) => {
        if ((e as HttpError).status !== 409 || i > 50) throw e;
        return new Promise<undefined>((res) => setTimeout(() => res(undefined), 10));
      });
    }
    expect(started.status).to.equal(201);
    for (let i = 0; i < 200; i++) {
      const r = await call('GET', `/components/${CODE}/install`, tenant);
      const status = (r.body as { payload: { status: string } }).payload.status;
      if (status !== 'INSTALL_CREATED' && status !== 'INSTALL_IN_PROGRESS') return status;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('install did not end');
  }

  it('installs into the tenant the header names: its datasource, its plugin names, spec.tenantCode, ENTANDO_TENANT_CODE', async () => {
    await setUp(['t1']);
    expect(await installAndWait('t1')).to.equal('INSTALL_COMPLETED');
    expect((await stores.t1.installedBundles()).map((b) => b.bundleCode)).to.deep.equal([CODE]);
    expect(await stores.primary.installedBundles()).to.deep.equal([]);
    const name = pluginCode(
      URL_,
      { image: 'org/simple-ms:1.0.0', deploymentBaseName: 'simple-ms' },
      't1',
    );
    const plugin = await kube.get('entandoplugins', NS, name);
    expect(plugin?.spec?.tenantCode).to.equal('t1');
    const env = plugin?.spec?.environmentVariables as { name: string; value?: string }[];
    expect(env.find((e) => e.name === 'ENTANDO_TENANT_CODE')?.value).to.equal('t1');
    expect(plugin?.spec?.ingressPath).to.equal(`/${CODE}-${sha8('t1')}/simple-ms`);
    const link = await kube.get('entandoapppluginlinks', NS, linkName('qs', name));
    expect(link?.spec?.tenantCode).to.equal('t1');
    expect((await stores.t1.pluginData()).map((r) => r.plugin_code)).to.deep.equal([name]);
    // The primary sees the bundle as not installed; its token is not the tenant's.
    const primary = await call('GET', `/components/${CODE}`);
    expect((primary.body as { payload: { installed: boolean } }).payload.installed).to.equal(false);
    let refused: unknown;
    await call('GET', '/components', 't1', 'primary').catch((e: unknown) => (refused = e));
    expect((refused as HttpError).status).to.equal(401);
    await call('GET', '/components', 'nope', 'nope').catch((e: unknown) => (refused = e));
    expect((refused as HttpError).status).to.equal(401);
  });

  it('uninstall for a tenant takes it off the bundle annotation; the primary keeps it', async () => {
    await setUp(['t1']);
    expect(await installAndWait('t1')).to.equal('INSTALL_COMPLETED');
    expect(await installAndWait()).to.equal('INSTALL_COMPLETED');
    const primaryPlugin = pluginCode(URL_, {
      image: 'org/simple-ms:1.0.0',
      deploymentBaseName: 'simple-ms',
    });
    expect((await kube.get('entandoplugins', NS, primaryPlugin))?.spec?.tenantCode).to.equal(
      'primary',
    );
    expect((await call('POST', `/components/${CODE}/uninstall`, 't1')).status).to.equal(201);
    for (let i = 0; i < 200; i++) {
      const b = (await kube.bundles([NS]))[0];
      const job = await call('GET', `/components/${CODE}/uninstall`, 't1');
      const done = (job.body as { payload: { status: string } }).payload.status;
      if (done === 'UNINSTALL_COMPLETED') {
        expect(b.metadata.annotations?.['entando.org/tenants']).to.equal('primary');
        expect(await stores.t1.installedBundles()).to.deep.equal([]);
        expect(await stores.primary.installedBundles()).to.have.length(1);
        return;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('uninstall for t1 did not end');
  });

  it('single-tenant (no ENTANDO_TENANTS): headers ignored, no tenantCode, no annotation change', async () => {
    await setUp([]);
    await kube.createOrReplace('entandodebundles', {
      ...(await kube.get('entandodebundles', NS, CODE))!,
      metadata: { name: CODE, namespace: NS, annotations: { 'entando.org/pbc': '[]' } },
    });
    const started = await call('POST', `/components/${CODE}/install`, 't1', 'primary');
    expect(started.status).to.equal(201);
    for (let i = 0; i < 200 && (await stores.primary.installedBundles()).length === 0; i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    const name = pluginCode(URL_, {
      image: 'org/simple-ms:1.0.0',
      deploymentBaseName: 'simple-ms',
    });
    const plugin = await kube.get('entandoplugins', NS, name);
    expect(plugin?.spec?.tenantCode).to.equal(undefined);
    expect(plugin?.spec?.ingressPath).to.equal(`/${CODE}/simple-ms`);
    const env = plugin?.spec?.environmentVariables as { name: string }[];
    expect(env.map((e) => e.name)).to.not.include('ENTANDO_TENANT_CODE');
    expect((await kube.bundles([NS]))[0].metadata.annotations).to.deep.equal({
      'entando.org/pbc': '[]',
    });
  });
});
