import type { DecryptionKeys } from '../archive/encryption.js';
import { isResourcePath } from '../archive/layout.js';
import { verifyArchive } from '../archive/verify.js';
import type { ArchiveRef } from '../storage/location.js';
import type { Component, ExistingPolicy, LoadedArchive } from '../contract/component.js';
import { EntandoKind } from '../entando/kinds.js';
import { OperationError, UserError } from '../errors.js';
import { apiErrorMessage, KubeClient } from '../kube/client.js';
import { describeRef, spec, type KubeObject } from '../kube/object.js';
import type { Output } from '../report/output.js';
import { Results } from '../report/results.js';
import type {
  BundlesRestoreMode,
  KeycloakRestoreMode,
  RestoreMapping,
} from '../contract/mapping.js';
import { orderSteps, type Plan } from './plan.js';
import { timed, type PlanStep, type StepContext } from '../contract/plan.js';
import type { Timings } from '../report/timings.js';
import { checkReachable, preflight } from './preflight.js';
import { missingAccess } from '../kube/access.js';
import { AppLock, lockNeeds } from '../kube/app-lock.js';
import { isStatus } from '../kube/client.js';
import { ScaleWindows } from '../contract/scale-window.js';
import { checkVersions } from './versions.js';

/**
 * Reads, decrypts and verifies the archive, keeping the captured objects in memory. The archive
 * passes of `passesOf` run in the same read (the files trees' tar headers, what a restore needs
 * checked before extracting them), so the archive is not read once more for them. An age archive is
 * authenticated whole by its decryption, so its entries are not hashed (ReadOptions).
 */
export async function loadArchive(
  file: ArchiveRef,
  keys: DecryptionKeys,
  opts: { passesOf?: readonly Component[] } = {},
): Promise<LoadedArchive> {
  const objects: KubeObject[] = [];
  const passes = (opts.passesOf ?? []).flatMap((c) => c.archivePass?.() ?? []);
  const { manifest, locations, payloadPrefix } = await verifyArchive(
    file,
    keys,
    async (path, _part, body) => {
      for (const pass of passes) if (await pass.visit(path, body)) return;
      if (!isResourcePath(path)) return;
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      objects.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject);
    },
    { authenticatedSuffices: true },
  );
  const found = await Promise.all(passes.map((p) => p.finish()));
  return {
    file,
    keys,
    manifest,
    objects,
    locations,
    verifiedPrefix: payloadPrefix,
    ...found.reduce((all, f) => ({ ...all, ...f }), {}),
  };
}

export interface PlanRequest {
  /**
   * Every component, in backup order (src/components/index.ts, passed in by the CLI): restore
   * orchestrates them through src/contract/ alone and never names one.
   */
  components: readonly Component[];
  archive: LoadedArchive;
  target: KubeClient;
  targetContext: string;
  targetNamespace?: string;
  /** --namespace-map: other namespaces of the archived objects, renamed. */
  namespaceMap?: Record<string, string>;
  ingressHost?: string;
  /** --tenant-host: secondary tenants' new hosts by tenant code. */
  tenantHosts?: Record<string, string[]>;
  existing: ExistingPolicy;
  parallel?: number;
  /** Image of the pod that loads an external database (--db-client-image). */
  dbClientImage?: string;
  /** Image of the pod that writes a volume of a server scaled to 0 (--volume-pod-image). */
  volumePodImage?: string;
  /** --keycloak: what happens to the realm (default from the archive). */
  keycloak?: KeycloakRestoreMode;
  /** Where this machine reaches the source's Keycloak for --keycloak keep (default its public URL). */
  keycloakUrl?: string;
  waitTimeoutMs?: number;
  /** --bundles: reinstall through the component manager (default), objects-only or skip. */
  bundles?: BundlesRestoreMode;
}

export function mappingFor(
  archive: LoadedArchive,
  req: Pick<
    PlanRequest,
    | 'components'
    | 'targetNamespace'
    | 'namespaceMap'
    | 'ingressHost'
    | 'keycloak'
    | 'bundles'
    | 'tenantHosts'
  >,
): RestoreMapping {
  const { targetNamespace, ingressHost } = req;
  const source = archive.manifest.source;
  const namespaceMap = checkNamespaceMap(archive, req.namespaceMap ?? {});
  const app = archive.objects.find(
    (o) => o.kind === EntandoKind.App && o.metadata.name === source.app,
  );
  const sourceHost = app ? (spec(app).ingressHostName as string | undefined) : undefined;
  const mapping: RestoreMapping = {
    sourceNamespace: source.namespace,
    targetNamespace: targetNamespace ?? source.namespace,
    namespaceMap,
    sourceHost,
    targetHost: ingressHost ?? sourceHost,
  };
  // The components' parts (the tenants' hosts, the realm's fate, the bundles'), in their order.
  const choices = { keycloak: req.keycloak, bundles: req.bundles, tenantHosts: req.tenantHosts };
  for (const c of req.components) Object.assign(mapping, c.restoreMapping?.(archive, choices));
  return mapping;
}

/** The namespaces the archived objects live in besides the app's (bundle repositories). */
export function otherNamespaces(archive: LoadedArchive): string[] {
  const app = archive.manifest.source.namespace;
  const all = archive.objects.map((o) => o.metadata.namespace).filter((n) => n !== undefined);
  return [...new Set(all)].filter((n) => n !== app).sort();
}

/** --namespace-map names only namespaces of the archive, other than the app's own. */
function checkNamespaceMap(
  archive: LoadedArchive,
  map: Record<string, string>,
): Record<string, string> {
  const app = archive.manifest.source.namespace;
  const others = otherNamespaces(archive);
  for (const from of Object.keys(map)) {
    if (from === app) {
      throw new UserError(
        `--namespace-map ${from}=${map[from]}: ${from} is the app's namespace; use --to-namespace ${map[from]}`,
      );
    }
    if (!others.includes(from)) {
      throw new UserError(
        `--namespace-map ${from}=${map[from]}: the archive has no objects in namespace ${from} (${others.length ? `its other namespaces: ${others.join(', ')}` : 'all its objects are in the app namespace'})`,
      );
    }
  }
  return map;
}

/** Builds the ordered plan and runs the preflight; changes nothing. */
export async function planRestore(
  req: PlanRequest,
): Promise<{ plan: Plan; mapping: RestoreMapping; results: Results }> {
  const mapping = mappingFor(req.archive, req);
  const results = new Results();
  const unreachable = await checkReachable(req.target, req.targetContext);
  if (unreachable) return { plan: { steps: [], problems: [unreachable] }, mapping, results };
  // Every permission first, reads as well as writes, in every namespace involved: a user
  // missing several learns them all at once, before the plan reads anything.
  const where = `the target (context ${req.targetContext})`;
  const denied = await missingAccess(
    req.target,
    [
      ...lockNeeds(mapping.targetNamespace),
      ...req.components.flatMap((c) =>
        c.restoreAccess({ archive: req.archive, mapping, existing: req.existing }),
      ),
    ],
    where,
  );
  if (denied.length > 0) return { plan: { steps: [], problems: denied }, mapping, results };
  const steps: PlanStep[] = [];
  const problems: string[] = [];
  const windows = new ScaleWindows();
  for (const component of req.components) {
    const planned = await component
      .plan({
        archive: req.archive,
        existing: req.existing,
        parallel: req.parallel ?? 4,
        mapping,
        target: req.target,
        results,
        dbClientImage: req.dbClientImage,
        volumePodImage: req.volumePodImage,
        waitTimeoutMs: req.waitTimeoutMs,
        keycloakUrl: req.keycloakUrl,
        windows,
      })
      .catch((err: unknown) => {
        // A read refused by a rule the access review could not see (e.g. a webhook).
        if (!isStatus(err, 403)) throw err;
        problems.push(
          `${component.name}: cannot read what exists in ${where}: ${apiErrorMessage(err)}`,
        );
        return [];
      });
    steps.push(...planned);
  }
  const ordered = orderSteps(steps);
  const owners = {
    app: req.archive.manifest.source.app,
    plugins: req.archive.objects
      .filter((o) => o.kind === EntandoKind.Plugin)
      .map((o) => o.metadata.name),
  };
  // The source's versions against the target's: a downgrade is refused before any change.
  const versions = await checkVersions(req.target, req.archive, mapping);
  for (const w of versions.warnings) results.warn('versions', w);
  problems.unshift(...versions.problems);
  problems.push(...(await preflight(req.target, ordered, mapping, owners)));
  problems.push(...results.errors.map((e) => `${e.where}: ${e.message}`));
  results.errors.length = 0;
  const release = () => windows.closeAll();
  return {
    plan: { steps: ordered, problems, release, versions: versions.checks },
    mapping,
    results,
  };
}

/**
 * Runs the steps in order. A failed step stops the restore after its phase: what follows may
 * depend on it (an app restored without its secrets would get new credentials). The steps of a
 * group (an owner's databases and files) run at once where the first of them comes; each one's
 * outcome counts at its own place in the order, so a failure of the later one does not stop
 * the steps between. The servers scaled back without waiting are waited for at the end: one
 * that does not come back is an error of the restore, reported then.
 */
export async function executePlan(
  plan: Plan,
  target: KubeClient,
  output: Output,
  signal: AbortSignal,
  results: Results,
  scope: { namespace: string; app: string },
  timings?: Timings,
): Promise<Results> {
  let failedPhase: string | undefined;
  // Held from the moment the namespace exists: no backup or second restore of the app meanwhile.
  let lock: AppLock | undefined;
  const early = new Map<PlanStep, Outcome>();
  const run = (s: PlanStep) => runStep(s, failedPhase, target, output, signal, results, timings);
  try {
    for (const step of plan.steps) {
      if (failedPhase && step.phase !== failedPhase) break;
      let outcome = early.get(step);
      if (!outcome) {
        if (!lock && step.phase !== 'namespace' && !failedPhase) {
          lock = await AppLock.acquire(target, scope.namespace, scope.app, 'restore');
        }
        const together = step.group ? plan.steps.filter((s) => s.group === step.group) : [step];
        const outcomes = await Promise.all(together.map(run));
        together.forEach((s, i) => early.set(s, outcomes[i]));
        outcome = early.get(step)!;
      }
      if (outcome === 'stop') break;
      if (outcome === 'failed') failedPhase = step.phase;
    }
  } finally {
    try {
      const release = plan.release;
      const errors = release
        ? await (timings ? timings.time('wait for the servers scaled back', release) : release())
        : [];
      for (const e of errors) results.error('scale back', e);
    } finally {
      await lock?.release();
    }
  }
  return results;
}

/** ok: ran (or had nothing to run); failed: its error is in the results; stop: not run. */
type Outcome = 'ok' | 'failed' | 'stop';

/** Runs one step, unless a phase before its own failed. */
async function runStep(
  step: PlanStep,
  failedPhase: string | undefined,
  target: KubeClient,
  output: Output,
  signal: AbortSignal,
  results: Results,
  timings: Timings | undefined,
): Promise<Outcome> {
  if (failedPhase && step.phase !== failedPhase) return 'stop';
  if (!step.run) return 'ok';
  if (signal.aborted)
    throw new OperationError(
      'restore interrupted: run the same restore with --existing update to finish',
    );
  const what = step.object ? describeRef(step.object) : step.phase;
  output.progress(`${step.action} ${what}`);
  try {
    const c: StepContext = {
      target,
      results,
      signal,
      progress: (m) => output.progress(m),
      timings,
    };
    await timed(c, `step ${step.phase}`, () => step.run!(c));
  } catch (err) {
    results.error(what, apiErrorMessage(err));
    return 'failed';
  }
  return 'ok';
}
