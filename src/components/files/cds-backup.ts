import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/object.js';
import { podExec } from '../../kube/pod-exec.js';
import { DEFAULT_VOLUME_POD_IMAGE, podLike, VolumePod } from '../../kube/volume-pod.js';
import type { CdsFilesSummary, FilesSummary } from '../../contract/manifest.js';
import {
  CDS_DIRS,
  claimCapacity,
  discoverCds,
  PRIMARY,
  type CdsServer,
} from '../../entando/cds.js';
import { readTenants } from '../../entando/tenants.js';
import { whenAborted } from '../../util/abort.js';
import type { BackupContext } from '../component.js';
import { listDir, streamDir, type PodExecFn, type PodTarget } from './backup.js';
import type { DataVolume } from './discover.js';

/**
 * The tenants' CDS volumes: `public/` and `protected/` of each (not `archives/`, the CDS's own
 * tar.gz staging), one tar each, read through a volume pod that mounts the PVC read-only:
 * the CDS image (distroless) has no shell or tar to exec. A CDS shared by several tenants is
 * read once.
 */
export async function backupCds(ctx: BackupContext, exec: PodExecFn = podExec): Promise<void> {
  if (ctx.options.tenantCdsFiles === false) return;
  const { facts, configs } = await readTenants(ctx.kube, ctx.app);
  if (!facts.cdsEnabled && configs.length === 0) return;
  const found = await discoverCds(ctx.kube, ctx.app, facts, configs);
  for (const note of found.notes) ctx.output.progress(`CDS: ${note}`);
  const summary: FilesSummary = (ctx.archive.manifest.components.files ??= { volumes: [] });
  if (found.problems.length > 0) {
    const lines = found.problems.map((p) => `tenant ${p.tenant}: ${p.message}`);
    // The primary's files are never left out; a secondary tenant's only when asked.
    if (!ctx.options.primaryTenantOnly || found.problems.some((p) => p.tenant === PRIMARY)) {
      throw new OperationError(
        `CDS volumes not found (their files would be lost): ${lines.join('; ')}${ctx.options.primaryTenantOnly ? '' : "; pass --primary-tenant-only to back up without those tenants' CDS files"}`,
      );
    }
    summary.cdsLeftOut = found.problems;
    for (const l of lines) ctx.results.warn('CDS', `left out (--primary-tenant-only): ${l}`);
  }
  summary.cds = [];
  if (found.servers.length === 0) return;

  const local = new AbortController();
  const stopWatching = whenAborted(ctx.signal, () => local.abort());
  const pods: VolumePod[] = [];
  try {
    await Promise.all(
      found.servers.map(async (s) => {
        const record = await backupServer(ctx, s, pods, local.signal, exec);
        summary.cds!.push(record);
      }),
    );
  } catch (err) {
    local.abort();
    throw err;
  } finally {
    stopWatching();
    for (const p of pods) await p.delete();
  }
  summary.cds.sort((a, b) => a.deployment.localeCompare(b.deployment));
}

async function backupServer(
  ctx: BackupContext,
  s: CdsServer,
  pods: VolumePod[],
  signal: AbortSignal,
  exec: PodExecFn,
): Promise<CdsFilesSummary> {
  const pvc = await ctx.kube.get({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: s.namespace,
    name: s.claimName,
  });
  const { pod: vp, node } = await startCdsReader(ctx.kube, s, ctx.options.volumePodImage, (m) =>
    ctx.output.progress(m),
  );
  pods.push(vp);
  const target: PodTarget = {
    namespace: s.namespace,
    pod: vp.name,
    container: vp.container,
    via: 'volume-pod',
  };
  const v: DataVolume = {
    owner: {
      kind: 'Deployment',
      name: s.deployment,
      ...(s.tenants[0] !== PRIMARY ? { tenant: s.tenants[0] } : {}),
    },
    qualifier: 'cds',
    deployment: s.deployment,
    container: s.container,
    claimName: s.claimName,
    mountPath: s.mountPath,
    embedded: false,
    dirs: [...CDS_DIRS],
    cds: { namespace: s.namespace, service: s.service, tenants: s.tenants },
  };
  const present = new Set(await listDir(ctx.kube, target, s.mountPath, signal, exec));
  const capacity = pvc ? claimCapacity(pvc) : undefined;
  const record: CdsFilesSummary = {
    ...v.cds!,
    deployment: s.deployment,
    claimName: s.claimName,
    ...(capacity ? { capacity } : {}),
    via: 'volume-pod',
    ...(node ? { node } : {}),
    dirs: [],
    missing: v.dirs.filter((d) => !present.has(d)),
  };
  await Promise.all(
    v.dirs
      .filter((d) => present.has(d))
      .map((dir) =>
        ctx.streams.run(async () => {
          if (signal.aborted) throw new OperationError('interrupted');
          ctx.output.debug(`tar -c ${s.mountPath}/${dir} of CDS ${s.deployment} in ${vp.name}`);
          const done = await streamDir(ctx, target, v, dir, signal, undefined, exec);
          record.dirs.push({
            dir,
            entry: done.entry.path,
            bytes: done.entry.size,
            files: done.files,
            fileBytes: done.fileBytes,
          });
        }),
      ),
  );
  record.dirs.sort((a, b) => a.dir.localeCompare(b.dir));
  return record;
}

/**
 * A volume pod mounting a CDS's PVC read-only, on the node of the CDS's pod (see nodeOfPods),
 * with the CDS's pull secrets, user and node constraints; never its image (distroless: no
 * shell). The caller deletes it.
 */
export async function startCdsReader(
  kube: KubeClient,
  s: CdsServer,
  image: string | undefined,
  log: (m: string) => void,
): Promise<{ pod: VolumePod; node?: string }> {
  const deployment = await kube.get({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: s.namespace,
    name: s.deployment,
  });
  const node = await nodeOfPods(kube, s);
  const like = deployment ? podLike(deployment, s.container)?.like : undefined;
  const pod = await VolumePod.start(
    kube,
    {
      namespace: s.namespace,
      owner: s.deployment,
      purpose: 'cds',
      image: image ?? DEFAULT_VOLUME_POD_IMAGE,
      like,
      ...(node ? { nodeName: node } : {}),
      volumes: [{ claimName: s.claimName, mountPath: s.mountPath, readOnly: true }],
    },
    log,
  );
  return { pod, ...(node ? { node } : {}) };
}

/**
 * The node a pod of the CDS deployment runs (or is starting) on: its RWO volume is attached
 * there, so the reading pod must run there too. None when it is scaled to 0.
 */
export async function nodeOfPods(kube: KubeClient, s: CdsServer): Promise<string | undefined> {
  const selector = Object.entries(s.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await kube.list('v1', 'Pod', s.namespace, selector);
  const live = pods.find((p: KubeObject) => {
    const phase = (p.status as { phase?: string } | undefined)?.phase;
    const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
    return !!node && phase !== 'Succeeded' && phase !== 'Failed' && !p.metadata.deletionTimestamp;
  });
  return (live?.spec as { nodeName?: string } | undefined)?.nodeName;
}
