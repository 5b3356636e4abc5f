import type { ManualTask, PlanStep } from '../contract/plan.js';
import type { VersionCheck } from './versions.js';

export interface Plan {
  steps: PlanStep[];
  /** Problems found before any change; a plan with problems is not executed. */
  problems: string[];
  /** The archive's Entando, Keycloak and DBMS versions against the target's. */
  versions?: VersionCheck[];
  /**
   * The executor's last act (from its `finally`): undoes what steps left behind (a scale-down
   * of a step never run) and waits for what they left starting; returns what went wrong.
   */
  release?: () => Promise<string[]>;
}

/** Steps sorted by priority; the sort is stable, so components keep their own order within. */
export function orderSteps(steps: PlanStep[]): PlanStep[] {
  return [...steps].sort((a, b) => a.priority - b.priority);
}

/** The plan as JSON: no functions. */
export function planToJson(plan: Plan): unknown {
  return {
    problems: plan.problems,
    ...(plan.versions ? { versions: plan.versions } : {}),
    steps: plan.steps.map((s) => ({
      priority: s.priority,
      phase: s.phase,
      component: s.component,
      action: s.action,
      object: s.object,
      reason: s.reason,
      changes: s.changes,
      ...(s.group ? { group: s.group } : {}),
      ...(s.manual ? { manual: s.manual } : {}),
    })),
    leftToYou: leftToYou(plan),
  };
}

/** What the restore leaves to the user (its manual steps), for the summary and the JSON. */
export function leftToYou(plan: Pick<Plan, 'steps'>): ManualTask[] {
  return plan.steps.flatMap((s) => (s.action === 'manual' && s.manual ? [s.manual] : []));
}

/** The summary's lines about them (none when there are none). */
export function leftToYouLines(tasks: ManualTask[]): string[] {
  if (tasks.length === 0) return [];
  return [
    `  left to you (${tasks.length}):`,
    ...tasks.flatMap((t) => [
      `    ${t.what}: ${t.why}`,
      ...t.instructions.map((i) => `      - ${i}`),
    ]),
  ];
}
