import { OperationError } from '../../errors.js';
import { mapNamespace } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import { timed, type PlanStep, type StepContext } from '../../contract/plan.js';
import { claimCapacity, quantityBytes, SEED_MARKER } from '../../entando/cds.js';
import type { KubeObject, ObjectRef } from '../../kube/object.js';
import { podExec } from '../../kube/pod-exec.js';
import { ScaleGuard } from '../../kube/scale.js';
import { DEFAULT_VOLUME_POD_IMAGE, VolumePod } from '../../kube/volume-pod.js';
import { formatBytes } from '../../report/progress.js';
import type { PlanContext } from '../component.js';
import { archivedFiles, filesTrees, type ArchivedFiles } from './archived-files.js';
import { listDir, type PodExecFn, type PodTarget } from './backup.js';
import { extractTree } from './extract.js';
import { checkEntries } from './restore-check.js';

/** The CDS entries of an archive (FilesEntryMeta.cds set), by source namespace/deployment. */
export function cdsGroups(ctx: Pick<PlanContext, 'archive'>): ArchivedFiles[][] {
  const groups = new Map<string, ArchivedFiles[]>();
  for (const a of archivedFiles(ctx.archive.manifest.entries)) {
    if (!a.meta.cds) continue;
    const key = `${a.meta.cds.namespace}/${a.meta.deployment}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  return [...groups.values()];
}

/** Where one CDS volume goes in the target, and what it is called in messages. */
interface CdsTarget {
  namespace: string;
  deployment: string;
  claimName: string;
  mountPath: string;
  /** "tenant t1 (CDS dst/t1-cds-deployment)" */
  label: string;
}

/**
 * One step per CDS volume in the cds-files phase: after its PVC was made (cds-volumes) and
 * before its Deployment (cds-servers), so its init container finds public/ and seeds nothing.
 * Refused before any change when the target's volume is smaller than the archived trees.
 */
export async function planCdsSteps(
  ctx: PlanContext,
  exec: PodExecFn = podExec,
): Promise<PlanStep[]> {
  const steps: PlanStep[] = [];
  for (const group of cdsGroups(ctx)) {
    const m = group[0].meta;
    const cds = m.cds!;
    const ns = mapNamespace(ctx.mapping, cds.namespace)!;
    const t: CdsTarget = {
      namespace: ns,
      deployment: m.deployment,
      claimName: m.claimName,
      mountPath: m.mountPath,
      label: `tenant${cds.tenants.length > 1 ? 's' : ''} ${cds.tenants.join(', ')} (CDS ${ns}/${m.deployment})`,
    };
    const ref: ObjectRef = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: ns,
      name: t.claimName,
    };
    const size = group.reduce((n, a) => n + a.entry.size, 0);
    const base = {
      priority: phase('cds-files').priority,
      phase: 'files',
      component: 'files',
      object: ref,
      changes: group
        .map((a) => `extract ${a.meta.mountPath}/${a.meta.dir} (${formatBytes(a.entry.size)} tar)`)
        .sort(),
    };
    const existing = await ctx.target.get(ref);
    if (existing && ctx.existing === 'skip') {
      steps.push({
        ...base,
        action: 'skip',
        reason: `${t.label}: volume ${t.claimName} exists in the target: its files are left as they are (--existing skip)`,
      });
      continue;
    }
    const archived = ctx.archive.objects.find(
      (o) =>
        o.kind === 'PersistentVolumeClaim' &&
        o.metadata.name === t.claimName &&
        o.metadata.namespace === cds.namespace,
    );
    const room = sizeProblem(existing ?? archived, existing !== undefined, size);
    if (!existing && !archived) {
      ctx.results.error(
        `${t.label}`,
        `volume ${ns}/${t.claimName} is neither in the archive nor in the target: nowhere to restore its files`,
      );
    } else if (room) {
      ctx.results.error(`${t.label}: volume ${ns}/${t.claimName}`, room);
    }
    steps.push({
      ...base,
      action: 'run',
      reason: existing
        ? `${t.label}: the volume exists: every tar entry checked, the CDS deployment scaled to 0, public/ and protected/ replaced through a short-lived pod (a seed of the CDS init container is replaced too, with --existing update), scaled back`
        : `${t.label}: into the new volume, before the CDS deployment exists: every tar entry checked, then public/ and protected/ extracted through a short-lived pod`,
      run: (c) => restoreCdsVolume(c, ctx, t, group, exec),
    });
  }
  return steps;
}

/** Why the claim cannot hold `size` bytes of tar, or undefined (unknown sizes pass). */
function sizeProblem(
  pvc: KubeObject | undefined,
  exists: boolean,
  size: number,
): string | undefined {
  if (!pvc) return undefined;
  // A claim to be made gets what it requests; an existing one has what was provisioned.
  const requested = (pvc.spec as { resources?: { requests?: { storage?: string } } } | undefined)
    ?.resources?.requests?.storage;
  const capacity = exists ? claimCapacity(pvc) : requested;
  const bytes = capacity ? quantityBytes(capacity) : undefined;
  if (bytes === undefined || bytes >= size) return undefined;
  return `too small: ${capacity} (${formatBytes(bytes)}) cannot hold the archived public/ and protected/ (${formatBytes(size)} of tar); make the volume larger (a bigger PVC, or expand it) and restore again`;
}

/**
 * Fills one CDS volume: entries checked, its deployment (if the target has it) scaled to 0,
 * a volume pod mounting the PVC, a seeded volume said so (refused unless --existing update),
 * each tree swapped in whole, the seed marker removed, the deployment scaled back.
 */
export async function restoreCdsVolume(
  c: StepContext,
  ctx: PlanContext,
  t: CdsTarget,
  group: ArchivedFiles[],
  exec: PodExecFn = podExec,
): Promise<void> {
  await checkEntries(ctx, group, c.signal, c.timings);
  const pvc = await c.target.get({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: t.namespace,
    name: t.claimName,
  });
  if (!pvc)
    throw new OperationError(
      `${t.label}: volume ${t.namespace}/${t.claimName} is not in the target`,
    );
  const guard = new ScaleGuard(c.target, c.progress);
  let pod: VolumePod | undefined;
  try {
    // The CDS writes through its API meanwhile otherwise, and its RWO volume is attached to its node.
    await guard.scaleDown(t.namespace, [t.deployment]);
    pod = await timed(c, 'start a volume pod', () =>
      VolumePod.start(
        c.target,
        {
          namespace: t.namespace,
          owner: t.deployment,
          purpose: 'cds',
          image: ctx.volumePodImage ?? DEFAULT_VOLUME_POD_IMAGE,
          volumes: [{ claimName: t.claimName, mountPath: t.mountPath }],
        },
        c.progress,
      ),
    );
    const target: PodTarget = {
      namespace: t.namespace,
      pod: pod.name,
      container: pod.container,
      via: 'volume-pod',
    };
    const present = new Set(await listDir(c.target, target, t.mountPath, c.signal, exec));
    const seeded = present.has(SEED_MARKER);
    if (seeded || present.has('public')) {
      const what = seeded
        ? `the seed of the CDS init container (${SEED_MARKER}): its pod started on the empty volume before this restore`
        : 'a public/ directory this restore did not write';
      if (ctx.existing !== 'update') {
        throw new OperationError(
          `${t.label}: volume ${t.claimName} already holds ${what}; nothing was written: pass --existing update to replace its public/ and protected/ with the archived ones`,
        );
      }
      c.progress(`${t.label}: volume ${t.claimName} holds ${what}: replaced (--existing update)`);
    }
    for (const tree of filesTrees(group)) {
      if (c.signal.aborted) throw new OperationError('interrupted');
      const a = tree[0];
      await timed(c, `extract ${a.meta.dir} (${t.label})`, () =>
        extractTree(c, ctx, target, tree, exec),
      );
    }
    if (seeded) {
      const ran = await exec(c.target.config, {
        ...target,
        command: ['rm', '-f', `${t.mountPath}/${SEED_MARKER}`],
        signal: c.signal,
      });
      if (ran.exitCode !== 0)
        c.progress(`${t.label}: could not remove ${SEED_MARKER}: ${ran.stderr.trim()}`);
    }
    const size = group.reduce((n, a) => n + a.entry.size, 0);
    c.progress(`restored ${t.label}: ${formatBytes(size)} of public/ and protected/`);
  } finally {
    await pod?.delete();
    if (guard.active) await timed(c, `scale back ${t.deployment}`, () => guard.restore());
  }
}
