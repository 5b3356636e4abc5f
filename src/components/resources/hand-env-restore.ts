import { isDeepStrictEqual } from 'node:util';
import type { HandAddedEnv } from '../../contract/manifest.js';
import { hostChanges, type RestoreMapping } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { PlanStep, StepContext } from '../../contract/plan.js';
import { ENTANDO_API, EntandoKind, TENANTS_SECRET } from '../../entando/kinds.js';
import type { EnvEntry, EnvFromEntry } from '../../entando/generated-env.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import { OperationError } from '../../errors.js';
import { isStatus } from '../../kube/client.js';
import { describeRef, type ObjectRef } from '../../kube/object.js';
import { pollDelay } from '../../kube/poll.js';
import type { PlanContext } from '../component.js';
import { describeEnv, describeEnvFrom } from './hand-env.js';
import { hostPattern } from './transforms/host.js';

const COMPONENT = 'resources';
const PHASE = 'app-env';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A literal env value for the target: `.<ns>.svc` host names of the source namespace (and of
 * each --namespace-map one) name the target's, the source ingress host the target's (the
 * resources' host transform, whole host names only). References are kept as they are.
 */
export function rewriteValue(
  value: string,
  mapping: RestoreMapping,
): { value: string; changes: string[] } {
  const changes: string[] = [];
  let out = value;
  const namespaces: [string, string][] = [
    [mapping.sourceNamespace, mapping.targetNamespace],
    ...Object.entries(mapping.namespaceMap ?? {}),
  ];
  for (const [from, to] of namespaces) {
    if (from === to) continue;
    const re = new RegExp(`(?<=[A-Za-z0-9-]\\.)${escape(from)}(?=\\.svc(?![A-Za-z0-9-]))`, 'g');
    const next = out.replace(re, to);
    if (next !== out) changes.push(`namespace ${from} -> ${to}`);
    out = next;
  }
  if (hostChanges(mapping)) {
    const next = out.replace(hostPattern(mapping.sourceHost!), mapping.targetHost!);
    if (next !== out) changes.push(`host ${mapping.sourceHost} -> ${mapping.targetHost}`);
    out = next;
  }
  return { value: out, changes };
}

/** The recorded env of one container as the target gets it, with what the rewrite changed. */
export function targetEnv(
  recorded: HandAddedEnv,
  mapping: RestoreMapping,
): { env: EnvEntry[]; changes: string[] } {
  const changes: string[] = [];
  const env = recorded.env.map((e) => {
    if (e.value === undefined) return e;
    const r = rewriteValue(e.value, mapping);
    for (const c of r.changes) changes.push(`env ${e.name}: ${c}`);
    return { ...e, value: r.value };
  });
  return { env, changes };
}

interface Container {
  name?: string;
  env?: EnvEntry[];
  envFrom?: EnvFromEntry[];
}

/**
 * `want` merged into a container's env: an entry missing is added, one with another value or
 * reference takes the archived one (named in `changed`), one already equal is left alone.
 */
export function mergeEnv(
  container: Container,
  want: { env: EnvEntry[]; envFrom: EnvFromEntry[] },
): { env: EnvEntry[]; envFrom: EnvFromEntry[]; added: string[]; changed: string[] } {
  const env = [...(container.env ?? [])];
  const envFrom = [...(container.envFrom ?? [])];
  const added: string[] = [];
  const changed: string[] = [];
  for (const e of want.env) {
    const i = env.findIndex((x) => x.name === e.name);
    if (i < 0) {
      env.push(e);
      added.push(e.name);
    } else if (!sameEntry(env[i], e)) {
      env[i] = e;
      changed.push(e.name);
    }
  }
  for (const f of want.envFrom) {
    if (envFrom.some((x) => isDeepStrictEqual(x, f))) continue;
    envFrom.push(f);
    added.push(describeEnvFrom(f));
  }
  return { env, envFrom, added, changed };
}

const sameEntry = (a: EnvEntry, b: EnvEntry) =>
  a.value === b.value && isDeepStrictEqual(a.valueFrom, b.valueFrom);

/** One step per recorded container, in the app-env phase. */
export async function planHandEnvSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const recorded = ctx.archive.manifest.components.resources?.handAddedEnv ?? [];
  if (recorded.length === 0) return [];
  const ns = ctx.mapping.targetNamespace;
  const app: ObjectRef = {
    apiVersion: ENTANDO_API,
    kind: EntandoKind.App,
    namespace: ns,
    name: ctx.archive.manifest.source.app,
  };
  const appExists = !!(await ctx.target.get(app));
  const moved =
    ctx.mapping.sourceNamespace !== ns || hostChanges(ctx.mapping) ? ctx.mapping : undefined;
  return recorded.map((r) => {
    const object: ObjectRef = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: r.deployment,
    };
    const { env, changes } = targetEnv(r, ctx.mapping);
    const base = {
      priority: phase(PHASE).priority,
      phase: PHASE,
      component: COMPONENT,
      object,
      changes: [
        `container ${r.container}: ${[...r.env.map(describeEnv), ...r.envFrom.map(describeEnvFrom)].join(', ')}`,
        ...changes,
      ],
    };
    if (appExists && ctx.existing === 'skip') {
      return {
        ...base,
        action: 'exists',
        reason: 'the app exists in the target: left as it is (--existing skip)',
      };
    }
    if (moved) warnReferencedValues(ctx, r, describeRef(object));
    return {
      ...base,
      action: 'update',
      reason: `${phase(PHASE).reason}; an entry already there with the archived value is left alone`,
      run: (c: StepContext) =>
        reapply(c, app, object, r.container, { env, envFrom: r.envFrom }, ctx.waitTimeoutMs),
    };
  });
}

/**
 * Values inside the Secrets and ConfigMaps the env reads are restored as archived, but for
 * entando-tenants-secret, which has a rewrite of its own (transforms/tenants-secret.ts).
 */
function warnReferencedValues(ctx: PlanContext, r: HandAddedEnv, where: string): void {
  const names = new Set<string>();
  for (const e of r.env) {
    const from = e.valueFrom as Record<string, { name?: string }> | undefined;
    if (from?.secretKeyRef?.name) names.add(`Secret ${from.secretKeyRef.name}`);
    if (from?.configMapKeyRef?.name) names.add(`ConfigMap ${from.configMapKeyRef.name}`);
  }
  for (const f of r.envFrom) {
    if (f.secretRef?.name) names.add(`Secret ${f.secretRef.name}`);
    if (f.configMapRef?.name) names.add(`ConfigMap ${f.configMapRef.name}`);
  }
  names.delete(`Secret ${TENANTS_SECRET}`);
  if (names.size === 0) return;
  ctx.results.warn(
    where,
    `its hand-added env reads ${[...names].join(', ')}, restored as archived: the namespace and host inside their values are not rewritten (check them)`,
  );
}

/**
 * Once the operator has processed the app (its own rewrite of the Deployments is over, or it
 * would drop what is set here), merges the env into the container; a concurrent change of the
 * Deployment (409) is read again and merged once more. Then waits for the rollout it causes.
 */
async function reapply(
  c: StepContext,
  app: ObjectRef,
  ref: ObjectRef,
  container: string,
  want: { env: EnvEntry[]; envFrom: EnvFromEntry[] },
  timeoutMs = 600_000,
): Promise<void> {
  await waitForEntandoReady(c.target, app, timeoutMs, c.progress);
  const where = describeRef(ref);
  for (let attempt = 1; ; attempt++) {
    const d = await c.target.get(ref);
    if (!d) throw new OperationError(`${where} not found: the operator did not make it`);
    const containers = (d.spec as { template: { spec: { containers: Container[] } } }).template.spec
      .containers;
    const target = containers.find((x) => x.name === container);
    if (!target) throw new OperationError(`${where} has no container ${container}`);
    const merged = mergeEnv(target, want);
    if (merged.added.length === 0 && merged.changed.length === 0) {
      c.progress(`${where}: hand-added env already as archived`);
      return;
    }
    target.env = merged.env;
    if (merged.envFrom.length > 0) target.envFrom = merged.envFrom;
    try {
      // resourceVersion: a Deployment changed since it was read is refused (409), not overwritten.
      await c.target.mergePatch(ref, {
        metadata: { resourceVersion: d.metadata.resourceVersion },
        spec: { template: { spec: { containers } } },
      });
    } catch (err) {
      if (isStatus(err, 409) && attempt < 3) continue;
      throw err;
    }
    for (const name of merged.changed) {
      c.results.warn(where, `env ${name} had another value in the target: set to the archived one`);
    }
    c.progress(`${where}: set ${[...merged.added, ...merged.changed].join(', ')}`);
    await waitRolledOut(c, ref, timeoutMs);
    return;
  }
}

/** Waits until the Deployment's new pods (after the env change) are all updated and ready. */
async function waitRolledOut(c: StepContext, ref: ObjectRef, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const d = await c.target.get(ref);
    if (!d) return;
    const want = (d.spec as { replicas?: number }).replicas ?? 1;
    const s = (d.status ?? {}) as {
      observedGeneration?: number;
      updatedReplicas?: number;
      readyReplicas?: number;
    };
    const generation = (d.metadata.generation as number | undefined) ?? 0;
    if (
      (s.observedGeneration ?? 0) >= generation &&
      (want === 0 || ((s.updatedReplicas ?? 0) >= want && (s.readyReplicas ?? 0) >= want))
    ) {
      return;
    }
    if (Date.now() - started > timeoutMs) {
      throw new OperationError(
        `${describeRef(ref)}: the pods with the restored env are not ready after ${timeoutMs / 1000}s (see its pods' logs)`,
      );
    }
    await new Promise((r) => setTimeout(r, pollDelay(started)));
  }
}
