import { isDeepStrictEqual } from 'node:util';
import { EntandoKind, IMAGE_INFO, OPERATOR_CONFIG } from '../../entando/kinds.js';
import { apiErrorMessage, isStatus } from '../../kube/client.js';
import { describeRef, refOf, type KubeObject } from '../../kube/object.js';
import { phase as phaseNamed, phaseOfKind } from '../../contract/order.js';
import type { PlanStep, StepContext } from '../../contract/plan.js';
import type { RestoreMapping } from '../../contract/mapping.js';
import { prepareObject } from './transforms/index.js';
import type { PlanContext } from '../component.js';
import { adoptSteps } from './adopt.js';

const COMPONENT = 'resources';

/** What an Entando install puts in the namespace beside its operator: the target's, if there. */
function isInstallationConfig(o: KubeObject): boolean {
  return o.kind === 'ConfigMap' && [IMAGE_INFO, OPERATOR_CONFIG].includes(o.metadata.name);
}

/** One step per archived object (plus the namespace), each placed by its kind's phase. */
export async function planObjectSteps(
  ctx: PlanContext,
  objects: KubeObject[],
): Promise<PlanStep[]> {
  // Objects left out (e.g. SSO secrets with --keycloak skip) are not re-owned either.
  const restored = objects.filter((o) => !prepareObject(o, ctx.mapping).skip);
  const namespaces = new Set([ctx.mapping.targetNamespace]);
  for (const o of restored) {
    const ns = prepareObject(o, ctx.mapping).object.metadata.namespace;
    if (ns) namespaces.add(ns);
  }
  const steps: PlanStep[] = [];
  for (const ns of namespaces) steps.push(await namespaceStep(ctx, ns));
  steps.push(...adoptSteps(restored, ctx.mapping));
  for (const archived of objects) {
    const prepared = prepareObject(archived, ctx.mapping);
    const object = prepared.object;
    const ref = refOf(object);
    const phase = phaseOfKind(object.kind);
    if (!phase) {
      ctx.results.warn(describeRef(ref), 'kind not restored by this version: left out');
      continue;
    }
    const base = {
      priority: phase.priority,
      phase: phase.name,
      component: COMPONENT,
      object: ref,
      changes: prepared.changes,
    };
    if (prepared.skip) {
      steps.push({ ...base, action: 'skip', reason: prepared.skip });
      continue;
    }
    const existing = await ctx.target.get(ref);
    if (existing && isInstallationConfig(object)) {
      // The target's own Entando install (e.g. 7.3 receiving a 7.1 app): its operator must keep
      // deploying its own images, not the archived release's.
      steps.push({
        ...base,
        action: 'exists',
        reason: `the target's Entando installation's, which says what its operator deploys: kept, not the archive's`,
      });
      continue;
    }
    if (!existing) {
      steps.push({
        ...base,
        action: 'create',
        reason: phase.reason,
        run: (c) => createObject(c, object),
      });
    } else if (ctx.existing === 'update') {
      steps.push({
        ...base,
        action: 'update',
        reason: `exists: updated (--existing update); ${phase.reason}`,
        run: (c) => c.target.apply(object).then(() => undefined),
      });
    } else if (ctx.existing === 'skip') {
      steps.push({
        ...base,
        action: 'exists',
        reason: 'exists in the target: left as it is (--existing skip)',
      });
    } else {
      const advice = existingAdvice(archived.metadata.namespace, ctx.mapping);
      steps.push({ ...base, action: 'exists', reason: `exists in the target: ${advice}` });
      ctx.results.error(describeRef(ref), `already exists in the target: ${advice}`);
    }
  }
  return steps;
}

/**
 * What to do about an object that is already there. In the app's namespace, or in a namespace
 * the user mapped: skip or update it (most likely an earlier run of this restore). In another
 * namespace kept by name (a bundle repository): it is most likely used by an earlier copy of
 * the app, and skip or update would make both copies share it (and their component managers
 * fight over its bundles); a namespace of its own keeps this copy apart.
 */
export function existingAdvice(
  archivedNamespace: string | undefined,
  mapping: Pick<RestoreMapping, 'sourceNamespace' | 'namespaceMap'>,
): string {
  const ns = archivedNamespace;
  if (ns === undefined || ns === mapping.sourceNamespace || mapping.namespaceMap?.[ns]) {
    return 'pass --existing skip or --existing update';
  }
  return `namespace ${ns} is outside the app's and already in use (another copy of this app?): pass --namespace-map ${ns}=<new namespace> to give this copy its own (--existing skip or update would make both share it)`;
}

/** Every namespace the restored objects land in: the app's, and each bundle repository's. */
async function namespaceStep(ctx: PlanContext, ns: string): Promise<PlanStep> {
  const phase = phaseNamed('namespace');
  const ref = { apiVersion: 'v1', kind: 'Namespace', name: ns };
  const exists = await ctx.target.get(ref);
  const base = {
    priority: phase.priority,
    phase: phase.name,
    component: COMPONENT,
    object: ref,
    changes: [],
  };
  if (exists) return { ...base, action: 'exists', reason: 'namespace exists' };
  const why =
    ns === ctx.mapping.targetNamespace
      ? phase.reason
      : `${phase.reason}; objects of the app live here`;
  const object: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  return { ...base, action: 'create', reason: why, run: (c) => createObject(c, object) };
}

/**
 * Whether an object that appeared in the target meanwhile is the one we would create: same spec,
 * and every label and annotation of ours with the same value. E.g. the EntandoDeBundle of the
 * component manager's post-init (entando-epc-bootstrap), which the target's CM deploys as soon as
 * the restored app is up, exactly as the source's did.
 */
export function sameContent(existing: KubeObject, ours: KubeObject): boolean {
  const sub = (mine?: Record<string, string>, theirs?: Record<string, string>) =>
    Object.entries(mine ?? {}).every(([k, v]) => theirs?.[k] === v);
  return (
    isDeepStrictEqual(existing.spec, ours.spec) &&
    sub(ours.metadata.labels, existing.metadata.labels) &&
    sub(ours.metadata.annotations, existing.metadata.annotations)
  );
}

async function createObject(ctx: StepContext, object: KubeObject): Promise<void> {
  try {
    await ctx.target.create(object);
  } catch (err) {
    if (isStatus(err, 409) && object.kind === EntandoKind.Bundle) {
      // The CM's post-init deploys the bootstrap bundle's CR itself once the restored app runs.
      await ctx.target.apply(object);
      return;
    }
    if (isStatus(err, 409)) {
      const existing = await ctx.target.get(refOf(object)).catch(() => undefined);
      if (existing && sameContent(existing, object)) {
        ctx.progress(`${describeRef(refOf(object))} appeared meanwhile, identical: kept`);
        return;
      }
      throw new Error(
        `${describeRef(refOf(object))} appeared in the target meanwhile: run again with --existing update or skip`,
      );
    }
    throw new Error(`cannot create ${describeRef(refOf(object))}: ${apiErrorMessage(err)}`);
  }
}
