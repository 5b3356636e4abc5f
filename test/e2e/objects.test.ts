import { expect } from 'chai';
import fs from 'node:fs';
import type { KubeObject } from '../../src/kube/object.js';
import { loadArchive } from '../../src/restore/restore.js';
import { decryptionKeys } from '../../src/archive/encryption.js';
import { prepareObject } from '../../src/components/resources/transforms/index.js';
import { cleanObject } from '../../src/components/resources/clean.js';
import { runCli } from '../helpers/cli.js';
import { kubectl, Scenario } from '../helpers/scenario.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';

/** The fields a restore promises to carry over, for comparing source and target objects. */
function comparable(obj: KubeObject): Record<string, unknown> {
  const c = cleanObject(obj);
  return {
    kind: c.kind,
    name: c.metadata.name,
    namespace: c.metadata.namespace,
    labels: c.metadata.labels,
    annotations: c.metadata.annotations,
    spec: c.spec,
    data: c.data,
    type: c.type,
    imagePullSecrets: c.imagePullSecrets,
  };
}

describe('e2e: the app objects, backed up on sandbox-source and restored on sandbox-target', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-objects-${suffix}`;
  const targetNs = `e2e-restored-${suffix}`;
  const targetHost = `qs-${suffix}.restored.sandbox.local`;
  let s: Scenario;
  let keyFile: string;
  let archive: string;

  before(async () => {
    await requireSandbox();
    s = new Scenario();
    keyFile = s.keyFile;
    archive = s.file('qs.tar.age');
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs);
  });
  after(async () => {
    s?.cleanup();
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    await deleteNamespace(TARGET, targetNs).catch(() => undefined);
    // The restored bundle of `<source>-ecr` keeps its namespace's name on the target.
    await deleteNamespace(TARGET, sourceNs).catch(() => undefined);
  });

  it('backs up: the app, plugins, links, bundles, secrets and config maps, encrypted', async () => {
    const r = await s.backup(SOURCE, sourceNs, archive, ['-o', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.source).to.include({ app: 'quickstart', namespace: sourceNs, context: SOURCE });
    expect(out.counts.EntandoApp).to.equal(1);
    expect(out.counts.EntandoPlugin).to.equal(1);
    expect(out.counts.EntandoAppPluginLink).to.equal(1);
    // default.yaml: two bundles in the app's namespace, one in its repository namespace <ns>-ecr.
    expect(out.counts.EntandoDeBundle).to.equal(3);
    expect(out.counts.ConfigMap).to.be.at.least(2);
    expect(out.counts.Secret).to.be.at.least(8);
    expect(fs.statSync(archive).mode & 0o777).to.equal(0o600);
    const { objects } = await loadArchive(
      archive,
      decryptionKeys({ identity: [keyFile] }, { env: {} }),
    );
    const secrets = objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
    for (const name of [
      'quickstart-portdb-secret',
      'quickstart-servdb-secret',
      'quickstart-dedb-secret',
      'quickstart-secret',
      'quickstart-de-secret',
      'quickstart-tls-secret',
      'entando-pull-secret',
      'entando-ca-cert-secret',
    ]) {
      expect(secrets, name).to.include(name);
    }
    const verify = await runCli(['verify', archive, '-i', keyFile]);
    expect(verify.code, verify.stderr).to.equal(0);
  });

  it('dry-run prints the ordered plan and changes nothing', async () => {
    const r = await s.restore(archive, TARGET, targetNs, [
      '--ingress-host',
      targetHost,
      '--dry-run',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.problems).to.deep.equal([]);
    const kinds = plan.steps.map((s: { object: { kind: string } }) => s.object.kind);
    expect(kinds.indexOf('Secret')).to.be.lessThan(kinds.indexOf('EntandoApp'));
    expect(kinds.lastIndexOf('ConfigMap')).to.be.lessThan(kinds.indexOf('EntandoApp'));
    expect(kinds.indexOf('EntandoApp')).to.be.lessThan(kinds.indexOf('EntandoPlugin'));
    expect(kinds.indexOf('EntandoAppPluginLink')).to.be.lessThan(kinds.indexOf('EntandoDeBundle'));
    const app = plan.steps.find(
      (s: { object: { kind: string } }) => s.object.kind === 'EntandoApp',
    );
    expect(app.changes).to.include(
      `spec.ingressHostName: quickstart.entando-pg.sandbox.local -> ${targetHost}`,
    );
    expect(
      await client(TARGET).get({ apiVersion: 'v1', kind: 'Namespace', name: targetNs }),
    ).to.equal(undefined);
  });

  it('restores into another cluster, namespace and host: objects equal but for the intended changes', async () => {
    const r = await s.restore(archive, TARGET, targetNs, ['--ingress-host', targetHost]);
    expect(r.code, r.stderr).to.equal(0);
    const { objects } = await loadArchive(
      archive,
      decryptionKeys({ identity: [keyFile] }, { env: {} }),
    );
    const mapping = {
      sourceNamespace: sourceNs,
      targetNamespace: targetNs,
      sourceHost: 'quickstart.entando-pg.sandbox.local',
      targetHost,
    };
    const target = client(TARGET);
    for (const archived of objects) {
      // Bundles of componentRepositoryNamespaces keep their namespace (no --namespace-map).
      const ns = archived.metadata.namespace ?? sourceNs;
      const live = await client(SOURCE).get({
        apiVersion: archived.apiVersion,
        kind: archived.kind,
        namespace: ns,
        name: archived.metadata.name,
      });
      expect(live, `${archived.kind} ${archived.metadata.name} in source`).to.not.equal(undefined);
      const expected = prepareObject(live!, mapping).object;
      const restored = await target.get({
        apiVersion: archived.apiVersion,
        kind: archived.kind,
        namespace: ns === sourceNs ? targetNs : ns,
        name: archived.metadata.name,
      });
      expect(restored, `${archived.kind} ${archived.metadata.name} in target`).to.not.equal(
        undefined,
      );
      expect(comparable(restored!), `${archived.kind} ${archived.metadata.name}`).to.deep.equal(
        comparable(expected),
      );
    }
    const restoredApp = await target.get({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      namespace: targetNs,
      name: 'quickstart',
    });
    expect((restoredApp!.spec as { ingressHostName: string }).ingressHostName).to.equal(targetHost);
    const secret = await target.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: targetNs,
      name: 'quickstart-portdb-secret',
    });
    const sourceSecret = await client(SOURCE).get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: sourceNs,
      name: 'quickstart-portdb-secret',
    });
    expect(secret!.data).to.deep.equal(sourceSecret!.data);
    // owned by the app in the source: owned by the restored app (its new uid) in the target
    const owner = secret!.metadata.ownerReferences?.[0];
    expect(owner).to.include({
      kind: 'EntandoApp',
      name: 'quickstart',
      uid: restoredApp!.metadata.uid,
    });
  });

  it('running again: reports existing objects by default, converges with --existing update', async () => {
    const again = await s.restore(archive, TARGET, targetNs, ['--ingress-host', targetHost]);
    expect(again.code).to.equal(2);
    expect(again.stdout).to.match(
      /already exists in the target: pass --existing skip or --existing update/,
    );
    // the operator stand-in has made the restored app's Ingress: ours, so not a collision
    await waitFor(
      'the restored Ingress',
      async () =>
        (await client(TARGET).get({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          namespace: targetNs,
          name: 'quickstart-ingress',
        })) ?? undefined,
    );
    for (let i = 0; i < 2; i++) {
      const update = await s.restore(archive, TARGET, targetNs, [
        '--ingress-host',
        targetHost,
        '--existing',
        'update',
      ]);
      expect(update.code, update.stderr + update.stdout).to.equal(0);
    }
  });

  it('refuses a host already served by another Ingress in the target, before any change', async () => {
    const otherNs = `e2e-collide-${suffix}`;
    const r = await s.restore(archive, TARGET, otherNs, ['--ingress-host', targetHost]);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.contain(`host ${targetHost} is already served by Ingress ${targetNs}/`);
    expect(r.stderr).to.match(/restore refused/);
    expect(
      await client(TARGET).get({ apiVersion: 'v1', kind: 'Namespace', name: otherNs }),
    ).to.equal(undefined);
  });

  it("a multi-tenant app is refused, naming what is not carried (tenant realms: no kcRealm); --primary-tenant-only backs up the rest, the tenants' schemas too", async () => {
    // Both tenants use the primary's portdb (schema = its user): a shared schema, dumped once.
    const portdb = await client(SOURCE).get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: sourceNs,
      name: 'quickstart-portdb-secret',
    });
    const field = (k: string) =>
      Buffer.from((portdb!.data as Record<string, string>)[k], 'base64').toString('utf8');
    const db = {
      dbUrl: `jdbc:postgresql://default-postgresql-dbms-in-namespace-service.${sourceNs}.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db`,
      dbUsername: field('username'),
      dbPassword: field('password'),
    };
    const tenants = JSON.stringify([
      { tenantCode: 'tenant1', ...db },
      { tenantCode: 'tenant2', ...db },
    ]);
    const setTenants = (value: string) =>
      kubectl(SOURCE, [
        '-n',
        sourceNs,
        'patch',
        'secret',
        'entando-tenants-secret',
        '--type',
        'merge',
        '-p',
        JSON.stringify({ data: { ENTANDO_TENANTS: Buffer.from(value).toString('base64') } }),
      ]);
    await setTenants(tenants);
    try {
      const file = s.file('tenants.tar.age');
      const refused = await s.backup(SOURCE, sourceNs, file);
      expect(refused.code, refused.stderr).to.equal(2);
      expect(refused.stderr).to.equal(
        `error: backup refused: EntandoApp ${sourceNs}/quickstart is multi-tenant and this version does not carry the realm of tenants tenant1, tenant2 (no kcRealm in its ENTANDO_TENANTS object); pass --primary-tenant-only to back up the rest (the primary tenant's databases, realm and /entando-data, the secondary tenants' schemas; every CDS volume found) without it\n`,
      );
      expect(fs.existsSync(file), 'no archive').to.equal(false);
      const primary = await s.backup(SOURCE, sourceNs, file, ['--primary-tenant-only']);
      expect(primary.code, primary.stderr).to.equal(0);
      expect(primary.stderr).to.include(
        `EntandoApp ${sourceNs}/quickstart is multi-tenant: not in this archive (--primary-tenant-only): the realm of tenants tenant1, tenant2 (no kcRealm in its ENTANDO_TENANTS object)`,
      );
    } finally {
      await setTenants('[]');
    }
  });
});
