import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject, ObjectRef } from '../../kube/object.js';
import { resumeInterrupted, ScaleGuard } from '../../kube/scale.js';
import { DEFAULT_VOLUME_POD_IMAGE, podLike, VolumePod } from '../../kube/volume-pod.js';
import { formatBytes } from '../../report/progress.js';
import { timed, type StepContext } from '../../contract/plan.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import type { ScaleWindow } from '../../contract/scale-window.js';
import { mapLimit } from '../../util/limit.js';
import type { PlanContext } from '../component.js';
import { filesTrees, type ArchivedFiles } from './archived-files.js';
import type { PodTarget } from './backup.js';
import { dataMount, runningPod, serverDeployments } from './discover.js';
import { extractTree } from './extract.js';
import { checkEntries } from './restore-check.js';

/**
 * One owner's files step: entries checked, the owner's volumes found, a pod to extract in
 * (its running server pod, or volume pods while its deployments are at 0), then each tree
 * extracted.
 */
export async function restoreOwnerFiles(
  c: StepContext,
  ctx: PlanContext,
  ref: ObjectRef,
  group: ArchivedFiles[],
  window?: ScaleWindow,
): Promise<void> {
  const ns = ref.namespace!;
  // Checked before anything changes: a hostile entry refuses the step, nothing extracted.
  await checkEntries(ctx, group, c.signal, c.timings);
  // In a window its scale-down does this (undoing it here could scale the servers up mid-load).
  if (!window) await resumeInterrupted(c.target, ns, c.progress);
  await timed(c, `wait for the operator: ${ref.kind} ${ref.name}`, () =>
    waitForEntandoReady(c.target, ref, ctx.waitTimeoutMs ?? 600_000, c.progress),
  );
  const owner = await c.target.get(ref);
  if (!owner) throw new OperationError(`${ref.kind} ${ref.name} is not in the target`);
  const deployments = serverDeployments(owner);
  const volumes = new Map<
    string,
    { deployment: string; container: string; claimName: string; object: KubeObject }
  >();
  for (const a of group) {
    if (volumes.has(a.meta.qualifier)) continue;
    const deployment = deployments.find((d) => d.qualifier === a.meta.qualifier)?.deployment;
    if (!deployment) {
      throw new OperationError(
        `${ref.kind} ${ref.name}: no ${a.meta.qualifier} server in its status.serverStatuses in the target`,
      );
    }
    const d = await c.target.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: deployment,
    });
    const mount = d ? dataMount(d, a.meta.container) : undefined;
    if (!mount) {
      throw new OperationError(
        `${ref.kind} ${ref.name}: deployment ${deployment} mounts no volume at ${a.meta.mountPath} in the target`,
      );
    }
    volumes.set(a.meta.qualifier, { deployment, ...mount, object: d! });
  }

  const embedded = group.some((a) => a.meta.embedded);
  const guard = new ScaleGuard(c.target, c.progress);
  const pods: VolumePod[] = [];
  try {
    const targets = new Map<string, PodTarget>();
    if (embedded || window) {
      if (window) await window.enter(c, owner);
      else
        await guard.scaleDown(
          ns,
          [...volumes.values()].map((v) => v.deployment),
        );
      for (const [qualifier, v] of volumes) {
        // The server's user and pull secrets suit the server's image, not --volume-pod-image's.
        const like = window && !ctx.volumePodImage ? podLike(v.object, v.container) : undefined;
        const pod = await timed(c, 'start a volume pod', () =>
          VolumePod.start(
            c.target,
            {
              namespace: ns,
              owner: ref.name,
              purpose: 'files',
              image: like?.image ?? ctx.volumePodImage ?? DEFAULT_VOLUME_POD_IMAGE,
              like: like?.like,
              volumes: [{ claimName: v.claimName, mountPath: group[0].meta.mountPath }],
            },
            c.progress,
          ),
        );
        pods.push(pod);
        targets.set(qualifier, {
          namespace: ns,
          pod: pod.name,
          container: pod.container,
          via: 'volume-pod',
        });
      }
    } else {
      for (const [qualifier, v] of volumes) {
        const pod = await timed(c, `wait for a pod of ${v.deployment}`, () =>
          waitForPod(c.target, ns, v.deployment, c.signal),
        );
        targets.set(qualifier, {
          namespace: ns,
          pod: pod,
          container: v.container,
          via: 'app-pod',
        });
      }
    }
    await mapLimit(filesTrees(group), ctx.parallel, async (tree) => {
      if (c.signal.aborted) throw new OperationError('interrupted');
      const a = tree[0];
      const started = Date.now();
      await timed(c, `extract ${a.meta.dir} (${ref.name} ${a.meta.qualifier})`, () =>
        extractTree(c, ctx, targets.get(a.meta.qualifier)!, tree),
      );
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const size = tree.reduce((n, t) => n + t.entry.size, 0);
      c.progress(
        `restored ${a.meta.mountPath}/${a.meta.dir} of ${ref.name} ${a.meta.qualifier}: ${formatBytes(size)}${tree.length > 1 ? ` in ${tree.length} streams` : ''} in ${seconds.toFixed(1)} s (${(size / seconds / 1e6).toFixed(1)} MB/s)`,
      );
    });
  } finally {
    for (const p of pods) await p.delete();
    if (guard.active) await timed(c, `scale back ${ref.name}`, () => guard.restore());
  }
}

async function waitForPod(
  kube: KubeClient,
  namespace: string,
  deployment: string,
  signal: AbortSignal,
  timeoutMs = 300_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await runningPod(kube, namespace, deployment);
    if (pod) return pod.metadata.name;
    if (signal.aborted) throw new OperationError('interrupted');
    if (Date.now() > deadline) {
      throw new OperationError(
        `deployment ${namespace}/${deployment} has no ready pod to extract files in after ${timeoutMs / 1000}s`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
