import type { ArchiveSource } from '../../archive/manifest.js';
import type { VerifyOutcome } from '../../compare/verify-restore.js';
import { leftAloneLines, type BundleLeftAlone } from '../../components/bundles/left-alone.js';
import { UserError } from '../../errors.js';
import { describeRef } from '../../kube/object.js';
import type { Finding } from '../../report/results.js';
import { figuresLine, type RunFigures } from '../../report/summary.js';
import type { Timings } from '../../report/timings.js';
import { phaseAt } from '../../restore/order.js';
import { leftToYou, leftToYouLines, planToJson, type Plan } from '../../restore/plan.js';
import type { Rendered } from '../command.js';

/** Where from and where to, in the plan, the summary and the JSON. */
export interface RestoreSummary {
  archive: string;
  source: ArchiveSource;
  /** Left alone on purpose (named in the plan's steps too). */
  bundlesLeftAlone: BundleLeftAlone[];
  target: { context: string; server: string; namespace: string; host?: string };
}

/** A restore planned only (--dry-run, or refused by the preflight), or done. */
export type RestoreResult =
  | { kind: 'plan'; plan: Plan; summary: RestoreSummary }
  | {
      kind: 'done';
      plan: Plan;
      summary: RestoreSummary;
      warnings: Finding[];
      figures: RunFigures;
      timings: Timings;
      /** With --verify: the comparison, and its lines (rendered where it was loaded). */
      verified?: { outcome: VerifyOutcome; lines: string[] };
    };

export function renderRestore(r: RestoreResult): Rendered {
  if (r.kind === 'plan') return renderPlan(r.plan, r.summary);
  const { plan, summary, figures, verified } = r;
  const { target } = summary;
  const changes = plan.steps.filter((s) => s.run).length;
  return {
    text: [
      `restored ${summary.source.app} into ${target.context}/${target.namespace}${target.host ? ` on host ${target.host}` : ''}: ${changes} changes`,
      `  ${figuresLine(figures)}`,
      ...leftAloneLines(summary.bundlesLeftAlone),
      ...leftToYouLines(leftToYou(plan)),
      ...(verified?.lines ?? []),
    ],
    json: {
      dryRun: false,
      ...summary,
      ...(planToJson(plan) as object),
      warnings: r.warnings,
      seconds: figures.seconds,
      bytes: figures.bytes,
      bytesPerSecond: Math.round(figures.bytesPerSecond),
      timings: { seconds: figures.seconds, phases: r.timings.toJson() },
      ...(verified ? { verify: verified.outcome } : {}),
    },
    exitCode: verified && !verified.outcome.equal ? 1 : undefined,
  };
}

/** The plan of a dry run, or of a restore the preflight refused (exit 2). */
function renderPlan(plan: Plan, summary: RestoreSummary): Rendered {
  const n = plan.problems.length;
  return {
    text: planText(plan, summary.target),
    json: { dryRun: true, ...summary, ...(planToJson(plan) as object) },
    failure:
      n > 0
        ? new UserError(
            `restore refused: ${n} problem${n > 1 ? 's' : ''} found before any change (listed above)`,
          )
        : undefined,
  };
}

/** The version comparison, one line per part: source -> target, and what it means. */
function versionLines(plan: Plan): string[] {
  if (!plan.versions?.length) return [];
  return [
    '  versions (source -> target):',
    ...plan.versions.map((v) => `      ${v.what}: ${v.source} -> ${v.target}: ${v.note}`),
  ];
}

export function planText(
  plan: Plan,
  target: { context: string; namespace: string; host?: string },
): string[] {
  const lines = [
    `plan: restore into ${target.context}/${target.namespace}${target.host ? `, host ${target.host}` : ''}`,
    ...versionLines(plan),
  ];
  let phase = '';
  for (const step of plan.steps) {
    const at = phaseAt(step.priority)?.name ?? String(step.priority);
    if (`${at} ${step.phase}` !== phase) {
      phase = `${at} ${step.phase}`;
      lines.push(`  [${at}] ${step.phase}: ${step.reason}`);
    }
    const what = step.manual?.what ?? (step.object ? describeRef(step.object) : step.component);
    const noted = ['exists', 'skip', 'manual'].includes(step.action);
    lines.push(`      ${step.action.padEnd(6)} ${what}${noted ? ` (${step.reason})` : ''}`);
    for (const change of step.changes) lines.push(`             ~ ${change}`);
    for (const todo of step.manual?.instructions ?? []) lines.push(`             > ${todo}`);
  }
  if (plan.problems.length > 0) {
    lines.push('preflight problems:');
    for (const p of plan.problems) lines.push(`  - ${p}`);
  } else {
    lines.push('preflight: ok');
  }
  return lines;
}
