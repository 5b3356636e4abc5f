import { expect } from 'chai';
import path from 'node:path';
import type { LoadedArchive, PlanContext } from '../../src/components/component.js';
import { decryptionKeys } from '../../src/archive/encryption.js';
import { newManifest } from '../../src/archive/manifest.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { planKeycloakSteps } from '../../src/components/keycloak/restore-plan.js';
import type { KeycloakSummary } from '../../src/contract/manifest.js';
import type { PlanStep } from '../../src/contract/plan.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import { Results } from '../../src/report/results.js';
import { phase } from '../../src/restore/order.js';
import { COMPONENTS } from '../../src/components/index.js';
import { mappingFor, type PlanRequest } from '../../src/restore/restore.js';
import type { KubeObject } from '../../src/kube/object.js';
import { FakeKube } from '../helpers/fakes.js';
import { tempDir } from '../helpers/tmp.js';

const ADMIN_ENTRY = 'data/keycloak/admin-credentials.json';
const ADMIN = { username: 'admin', password: 'S3cret' };

const realmSummary: KeycloakSummary = {
  mode: 'realm',
  realm: 'entando',
  keycloakVersion: '18.0.2',
  counts: {
    users: 12,
    serviceAccounts: 2,
    federatedUsers: 0,
    clients: 7,
    groups: 3,
    realmRoles: 4,
    clientRoles: 5,
    clientScopes: 0,
    identityProviders: 0,
    keyProviders: 0,
  },
  locales: ['en', 'it'],
  realmEntry: 'data/keycloak/entando-realm.json',
  frontEndUrl: 'https://kc.example.com/auth',
  adminEntry: ADMIN_ENTRY,
};

const externalSummary: KeycloakSummary = {
  mode: 'external',
  reason: 'the app uses an EntandoKeycloakServer of another namespace',
  realm: 'entando',
};

/**
 * A plain archive file holding the admin credentials (what keep's step reads), with the app
 * qs (served on qs.example.com) of namespace src and the Keycloak summary given.
 */
async function archiveWith(
  dir: string,
  keycloak: KeycloakSummary,
  extra: KubeObject[] = [],
): Promise<LoadedArchive> {
  const file = path.join(dir, 'a.tar');
  const writer = await ArchiveWriter.open(
    file,
    newManifest(
      { name: 'kubectl-entando', version: 'test' },
      { server: 's', context: 'c', namespace: 'src', app: 'qs' },
      new Date('2026-01-01T00:00:00Z'),
    ),
    {},
  );
  writer.manifest.components.keycloak = keycloak;
  await writer.addBuffer(ADMIN_ENTRY, Buffer.from(JSON.stringify(ADMIN)));
  const manifest = await writer.commit();
  const app = {
    apiVersion: ENTANDO_API,
    kind: 'EntandoApp',
    metadata: { name: 'qs', namespace: 'src' },
    spec: { ingressHostName: 'qs.example.com' },
  };
  return { file, keys: decryptionKeys({}, { env: {} }), manifest, objects: [app, ...extra] };
}

function planContext(
  archive: LoadedArchive,
  req: Partial<PlanRequest>,
  target = new FakeKube(),
): PlanContext {
  return {
    parallel: 1,
    archive,
    existing: 'fail',
    mapping: mappingFor(archive, { components: COMPONENTS, targetNamespace: 'dst', ...req }),
    target: target.client,
    results: new Results(),
    windows: new ScaleWindows(),
  };
}

/** The plain facts of a step: where it goes, what it does to which object. */
const summary = (s: PlanStep) => ({
  phase: s.phase,
  priority: s.priority,
  component: s.component,
  action: s.action,
  object: s.object && `${s.object.kind} ${s.object.namespace}/${s.object.name}`,
});

describe('keycloak restore plan', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  describe('--keycloak realm', () => {
    it('one step after the links: the archived realm replaces the operator-made one', async () => {
      const steps = await planKeycloakSteps(
        planContext(await archiveWith(tmp.dir, realmSummary), {}),
      );
      expect(steps.map(summary)).to.deep.equal([
        {
          phase: 'keycloak',
          priority: phase('keycloak').priority,
          component: 'keycloak',
          action: 'run',
          object: 'EntandoApp dst/qs',
        },
      ]);
      expect(steps[0].changes).to.deep.equal([
        "replace the target operator's realm entando with the archived one: 10 users, 7 clients, 3 groups, 9 roles (Keycloak 18.0.2)",
        'localization texts: en, it',
      ]);
      expect(steps[0].reason).to.match(/the fresh realm is deleted and the archived one imported/);
      expect(steps[0].run).to.be.a('function');
    });

    it('a new host: redirect URIs and web origins get it beside the old one', async () => {
      const archive = await archiveWith(tmp.dir, realmSummary);
      const steps = await planKeycloakSteps(
        planContext(archive, { keycloak: 'realm', ingressHost: 'qs2.example.com' }),
      );
      expect(steps).to.have.length(1);
      expect(steps[0].changes).to.include(
        'redirect URIs and web origins naming qs.example.com get qs2.example.com beside them',
      );
    });

    it('is the default when the archive holds the realm', async () => {
      const archive = await archiveWith(tmp.dir, realmSummary);
      expect(planContext(archive, {}).mapping.keycloak).to.equal('realm');
    });
  });

  describe('--keycloak skip', () => {
    it('one skip step, saying why the SSO client secrets are left out', async () => {
      const archive = await archiveWith(tmp.dir, realmSummary);
      const steps = await planKeycloakSteps(planContext(archive, { keycloak: 'skip' }));
      expect(steps.map(summary)).to.deep.equal([
        {
          phase: 'keycloak',
          priority: phase('keycloak').priority,
          component: 'keycloak',
          action: 'skip',
          object: 'EntandoApp dst/qs',
        },
      ]);
      expect(steps[0].reason).to.equal(
        "realm entando not restored (--keycloak skip): the target's operator makes new clients in its own realm; the archive's SSO client secrets are left out so that they match",
      );
      expect(steps[0].changes).to.deep.equal([]);
    });
  });

  describe('--keycloak keep', () => {
    it('of an external Keycloak (the default for it): nothing to do, one skip step', async () => {
      const archive = await archiveWith(tmp.dir, externalSummary);
      const ctx = planContext(archive, {});
      expect(ctx.mapping.keycloak).to.equal('keep');
      expect(ctx.mapping.originalKeycloak).to.equal(undefined);
      const steps = await planKeycloakSteps(ctx);
      expect(steps.map((s) => [s.phase, s.action])).to.deep.equal([['keycloak', 'skip']]);
      expect(steps[0].reason).to.match(
        /^realm entando not restored \(--keycloak keep\): the restored app keeps using the external Keycloak its restored objects name/,
      );
    });

    it('of an in-namespace Keycloak, same host: it is declared external before the app, nothing else', async () => {
      const archive = await archiveWith(tmp.dir, realmSummary);
      const steps = await planKeycloakSteps(planContext(archive, { keycloak: 'keep' }));
      expect(steps.map(summary)).to.deep.equal([
        {
          phase: 'external-services',
          priority: phase('external-services').priority,
          component: 'keycloak',
          action: 'run',
          object: 'EntandoKeycloakServer dst/qs-original-sso',
        },
      ]);
      expect(steps[0].priority).to.be.lessThan(phase('app').priority);
      expect(steps[0].changes).to.deep.equal([
        'EntandoKeycloakServer qs-original-sso (UseExternal, frontEndUrl https://kc.example.com/auth) and Secret qs-original-sso-admin-secret',
      ]);
    });

    it('of an in-namespace Keycloak, new host: its clients also get the new host', async () => {
      const archive = await archiveWith(tmp.dir, realmSummary);
      const ctx = planContext(archive, { keycloak: 'keep', ingressHost: 'qs2.example.com' });
      ctx.keycloakUrl = 'http://127.0.0.1:8080/auth';
      const steps = await planKeycloakSteps(ctx);
      expect(steps.map(summary)).to.deep.equal([
        {
          phase: 'external-services',
          priority: phase('external-services').priority,
          component: 'keycloak',
          action: 'run',
          object: 'EntandoKeycloakServer dst/qs-original-sso',
        },
        {
          phase: 'keycloak',
          priority: phase('keycloak').priority,
          component: 'keycloak',
          action: 'run',
          object: 'EntandoApp dst/qs',
        },
      ]);
      expect(steps[1].changes).to.deep.equal([
        'clients of realm entando: qs2.example.com beside qs.example.com',
      ]);
      // --keycloak-url is where this machine reaches it.
      expect(steps[1].reason).to.contain('(http://127.0.0.1:8080/auth)');
    });

    it("the declaring step applies the server and its admin secret (the archive's credentials)", async () => {
      const archive = await archiveWith(tmp.dir, realmSummary);
      const kube = new FakeKube();
      const [declare] = await planKeycloakSteps(planContext(archive, { keycloak: 'keep' }, kube));
      await declare.run!({
        target: kube.client,
        results: new Results(),
        signal: new AbortController().signal,
        progress: () => undefined,
      });
      expect(kube.calls).to.deep.equal([
        'apply Secret dst/qs-original-sso-admin-secret',
        'apply EntandoKeycloakServer dst/qs-original-sso',
      ]);
      const secret = kube.find('Secret', 'dst', 'qs-original-sso-admin-secret')!;
      const data = Object.fromEntries(
        Object.entries(secret.data as Record<string, string>).map(([k, v]) => [
          k,
          Buffer.from(v, 'base64').toString('utf8'),
        ]),
      );
      expect(data).to.deep.equal({ ...ADMIN, url: 'https://kc.example.com/auth' });
      expect(kube.find('EntandoKeycloakServer', 'dst', 'qs-original-sso')!.spec).to.deep.equal({
        provisioningStrategy: 'UseExternal',
        frontEndUrl: 'https://kc.example.com/auth',
        adminSecretName: 'qs-original-sso-admin-secret',
        defaultRealm: 'entando',
      });
    });
  });

  describe('secondary tenants realms', () => {
    const tenantsSecret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'entando-tenants-secret', namespace: 'src' },
      data: {
        ENTANDO_TENANTS: Buffer.from(
          JSON.stringify([
            { tenantCode: 't1', kcRealm: 't1', fqdns: 't1.qs.example.com' },
            { tenantCode: 't2', kcRealm: 't1', fqdns: 'shop.example.org' },
            { tenantCode: 't3', kcRealm: 'entando', fqdns: 't3.qs.example.com' },
            { tenantCode: 't4', kcRealm: 't4', fqdns: 't4.qs.example.com' },
          ]),
        ).toString('base64'),
      },
    };
    const withTenants: KeycloakSummary = {
      ...realmSummary,
      tenantRealms: [
        {
          tenants: ['t1', 't2'],
          realm: 't1',
          mode: 'realm',
          counts: { ...realmSummary.counts!, users: 6, serviceAccounts: 1, clients: 5 },
          realmEntry: 'data/keycloak/t1-realm.json',
        },
        { tenants: ['t3'], realm: 'entando', mode: 'app-realm' },
        {
          tenants: ['t4'],
          realm: 't4',
          mode: 'not-carried',
          reason: 'kc.other.com is another Keycloak',
        },
      ],
    };

    it('--keycloak realm: imported in the same step, with the hosts the tenants Secret moves', async () => {
      const archive = await archiveWith(tmp.dir, withTenants, [tenantsSecret]);
      const steps = await planKeycloakSteps(
        planContext(archive, {
          ingressHost: 'qs2.example.com',
          tenantHosts: { t2: ['shop.example.net'] },
        }),
      );
      expect(steps.map((s) => [s.phase, s.action])).to.deep.equal([['keycloak', 'run']]);
      expect(steps[0].changes.slice(3)).to.deep.equal([
        'tenants t1, t2: realm t1 imported in the same run: 5 users, 5 clients, 3 groups, 9 roles',
        'realm t1: redirect URIs and web origins naming qs.example.com get qs2.example.com, t1.qs.example.com get t1.qs2.example.com, shop.example.org get shop.example.net beside them',
        "realm t1: the secrets of the clients kcClientId and deKcClientId of tenants t1, t2 checked against kcClientSecret and deKcClientSecret of the restored ENTANDO_TENANTS (the import keeps the archived secrets, which the source's JSON held)",
        "tenant t3: the app's realm entando",
        'tenant t4: realm t4 not in the archive (kc.other.com is another Keycloak): left as it is',
      ]);
    });

    it('same host: no host line for the tenant realm', async () => {
      const archive = await archiveWith(tmp.dir, withTenants, [tenantsSecret]);
      const steps = await planKeycloakSteps(planContext(archive, {}));
      expect(steps[0].changes.filter((c) => c.startsWith('realm t1: redirect'))).to.deep.equal([]);
    });

    it('--keycloak skip names the tenant realms not restored', async () => {
      const archive = await archiveWith(tmp.dir, withTenants, [tenantsSecret]);
      const steps = await planKeycloakSteps(planContext(archive, { keycloak: 'skip' }));
      expect(steps).to.have.length(1);
      expect(steps[0].reason).to.contain(
        "the tenants' realms t1 (t1, t2), t4 (t4) are not restored either",
      );
    });

    it('--keycloak keep: the carried tenant realms stay on the source Keycloak, named', async () => {
      const archive = await archiveWith(tmp.dir, withTenants, [tenantsSecret]);
      const steps = await planKeycloakSteps(planContext(archive, { keycloak: 'keep' }));
      expect(steps.map((s) => [s.phase, s.action])).to.deep.equal([
        ['external-services', 'run'],
        ['keycloak', 'skip'],
      ]);
      expect(steps[1].reason).to.match(
        /^the tenants' realms t1 \(t1, t2\) are not restored \(--keycloak keep\): the restored tenants keep using the source's Keycloak/,
      );
    });
  });

  it('an archive without a Keycloak summary: no step', async () => {
    const archive = await archiveWith(tmp.dir, realmSummary);
    delete archive.manifest.components.keycloak;
    expect(await planKeycloakSteps(planContext(archive, {}))).to.deep.equal([]);
  });
});
