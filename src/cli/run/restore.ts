import { verifyRestore, verifyText, type VerifyOutcome } from '../../compare/verify-restore.js';
import { bundlesLeftAlone } from '../../components/bundles/left-alone.js';
import { COMPONENTS } from '../../components/index.js';
import type { LoadedArchive } from '../../contract/component.js';
import type { RestoreMapping } from '../../contract/mapping.js';
import { OperationError, UserError } from '../../errors.js';
import { KubeClient } from '../../kube/client.js';
import { resolveKube, type ResolvedKube } from '../../kube/kubeconfig.js';
import type { Output } from '../../report/output.js';
import { formatFinding, type Results } from '../../report/results.js';
import { runFigures, type RunFigures } from '../../report/summary.js';
import { Timings } from '../../report/timings.js';
import type { Plan } from '../../restore/plan.js';
import { streamedBytes, trackRestoreProgress } from '../../restore/progress.js';
import { executePlan, loadArchive, planRestore, type PlanRequest } from '../../restore/restore.js';
import type { RestoreArgs } from '../commands/restore.js';
import type { CliContext } from '../context.js';
import { parseNamespaceMap } from '../namespace-map.js';
import { parseTenantHosts } from '../tenant-host.js';
import { planText, type RestoreResult, type RestoreSummary } from '../render/restore.js';

/**
 * The restore command's work, loaded only when it runs (it brings client-node): plan; with
 * --dry-run or a refused preflight that is all; else confirm, apply, and with --verify compare.
 */
export async function runRestore(
  args: RestoreArgs,
  ctx: CliContext,
  output: Output,
): Promise<RestoreResult> {
  const started = Date.now();
  const timings = new Timings();
  const planned = await plan(args, ctx, output, timings);
  const { summary, results } = planned;
  for (const w of results.warnings) output.warn(formatFinding(w));
  if (args['dry-run'] || planned.plan.problems.length > 0) {
    return { kind: 'plan', plan: planned.plan, summary };
  }
  if (!args.yes) await confirm(planned, args, ctx, output);
  const figures = await apply(planned, ctx, output, timings, started);
  const verified = args.verify ? await verify(planned, args, ctx, output) : undefined;
  const warnings = results.warnings;
  return { kind: 'done', plan: planned.plan, summary, warnings, figures, timings, verified };
}

/** A restore planned against its target, the preflight run. */
export interface Planned {
  archive: LoadedArchive;
  target: KubeClient;
  plan: Plan;
  mapping: RestoreMapping;
  results: Results;
  summary: RestoreSummary;
}

async function plan(
  args: RestoreArgs,
  ctx: CliContext,
  output: Output,
  timings: Timings,
): Promise<Planned> {
  parseNamespaceMap(args['namespace-map'] ?? []); // a bad map is refused before any read
  const keys = ctx.decryptionKeys(args);
  const archive = await timings.time('verify pass (decrypt, tar headers)', () =>
    loadArchive(ctx.location(args.archive, args, output), keys, {
      // The files step needs its trees checked; a dry run extracts nothing.
      passesOf: args['dry-run'] ? [] : COMPONENTS,
    }),
  );
  return planLoaded(archive, args, timings);
}

/** The plan of an archive already loaded (restore, and drill's throw-away restore). */
export async function planLoaded(
  archive: LoadedArchive,
  args: RestoreArgs,
  timings: Timings,
): Promise<Planned> {
  const namespaceMap = parseNamespaceMap(args['namespace-map'] ?? []);
  const kube = resolveKube({
    kubeconfig: args.kubeconfig,
    context: args['to-context'] ?? args.context,
  });
  const target = new KubeClient(kube.config);
  const request = {
    components: COMPONENTS,
    archive,
    target,
    targetContext: kube.contextName,
    ...choices(args),
  };
  const { plan, mapping, results } = await timings.time('plan and preflight', () =>
    planRestore({ ...request, namespaceMap }),
  );
  const summary = summaryOf(args.archive, archive, kube, mapping);
  return { archive, target, plan, mapping, results, summary };
}

/** The flags that shape the plan, as planRestore takes them. */
function choices(
  args: RestoreArgs,
): Omit<PlanRequest, 'components' | 'archive' | 'target' | 'targetContext'> {
  return {
    targetNamespace: args['to-namespace'] ?? args.namespace,
    ingressHost: args['ingress-host'],
    tenantHosts: parseTenantHosts(args['tenant-host'] ?? []),
    existing: args.existing,
    parallel: args.parallel,
    dbClientImage: args['db-client-image'],
    volumePodImage: args['volume-pod-image'],
    keycloak: args.keycloak,
    keycloakUrl: args['keycloak-url'],
    bundles: args.bundles,
    waitTimeoutMs: args['wait-timeout'] * 1000,
  };
}

function summaryOf(
  file: string,
  archive: LoadedArchive,
  kube: ResolvedKube,
  mapping: RestoreMapping,
): RestoreSummary {
  return {
    archive: file,
    source: archive.manifest.source,
    // Named in the plan (its steps), the summary and the JSON: left alone on purpose.
    bundlesLeftAlone:
      mapping.bundles?.mode === 'reinstall'
        ? bundlesLeftAlone(archive.manifest.components.bundles)
        : [],
    target: {
      context: kube.contextName,
      server: kube.server,
      namespace: mapping.targetNamespace,
      host: mapping.targetHost,
    },
  };
}

/** Without --yes: the plan (text output), then a y/N question on the terminal. */
async function confirm(
  { plan, summary }: Planned,
  args: RestoreArgs,
  ctx: CliContext,
  output: Output,
): Promise<void> {
  if (args.output === 'text') output.result(planText(plan, summary.target), null);
  const writes = plan.steps.filter((s) => s.run).length;
  const where = `${summary.target.context}/${summary.target.namespace}`;
  if (await ctx.confirm(`Apply ${writes} changes to ${where}? [y/N] `)) return;
  throw new UserError(
    'restore not confirmed: pass --yes to act without a prompt (or --dry-run to see the plan only)',
  );
}

/** Runs the plan with byte progress; a failed step fails the restore (exit 1). */
export async function apply(
  { plan, archive, target, mapping, results }: Planned,
  ctx: CliContext,
  output: Output,
  timings: Timings,
  started: number,
): Promise<RunFigures> {
  const progress = output.streamProgress();
  const detach = trackRestoreProgress(archive, progress);
  const scope = { namespace: mapping.targetNamespace, app: archive.manifest.source.app };
  try {
    await executePlan(plan, target, output, ctx.io.signal, results, scope, timings);
  } finally {
    detach();
  }
  const figures = runFigures(started, streamedBytes(progress), results.warnings.length);
  if (!results.ok) {
    for (const e of results.errors) output.warn(formatFinding(e));
    throw new OperationError(
      `restore failed: ${results.errors.map(formatFinding).join('; ')} (fix it and run the same restore with --existing update to finish)`,
    );
  }
  return figures;
}

/** --verify: the restored app compared with the archive. */
export async function verify(
  { archive, target, mapping }: Planned,
  args: RestoreArgs,
  ctx: CliContext,
  output: Output,
): Promise<{ outcome: VerifyOutcome; lines: string[] }> {
  const outcome = await verifyRestore(archive, target, mapping, {
    parallel: args.parallel,
    waitTimeoutMs: args['wait-timeout'] * 1000,
    volumePodImage: args['volume-pod-image'],
    signal: ctx.io.signal,
    progress: (m) => output.progress(m),
  });
  return { outcome, lines: verifyText(outcome) };
}
