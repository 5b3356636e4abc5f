import { expect } from 'chai';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { decryptionKeys } from '../../src/archive/encryption.js';
import { newManifest } from '../../src/archive/manifest.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import type { BackupContext, LoadedArchive, PlanContext } from '../../src/components/component.js';
import { backupCds } from '../../src/components/files/cds-backup.js';
import { planCdsSteps } from '../../src/components/files/cds-restore.js';
import { describeCdsOf } from '../../src/components/files/describe.js';
import { cdsObjects } from '../../src/components/resources/cds-objects.js';
import { prepareObject } from '../../src/components/resources/transforms/index.js';
import {
  EXTRACT_SCRIPT,
  SWAP_SCRIPT,
  TAR_CREATE_SCRIPT,
} from '../../src/components/files/pod-scripts.js';
import { metaOf, type FilesEntryMeta } from '../../src/contract/manifest.js';
import type { StepContext } from '../../src/contract/plan.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { discoverCds } from '../../src/entando/cds.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import { readTenants } from '../../src/entando/tenants.js';
import type { KubeObject } from '../../src/kube/object.js';
import type { PodExecRequest } from '../../src/kube/pod-exec.js';
import { Results } from '../../src/report/results.js';
import { phase } from '../../src/restore/order.js';
import { Limiter } from '../../src/util/limit.js';
import { FakeKube, FakePodExec, type ExecReply } from '../helpers/fakes.js';
import { tarOf } from '../helpers/files-tar.js';
import { tempDir } from '../helpers/tmp.js';

const NS = 'src';
const app: KubeObject = {
  apiVersion: ENTANDO_API,
  kind: 'EntandoApp',
  metadata: { name: 'qs', namespace: NS },
};

/** A cluster whose pods start at once (a volume pod is waited for until Running). */
class Cluster extends FakeKube {
  override async create(obj: KubeObject): Promise<KubeObject> {
    return super.create(obj.kind === 'Pod' ? { ...obj, status: { phase: 'Running' } } : obj);
  }
}

const pvc = (name: string, ns: string, size: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: ns },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  status: { capacity: { storage: size } },
});

/** Entando's sample CDS of `t` (TENANTS.md §4): Service → Deployment → PVC. */
function cds(t: string, ns = NS): KubeObject[] {
  const labels = { app: `${t}-cds-deployment` };
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${t}-cds-service`, namespace: ns },
      spec: { selector: labels },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${t}-cds-deployment`, namespace: ns },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'cds',
                image: 'docker.io/entando/cds:1.0.4',
                volumeMounts: [{ name: 'cds-data-volume', mountPath: '/entando-data' }],
              },
            ],
            volumes: [
              { name: 'cds-data-volume', persistentVolumeClaim: { claimName: `${t}-cds-pvc` } },
            ],
          },
        },
      },
    },
    pvc(`${t}-cds-pvc`, ns, '1Gi'),
  ];
}

const tenantsSecret = (tenants: Record<string, string>[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'entando-tenants-secret', namespace: NS },
  data: { ENTANDO_TENANTS: Buffer.from(JSON.stringify(tenants)).toString('base64') },
});

const appDeployment = (env: { name: string; value: string }[]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'qs-deployment', namespace: NS },
  spec: { template: { spec: { containers: [{ name: 'server-container', env }] } } },
});

describe('CDS: discovery from CDS_PRIVATE_URL and cdsPrivateUrl', () => {
  it('primary (in another namespace) and tenants: shared CDS once, a tenant without a URL on the primary CDS, a missing Service named with its tenant', async () => {
    const kube = new FakeKube([
      app,
      appDeployment([
        { name: 'CDS_ENABLED', value: 'true' },
        { name: 'CDS_PRIVATE_URL', value: 'http://qs-cds-service.cds-ns.svc.cluster.local:8080' },
      ]),
      ...cds('qs', 'cds-ns'),
      ...cds('t1'),
      tenantsSecret([
        { tenantCode: 't1', cdsPrivateUrl: 'http://t1-cds-service:8080' },
        { tenantCode: 't2', cdsPrivateUrl: `http://t1-cds-service.${NS}:8080` },
        { tenantCode: 't3', cdsPrivateUrl: 'http://t3-cds-service:8080' },
        { tenantCode: 't4' },
      ]),
    ]);
    const { facts, configs } = await readTenants(kube.client, app);
    const found = await discoverCds(kube.client, app, facts, configs);
    expect(
      found.servers.map((s) => [
        s.tenants.join(','),
        `${s.namespace}/${s.service}`,
        s.deployment,
        s.claimName,
        s.container,
      ]),
    ).to.deep.equal([
      ['primary,t4', 'cds-ns/qs-cds-service', 'qs-cds-deployment', 'qs-cds-pvc', 'cds'],
      ['t1,t2', 'src/t1-cds-service', 't1-cds-deployment', 't1-cds-pvc', 'cds'],
    ]);
    expect(found.problems).to.deep.equal([
      {
        tenant: 't3',
        message: 'cdsPrivateUrl http://t3-cds-service:8080: Service src/t3-cds-service not found',
      },
    ]);
    expect(found.notes).to.deep.equal([
      'tenants primary, t4 share CDS cds-ns/qs-cds-deployment (volume qs-cds-pvc): its files are carried once',
      'tenants t1, t2 share CDS src/t1-cds-deployment (volume t1-cds-pvc): its files are carried once',
    ]);
  });

  it('a Service that selects no Deployment, or a Deployment without a volume: the piece missing is named', async () => {
    const [service, deployment] = cds('t1');
    const noVolume = structuredClone(deployment) as unknown as {
      spec: { template: { spec: { volumes: unknown[] } } };
    };
    noVolume.spec.template.spec.volumes = [];
    const check = async (objects: KubeObject[]) => {
      const kube = new FakeKube([
        app,
        tenantsSecret([{ tenantCode: 't1', cdsPrivateUrl: 'http://t1-cds-service:8080' }]),
        ...objects,
      ]);
      const { facts, configs } = await readTenants(kube.client, app);
      return (await discoverCds(kube.client, app, facts, configs)).problems.map(
        (p) => `${p.tenant}: ${p.message}`,
      );
    };
    expect(await check([service])).to.deep.equal([
      't1: cdsPrivateUrl http://t1-cds-service:8080: no Deployment in src runs pods that Service t1-cds-service selects (app=t1-cds-deployment)',
    ]);
    expect(await check([service, noVolume as unknown as KubeObject])).to.deep.equal([
      't1: cdsPrivateUrl http://t1-cds-service:8080: Deployment src/t1-cds-deployment mounts no PVC at /entando-data',
    ]);
  });
});

const TREES: Record<string, Buffer> = {
  public: tarOf([
    { path: 'public/', type: 'Directory' },
    { path: 'public/cms/', type: 'Directory' },
    { path: 'public/cms/logo.png', data: 'png bytes' },
    { path: 'public/static/x.css', data: 'body{}' },
  ]),
  protected: tarOf([
    { path: 'protected/', type: 'Directory' },
    { path: 'protected/databaseBackups/d.sql', data: 'select 1;' },
  ]),
};

/**
 * Answers `ls` with `listing`, `tar -c <dir>` with that tree, anything else with exit 0; as
 * podExec does, returns once what it wrote to stdout was taken in whole.
 */
function execFor(listing: string): FakePodExec & { exec: FakePodExec['exec'] } {
  const fake = new FakePodExec((req: PodExecRequest): ExecReply => {
    if (req.command[0] === 'ls') return { stdout: [listing] };
    if (req.command[2] === TAR_CREATE_SCRIPT) return { stdout: [TREES[req.command[5]]] };
    return {};
  });
  const run = fake.exec;
  Object.defineProperty(fake, 'exec', {
    value: async (config: unknown, req: PodExecRequest) => {
      const result = await run(config, req);
      const out = req.stdout as Writable | undefined;
      if (out?.writableEnded && !out.writableFinished) {
        await new Promise((ok) => out.once('finish', ok));
      }
      return result;
    },
  });
  return fake;
}

const quiet = () => undefined;
const warnings: string[] = [];

async function backUp(dir: string, kube: FakeKube, exec: FakePodExec, primaryTenantOnly = false) {
  const file = path.join(dir, 'a.tar');
  const writer = await ArchiveWriter.open(
    file,
    newManifest(
      { name: 'kubectl-entando', version: 'test' },
      { server: 's', context: 'c', namespace: NS, app: 'qs' },
      new Date('2026-01-01T00:00:00Z'),
    ),
    {},
  );
  const ctx = {
    options: {
      quiesce: false,
      parallel: 2,
      includeIndices: false,
      keycloak: 'realm',
      primaryTenantOnly,
    },
    streams: new Limiter(2),
    progress: { add: quiet, finish: quiet, expect: quiet },
    kube: kube.client,
    namespace: NS,
    app,
    archive: writer,
    results: new Results(),
    output: { debug: quiet, progress: quiet, warn: quiet },
    signal: new AbortController().signal,
  } as unknown as BackupContext;
  await backupCds(ctx, exec.exec);
  const manifest = await writer.commit();
  warnings.push(...(ctx.results as Results).warnings.map((w) => `${w.where}: ${w.message}`));
  const archive: LoadedArchive = {
    file,
    keys: decryptionKeys({}, { env: {} }),
    manifest,
    objects: [pvc('t1-cds-pvc', NS, '1Gi')],
  };
  return archive;
}

/** t1 and t2 share t1's CDS, whose pod runs on node-2. */
function source(): Cluster {
  return new Cluster([
    app,
    ...cds('t1'),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 't1-cds-deployment-abc',
        namespace: NS,
        labels: { app: 't1-cds-deployment' },
      },
      spec: { nodeName: 'node-2' },
      status: { phase: 'Running' },
    },
    tenantsSecret([
      { tenantCode: 't1', cdsPrivateUrl: 'http://t1-cds-service:8080' },
      { tenantCode: 't2', cdsPrivateUrl: 'http://t1-cds-service:8080' },
    ]),
  ]);
}

describe('CDS: backup', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
    warnings.length = 0;
  });
  afterEach(() => tmp.cleanup());

  it("public/ and protected/ (not archives/) through a read-only volume pod on the CDS pod's node; entries name the CDS and its tenants", async () => {
    const kube = source();
    const exec = execFor('archives\nprotected\npublic\n');
    let podSpec: Record<string, unknown> | undefined;
    const create = kube.create.bind(kube);
    kube.create = async (obj: KubeObject) => {
      if (obj.kind === 'Pod') podSpec = obj.spec as Record<string, unknown>;
      return create(obj);
    };
    const archive = await backUp(tmp.dir, kube, exec);

    expect(podSpec?.nodeName).to.equal('node-2');
    const mounts = (podSpec?.containers as { image: string; volumeMounts: unknown[] }[])[0];
    expect(mounts.image).to.equal('docker.io/library/busybox:1.36');
    expect(mounts.volumeMounts).to.deep.equal([
      { name: 'data-0', mountPath: '/entando-data', readOnly: true },
    ]);
    expect(kube.calls.filter((c) => c.startsWith('delete Pod'))).to.have.length(1);
    const tarred = exec.calls
      .filter((c) => c.command[2] === TAR_CREATE_SCRIPT)
      .map((c) => c.command[5]);
    expect(tarred.sort()).to.deep.equal(['protected', 'public']);

    const metas = archive.manifest.entries.map((e) => [e.path, metaOf(e, 'files')] as const);
    expect(metas.map(([p]) => p).sort()).to.deep.equal([
      'data/files/cds/src/t1-cds-deployment/protected.tar',
      'data/files/cds/src/t1-cds-deployment/public.tar',
    ]);
    const meta = metas[0][1] as FilesEntryMeta;
    expect(meta.owner).to.deep.equal({
      kind: 'Deployment',
      name: 't1-cds-deployment',
      tenant: 't1',
    });
    expect(meta.cds).to.deep.equal({
      namespace: NS,
      service: 't1-cds-service',
      tenants: ['t1', 't2'],
    });
    expect(meta.claimName).to.equal('t1-cds-pvc');
    expect(meta.via).to.equal('volume-pod');

    const cdsSummary = archive.manifest.components.files?.cds;
    expect(cdsSummary?.[0].dirs.map((d) => [d.dir, d.files, d.fileBytes])).to.deep.equal([
      ['protected', 1, 9],
      ['public', 2, 15],
    ]);
    expect(['t1', 't2'].map((t) => describeCdsOf(cdsSummary![0], t))).to.deep.equal([
      'src/t1-cds-deployment (volume t1-cds-pvc 1Gi, shared with t2): protected/ 1 file, 9 B; public/ 2 files, 15 B',
      'src/t1-cds-deployment (volume t1-cds-pvc 1Gi, shared with t1): protected/ 1 file, 9 B; public/ 2 files, 15 B',
    ]);
  });

  it('a tenant whose CDS cannot be found fails the backup naming it; --primary-tenant-only leaves it out with a warning', async () => {
    const kube = source();
    kube.objects.set(
      'Secret/src/entando-tenants-secret',
      tenantsSecret([{ tenantCode: 't9', cdsPrivateUrl: 'http://t9-cds-service:8080' }]),
    );
    let err: Error | undefined;
    await backUp(tmp.dir, kube, execFor('')).catch((e: Error) => (err = e));
    expect(err?.message).to.equal(
      "CDS volumes not found (their files would be lost): tenant t9: cdsPrivateUrl http://t9-cds-service:8080: Service src/t9-cds-service not found; pass --primary-tenant-only to back up without those tenants' CDS files",
    );
    const archive = await backUp(tmp.dir, kube, execFor(''), true);
    expect(warnings).to.deep.equal([
      'CDS: left out (--primary-tenant-only): tenant t9: cdsPrivateUrl http://t9-cds-service:8080: Service src/t9-cds-service not found',
    ]);
    expect(archive.manifest.components.files?.cdsLeftOut?.map((p) => p.tenant)).to.deep.equal([
      't9',
    ]);
  });
});

describe('CDS: restore', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  const planContext = (
    archive: LoadedArchive,
    target: FakeKube,
    existing: PlanContext['existing'] = 'fail',
  ): PlanContext => ({
    parallel: 1,
    archive,
    existing,
    mapping: { sourceNamespace: NS, targetNamespace: 'dst' },
    target: target.client,
    results: new Results(),
    windows: new ScaleWindows(),
  });
  const stepContext = (ctx: PlanContext, lines: string[]): StepContext => ({
    target: ctx.target,
    results: ctx.results,
    signal: new AbortController().signal,
    progress: (m) => lines.push(m),
  });

  it('one step per CDS volume in the cds-files phase, between its PVC and its Deployment; into a new volume nothing is refused', async () => {
    const archive = await backUp(tmp.dir, source(), execFor('protected\npublic\n'));
    const ctx = planContext(archive, new Cluster());
    const steps = await planCdsSteps(ctx);
    expect(
      steps.map((s) => [
        s.priority,
        s.action,
        `${s.object?.kind} ${s.object?.namespace}/${s.object?.name}`,
      ]),
    ).to.deep.equal([[phase('cds-files').priority, 'run', 'PersistentVolumeClaim dst/t1-cds-pvc']]);
    expect(phase('cds-volumes').priority).to.be.lessThan(steps[0].priority);
    expect(phase('cds-servers').priority).to.be.greaterThan(steps[0].priority);
    expect(ctx.results.errors).to.deep.equal([]);
  });

  it('a target volume smaller than the archived trees is a preflight problem naming the tenants and the PVC', async () => {
    const archive = await backUp(tmp.dir, source(), execFor('protected\npublic\n'));
    const ctx = planContext(archive, new Cluster([pvc('t1-cds-pvc', 'dst', '2Ki')]), 'update');
    await planCdsSteps(ctx);
    expect(ctx.results.errors.map((e) => `${e.where}: ${e.message}`)).to.deep.equal([
      'tenants t1, t2 (CDS dst/t1-cds-deployment): volume dst/t1-cds-pvc: too small: 2Ki (2.0 KiB) cannot hold the archived public/ and protected/ (6.5 KiB of tar); make the volume larger (a bigger PVC, or expand it) and restore again',
    ]);
    // The PVC to be made (from the archive) is judged by what it requests.
    const small = { ...archive, objects: [pvc('t1-cds-pvc', NS, '1Ki')] };
    const fresh = planContext(small, new Cluster());
    await planCdsSteps(fresh);
    expect(fresh.results.errors.map((e) => e.message)[0]).to.match(/^too small: 1Ki/);
  });

  it('a volume the CDS init container seeded: refused without --existing update (nothing written); replaced with it, the marker removed', async () => {
    const archive = await backUp(tmp.dir, source(), execFor('protected\npublic\n'));
    const seeded = () => execFor('.seeded-by-init\npublic\n');

    const target = new Cluster([pvc('t1-cds-pvc', 'dst', '1Gi')]);
    const exec = seeded();
    const ctx = planContext(archive, target, 'fail');
    const [step] = await planCdsSteps(ctx, exec.exec);
    let err: Error | undefined;
    await step.run!(stepContext(ctx, [])).catch((e: Error) => (err = e));
    expect(err?.message).to.equal(
      'tenants t1, t2 (CDS dst/t1-cds-deployment): volume t1-cds-pvc already holds the seed of the CDS init container (.seeded-by-init): its pod started on the empty volume before this restore; nothing was written: pass --existing update to replace its public/ and protected/ with the archived ones',
    );
    expect(exec.calls.filter((c) => c.command[2] === EXTRACT_SCRIPT)).to.deep.equal([]);
    expect(target.calls.filter((c) => c.startsWith('delete Pod'))).to.have.length(1);

    const updated = seeded();
    const uctx = planContext(archive, new Cluster([pvc('t1-cds-pvc', 'dst', '1Gi')]), 'update');
    const [ustep] = await planCdsSteps(uctx, updated.exec);
    const lines: string[] = [];
    await ustep.run!(stepContext(uctx, lines));
    const extracted = updated.calls.filter((c) => c.command[2] === EXTRACT_SCRIPT);
    // Each tree streamed whole into tar -x in the volume pod, as archived.
    expect(
      extracted
        .map((c) => [c.command[4], c.command[5], c.stdin === TREES[c.command[5]].toString()])
        .sort(),
    ).to.deep.equal([
      ['/entando-data', 'protected', true],
      ['/entando-data', 'public', true],
    ]);
    expect(updated.calls.filter((c) => c.command[2] === SWAP_SCRIPT)).to.have.length(2);
    expect(updated.calls.at(-1)?.command).to.deep.equal([
      'rm',
      '-f',
      '/entando-data/.seeded-by-init',
    ]);
    expect(
      lines.some((l) =>
        /holds the seed of the CDS init container.*replaced \(--existing update\)/.test(l),
      ),
    ).to.equal(true);
  });
});

describe('CDS: its objects captured and made portable', () => {
  it("PVC, Service, Deployment, the Ingress routing to it and its key Secret; a Service's IPs and a claim's volume not carried", async () => {
    const ingress: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 't1-cds-ingress', namespace: NS },
      spec: {
        rules: [
          {
            host: 'cds.qs.example.com',
            http: { paths: [{ path: '/t1', backend: { service: { name: 't1-cds-service' } } }] },
          },
        ],
      },
    };
    const other: KubeObject = {
      ...ingress,
      metadata: { name: 'qs-ingress', namespace: NS },
      spec: { defaultBackend: { service: { name: 'qs-service' } } },
    };
    const [service, deployment, claim] = cds('t1');
    const dep = structuredClone(deployment) as unknown as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    dep.spec.template.spec.containers[0].env = [
      {
        name: 'KEYCLOAK_PUBLIC_KEY',
        valueFrom: { secretKeyRef: { name: 't1-kc-secret', key: 'KC_PUBLIC_KEY' } },
      },
    ];
    const keySecret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 't1-kc-secret', namespace: NS },
      data: { KC_PUBLIC_KEY: 'eA==' },
    };
    const kube = new FakeKube([
      app,
      {
        ...service,
        spec: { ...(service.spec as object), clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'] },
      },
      dep as unknown as KubeObject,
      {
        ...claim,
        metadata: {
          ...claim.metadata,
          annotations: { 'volume.kubernetes.io/selected-node': 'node-2' },
        },
        spec: { ...(claim.spec as object), volumeName: 'pv-123' },
      },
      ingress,
      other,
      keySecret,
      tenantsSecret([{ tenantCode: 't1', cdsPrivateUrl: 'http://t1-cds-service:8080' }]),
    ]);
    const got = await cdsObjects(kube.client, app, new Results());
    expect(got.map((o) => `${o.object.kind} ${o.object.metadata.name}: ${o.why}`)).to.deep.equal([
      'PersistentVolumeClaim t1-cds-pvc: CDS of tenant t1',
      'Service t1-cds-service: CDS of tenant t1',
      'Deployment t1-cds-deployment: CDS of tenant t1',
      'Ingress t1-cds-ingress: CDS of tenant t1',
      'Secret t1-kc-secret: CDS of tenant t1: env of Deployment t1-cds-deployment',
    ]);
    const mapping = {
      sourceNamespace: NS,
      targetNamespace: 'dst',
      sourceHost: 'qs.example.com',
      targetHost: 'qs2.example.org',
    };
    const byKind = (k: string) =>
      prepareObject(got.find((o) => o.object.kind === k)!.object, mapping).object;
    expect((byKind('Service').spec as Record<string, unknown>).clusterIP).to.equal(undefined);
    expect((byKind('Service').spec as Record<string, unknown>).clusterIPs).to.equal(undefined);
    const restoredClaim = byKind('PersistentVolumeClaim');
    expect((restoredClaim.spec as Record<string, unknown>).volumeName).to.equal(undefined);
    expect(restoredClaim.metadata.annotations).to.equal(undefined);
    expect(restoredClaim.metadata.namespace).to.equal('dst');
    const rules = (byKind('Ingress').spec as { rules: { host: string }[] }).rules;
    expect(rules[0].host).to.equal('cds.qs2.example.org');
  });
});
