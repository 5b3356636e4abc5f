import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import type { ObjectRef } from '../../kube/object.js';
import { formatBytes } from '../../report/progress.js';
import type { PlanStep } from '../../contract/plan.js';
import { pluginDataPlacement, type PluginPlacement } from '../../contract/mapping.js';
import { phase, type PhaseName } from '../../contract/order.js';
import type { PlanContext } from '../component.js';
import { archivedFiles, type ArchivedFiles } from './archived-files.js';
import { restoreOwnerFiles } from './restore-owner.js';

/**
 * Where an owner's files step goes in the restore order (src/restore/order.ts): each right
 * after the databases of its kind (app-files, plugin-files), or after the reinstall of its
 * bundle when that makes the plugin.
 */
export function filesPhase(ownerKind: string, at: PluginPlacement): PhaseName {
  if (at.afterReinstall) {
    return at.tenantReinstall ? 'reinstalled-tenant-plugin-files' : 'reinstalled-plugin-files';
  }
  return ownerKind === EntandoKind.Plugin ? 'plugin-files' : 'app-files';
}

const PHASE = 'files';

/** One step per owner (app, plugin): check every entry, then extract each into its volume. */
export async function planFilesSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const byOwner = new Map<string, ArchivedFiles[]>();
  for (const a of archivedFiles(ctx.archive.manifest.entries)) {
    if (a.meta.cds) continue; // a CDS volume: cds-restore.ts
    const key = `${a.meta.owner.kind}/${a.meta.owner.name}`;
    byOwner.set(key, [...(byOwner.get(key) ?? []), a]);
  }
  const steps: PlanStep[] = [];
  for (const group of byOwner.values()) {
    const owner = group[0].meta.owner;
    const ref: ObjectRef = {
      apiVersion: ENTANDO_API,
      kind: owner.kind,
      namespace: ctx.mapping.targetNamespace,
      name: owner.name,
    };
    const embedded = group.some((a) => a.meta.embedded);
    const placement =
      owner.kind === EntandoKind.Plugin
        ? pluginDataPlacement(ctx.mapping, owner.name)
        : { afterReinstall: false };
    const base = {
      priority: phase(filesPhase(owner.kind, placement)).priority,
      phase: PHASE,
      component: 'files',
      object: ref,
      changes: group
        .map(
          (a) =>
            `extract ${a.meta.qualifier} ${a.meta.mountPath}/${a.meta.dir} (${formatBytes(a.entry.size)} tar)`,
        )
        .sort(),
    };
    if (placement.skip) {
      steps.push({ ...base, action: 'skip', reason: placement.skip });
      continue;
    }
    if (ctx.existing === 'skip' && (await ctx.target.get(ref))) {
      steps.push({
        ...base,
        action: 'skip',
        reason: `${owner.kind} ${owner.name} exists in the target: its files are left as they are (--existing skip)`,
      });
      continue;
    }
    // The databases component planned first: an owner whose schemas are loaded shares their
    // scale-down, and its files go in at the same time, through a pod like its server's.
    const window = embedded ? undefined : ctx.windows.joined(owner);
    if (!window) {
      steps.push({
        ...base,
        action: 'run',
        reason: embedded
          ? 'once the operator deployed it: every tar entry checked first, then the deployments scaled to 0 and each directory extracted through a short-lived pod that mounts the volume (embedded databases), swapped in whole, deployments scaled back'
          : 'once the operator deployed it: every tar entry checked first, then each directory extracted by tar in the running server pod and swapped in whole',
        run: (c) => restoreOwnerFiles(c, ctx, ref, group),
      });
      continue;
    }
    window.join();
    steps.push({
      ...base,
      action: 'run',
      group: window.group,
      reason:
        "with its databases, in the same scale-down: every tar entry checked first, then each directory extracted through a short-lived pod like the server's (its image, user and volume) and swapped in whole",
      run: (c) => window.run(c, () => restoreOwnerFiles(c, ctx, ref, group, window)),
    });
  }
  return steps;
}
