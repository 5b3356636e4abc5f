import { ENTANDO_API } from '../../entando/kinds.js';
import { describeRef, refOf, type KubeObject, type OwnerReference } from '../../kube/object.js';
import type { RestoreMapping } from '../../contract/mapping.js';
import { adoptPhaseOf } from '../../contract/order.js';
import type { PlanStep } from '../../contract/plan.js';
import { OperationError } from '../../errors.js';

/**
 * Objects the source's Entando CRs owned (the DB and SSO secrets of an app or plugin) travel
 * without ownerReferences (the old UIDs do not exist in the target). Once the owner is
 * restored, this step gives them back an ownerReference to the new owner, so that deleting the
 * restored app removes them as it did in the source.
 */
export function adoptSteps(archived: KubeObject[], mapping: RestoreMapping): PlanStep[] {
  const restoredNames = new Set(archived.map((o) => `${o.kind}/${o.metadata.name}`));
  const steps: PlanStep[] = [];
  for (const obj of archived) {
    const owner = obj.metadata.ownerReferences?.find(
      (r) => r.apiVersion === ENTANDO_API && restoredNames.has(`${r.kind}/${r.name}`),
    );
    if (!owner) continue;
    const phase = adoptPhaseOf(owner.kind);
    if (!phase) continue;
    const namespace = mapping.targetNamespace;
    const ref = { ...refOf(obj), namespace };
    steps.push({
      priority: phase.priority,
      phase: phase.name,
      component: 'resources',
      action: 'update',
      object: ref,
      reason: `owned by ${owner.kind} ${owner.name} in the source: re-owned by the restored one`,
      changes: [`metadata.ownerReferences: ${owner.kind} ${owner.name} (new uid)`],
      run: async (ctx) => {
        const restoredOwner = await ctx.target.get({
          apiVersion: ENTANDO_API,
          kind: owner.kind,
          namespace,
          name: owner.name,
        });
        if (!restoredOwner?.metadata.uid) {
          throw new OperationError(
            `${owner.kind} ${namespace}/${owner.name} not found: cannot re-own ${describeRef(ref)}`,
          );
        }
        const reference: OwnerReference = {
          apiVersion: ENTANDO_API,
          kind: owner.kind,
          name: owner.name,
          uid: restoredOwner.metadata.uid,
          controller: owner.controller,
          blockOwnerDeletion: owner.blockOwnerDeletion,
        };
        await ctx.target.mergePatch(ref, { metadata: { ownerReferences: [reference] } });
      },
    });
  }
  return steps;
}
