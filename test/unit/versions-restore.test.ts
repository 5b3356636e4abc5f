import { expect } from 'chai';
import { decryptionKeys } from '../../src/archive/encryption.js';
import { newManifest } from '../../src/archive/manifest.js';
import type { LoadedArchive } from '../../src/components/component.js';
import { COMPONENTS } from '../../src/components/index.js';
import type { KeycloakSummary, RecordedVersions } from '../../src/contract/manifest.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import type { KubeObject } from '../../src/kube/object.js';
import { planText } from '../../src/cli/render/restore.js';
import { planToJson } from '../../src/restore/plan.js';
import { planRestore } from '../../src/restore/restore.js';
import { readTargetVersions } from '../../src/restore/target-versions.js';
import { compareAll, type VersionCheck } from '../../src/restore/versions.js';
import { DOCKER_IMAGE_INFO } from '../../sandbox/fixture/entando-7.3.0.js';
import { FakeKube } from '../helpers/fakes.js';

const PG = 'default-postgresql-dbms-in-namespace-service.src.svc.cluster.local:5432';

/** What a 7.1.6 source records: Keycloak 15.1.1, entando-postgres-rocky 14.1.0. */
const source716: RecordedVersions = {
  entando: { version: '7.1.6', from: 'ConfigMap src/entando-docker-image-info' },
  keycloak: { version: '15.1.1', from: 'serverinfo of Keycloak src/kc-0' },
  dbms: [
    {
      server: PG,
      dbms: 'postgresql',
      location: 'dbms-pod',
      version: '14.1',
      product: 'postgresql',
      image: 'entando/entando-postgres-rocky:14.1.0',
      from: 'SELECT version(); in pod src/db-0',
    },
  ],
};

const source730: RecordedVersions = {
  entando: { version: '7.3.0', from: 'ConfigMap src/entando-docker-image-info' },
  keycloak: { version: '18.0.2', from: 'serverinfo of Keycloak src/kc-0' },
  dbms: [{ ...source716.dbms![0], image: 'entando/entando-postgres-rocky:v14.8', version: '15.4' }],
};

/** The image info of a target's release: 7.3.0's, or with its entries' versions replaced. */
function imageInfo(versions: Record<string, string> = {}): KubeObject {
  const data: Record<string, string> = { ...DOCKER_IMAGE_INFO };
  for (const [key, version] of Object.entries(versions)) {
    data[key] = JSON.stringify({ ...JSON.parse(data[key]), version });
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'entando-docker-image-info', namespace: 'dst' },
    data,
  };
}

const release716 = {
  'entando-de-app-wildfly-6-4': '7.1.6',
  'entando-keycloak': '7.1.1',
  'postgresql-12-centos7': '14.1.0',
};

const realm: KeycloakSummary = {
  mode: 'realm',
  realm: 'entando',
  keycloakVersion: '15.1.1',
  counts: {
    users: 3,
    serviceAccounts: 1,
    federatedUsers: 0,
    clients: 4,
    groups: 0,
    realmRoles: 1,
    clientRoles: 1,
    clientScopes: 0,
    identityProviders: 0,
    keyProviders: 0,
  },
  realmEntry: 'data/keycloak/entando-realm.json',
};

function archive(versions: RecordedVersions | undefined): LoadedArchive {
  const manifest = newManifest(
    { name: 'kubectl-entando', version: 'test' },
    { server: 's', context: 'c', namespace: 'src', app: 'qs' },
    new Date('2026-01-01T00:00:00Z'),
  );
  manifest.versions = versions;
  manifest.components.keycloak = { ...realm, keycloakVersion: versions?.keycloak?.version };
  const app: KubeObject = {
    apiVersion: ENTANDO_API,
    kind: 'EntandoApp',
    metadata: { name: 'qs', namespace: 'src' },
    spec: { dbms: 'postgresql', ingressHostName: 'qs.example.com' },
  };
  return { file: 'unused.tar', keys: decryptionKeys({}, { env: {} }), manifest, objects: [app] };
}

/** A target cluster with Entando's CRDs and what else is given. */
function targetWith(...objects: KubeObject[]): FakeKube {
  const crd = (plural: string): KubeObject => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.entando.org` },
  });
  return new FakeKube([crd('entandoapps'), ...objects]);
}

const plan = (a: LoadedArchive, target: FakeKube) =>
  planRestore({
    components: COMPONENTS,
    archive: a,
    target: target.client,
    targetContext: 'target',
    targetNamespace: 'dst',
    existing: 'fail',
  });

const verdicts = (checks: VersionCheck[] | undefined) =>
  Object.fromEntries((checks ?? []).map((c) => [c.what, c.verdict]));

describe('restore: the source versions against the target', () => {
  it('7.1 into 7.3: each part migrated forward, named in the plan text and JSON', async () => {
    const target = targetWith(imageInfo());
    const { plan: p, results } = await plan(archive(source716), target);
    expect(p.problems).to.deep.equal([]);
    expect(verdicts(p.versions)).to.deep.equal({
      entando: 'upgrade',
      keycloak: 'upgrade',
      [`postgresql ${PG}`]: 'same',
    });
    const keycloak = p.versions!.find((c) => c.what === 'keycloak')!;
    expect(keycloak).to.deep.include({ source: '15.1.1', target: '18.0.2' });
    expect(keycloak.note).to.equal(
      'will be migrated forward: Keycloak 15.1.1 -> 18.0.2 (Keycloak migrates the realm at import)',
    );
    expect(keycloak.targetFrom).to.match(
      /entando-docker-image-info of the target, entry entando-keycloak/,
    );
    expect(results.warnings).to.deep.equal([]);
    const text = planText(p, { context: 'target', namespace: 'dst' });
    expect(text).to.include(
      '      keycloak: 15.1.1 -> 18.0.2: will be migrated forward: Keycloak 15.1.1 -> 18.0.2 (Keycloak migrates the realm at import)',
    );
    expect(text.find((l) => l.startsWith('      entando:'))).to.match(
      /7\.1\.6 -> 7\.3\.0: will be migrated forward: Entando 7\.1\.6 -> 7\.3\.0/,
    );
    expect((planToJson(p) as { versions: VersionCheck[] }).versions).to.have.length(3);
  });

  it('7.3 into 7.1: refused before any change, one line each with the reason and what to do', async () => {
    const target = targetWith(imageInfo(release716));
    const { plan: p } = await plan(archive(source730), target);
    expect(verdicts(p.versions)).to.deep.equal({
      entando: 'downgrade',
      keycloak: 'downgrade',
      [`postgresql ${PG}`]: 'same',
    });
    expect(p.problems.slice(0, 2)).to.deep.equal([
      'Entando: the archive is of Entando 7.3.0 and the target runs 7.1.6 (ConfigMap dst/entando-docker-image-info of the target, entry entando-de-app-wildfly-6-4): an older release would run on schemas and a realm written by a newer one; restore into a cluster running Entando >= 7.3.0',
      "Keycloak: the archived realm was exported by Keycloak 18.0.2 and the target's Keycloak is 15.1.1 (ConfigMap dst/entando-docker-image-info of the target, entry entando-keycloak: image entando/entando-keycloak:7.1.1 (Entando 7.1.1's entando-keycloak runs Keycloak 15.1.1)): Keycloak imports realms of its own or an older version only; upgrade the target's Keycloak to >= 18 or restore into a cluster running Entando >= 7.2, or restore without the realm (--keycloak skip)",
    ]);
    // Planning wrote nothing; a plan with problems is never executed (runRestore returns it).
    expect(target.calls).to.deep.equal([]);
  });

  it("a Keycloak already running in the target is judged by its deployment's image", async () => {
    const target = targetWith(
      imageInfo(),
      {
        apiVersion: ENTANDO_API,
        kind: 'EntandoKeycloakServer',
        metadata: { name: 'default-sso-in-namespace', namespace: 'dst' },
        spec: {},
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'default-sso-in-namespace-deployment', namespace: 'dst' },
        spec: {
          template: { spec: { containers: [{ name: 'server', image: 'jboss/keycloak:15.1.1' }] } },
        },
      },
    );
    const { plan: p } = await plan(archive(source730), target);
    const keycloak = p.versions!.find((c) => c.what === 'keycloak')!;
    expect(keycloak).to.deep.include({
      verdict: 'downgrade',
      target: '15.1.1',
      targetFrom: 'image jboss/keycloak:15.1.1',
    });
    expect(p.problems.some((l) => l.startsWith('Keycloak: '))).to.equal(true);
  });

  it('a newer DBMS major is migrated forward; an older one is refused', () => {
    const target = (version: string) => ({
      entando: source730.entando!,
      keycloak: source730.keycloak!,
      dbms: new Map([[PG, { version, from: 'image entando/entando-postgres-rocky' }]]),
    });
    const up = compareAll(source730, target('16.1'), { keycloak: 'realm' });
    expect(up.problems).to.deep.equal([]);
    expect(up.checks.at(-1)?.note).to.equal(
      'will be migrated forward: PostgreSQL 14 -> 16 (the dumps are SQL text, loaded by the newer server)',
    );
    const down = compareAll(source730, target('12.9'), { keycloak: 'realm' });
    expect(down.problems).to.have.length(1);
    expect(down.problems[0]).to.match(
      /^PostgreSQL default-postgresql.*:5432: the archived dumps come from PostgreSQL 14 and the target's is 12\.9 \(image entando\/entando-postgres-rocky\): .*restore into a target whose PostgreSQL is >= 14$/,
    );
  });

  it('unknown on either side: shown in the plan with its note, neither a refusal nor a warning', async () => {
    // No image info in the target namespace (an operator installed elsewhere).
    const { plan: p, results } = await plan(archive(source730), targetWith());
    expect(p.problems.filter((l) => /^(Entando|Keycloak|PostgreSQL)/.test(l))).to.deep.equal([]);
    expect(verdicts(p.versions)).to.deep.equal({
      entando: 'unknown',
      keycloak: 'unknown',
      [`postgresql ${PG}`]: 'unknown',
    });
    expect(p.versions?.find((c) => c.what === 'keycloak')?.note).to.equal(
      "not compared: the target's Keycloak version is not known (no ConfigMap dst/entando-docker-image-info of the target); check it yourself",
    );
    expect(results.warnings).to.deep.equal([]);
  });

  it('an archive without versions: one warning; --keycloak skip: Keycloak not compared', async () => {
    const old = await plan(archive(undefined), targetWith(imageInfo()));
    expect(old.plan.versions).to.deep.equal([]);
    expect(old.results.warnings.map((w) => w.message)).to.deep.equal([
      "the archive records no versions (made by an older kubectl-entando): the target's Entando, Keycloak and DBMS versions are not compared with the source's",
    ]);
    const skip = compareAll(
      source730,
      await readTargetVersions(targetWith(imageInfo(release716)).client, archive(source730), {
        sourceNamespace: 'src',
        targetNamespace: 'dst',
        keycloak: 'skip',
      }),
      { keycloak: 'skip' },
    );
    expect(verdicts(skip.checks).keycloak).to.equal('not-compared');
    expect(skip.problems.map((l) => l.split(':')[0])).to.deep.equal(['Entando']);
  });

  it("RH-SSO's product version counts as the Keycloak it is based on", () => {
    const target = {
      entando: source716.entando!,
      keycloak: { version: '18.0', from: 'image entando/entando-redhat-sso:7.3.0' },
      dbms: new Map(),
    };
    const sso75 = { ...source716, keycloak: { version: '7.5.0.GA', from: 'serverinfo' }, dbms: [] };
    expect(compareAll(sso75, target, { keycloak: 'realm' }).checks[1].verdict).to.equal('upgrade');
    const kc = { ...sso75, keycloak: { version: '7.6.1.GA', from: 'serverinfo' } };
    const downTo = {
      ...target,
      keycloak: { version: '15.1.1', from: 'image jboss/keycloak:15.1.1' },
    };
    expect(compareAll(kc, downTo, { keycloak: 'realm' }).checks[1].verdict).to.equal('downgrade');
  });
});
