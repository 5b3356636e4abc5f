import type { KubeClient } from '../kube/client.js';
import type { ObjectRef } from '../kube/object.js';
import type { Results } from '../report/results.js';
import type { Timings } from '../report/timings.js';

/** manual: left to the user (nothing runs), told in the plan, the summary and the JSON. */
export type StepAction = 'create' | 'update' | 'skip' | 'exists' | 'run' | 'manual';

/** Something a restore leaves to the user, and how to do it. */
export interface ManualTask {
  /** What it is about, as the plan lists it (`solr: tenant t1 (collection t1 at ...)`). */
  what: string;
  /** Why the tool does not do it. */
  why: string;
  /** The calls or commands to run, in order. */
  instructions: string[];
}

/** What a step needs while it runs. */
export interface StepContext {
  target: KubeClient;
  results: Results;
  signal: AbortSignal;
  progress(message: string): void;
  /** Where the step records how long its parts take (restore's -o json timings). */
  timings?: Timings;
}

/** Runs `fn` as the part `name` of the step, timed when the step records timings. */
export function timed<T>(c: StepContext, name: string, fn: () => Promise<T>): Promise<T> {
  return c.timings ? c.timings.time(name, fn) : fn();
}

/** One ordered unit of restore work, printable as data (dry-run) and runnable. */
export interface PlanStep {
  priority: number;
  phase: string;
  component: string;
  action: StepAction;
  /** The object the step writes, if it writes one. */
  object?: ObjectRef;
  /** Why the step is where it is (the phase's reason) or why it is skipped. */
  reason: string;
  /** The intended differences from the archived object (namespace, host...). */
  changes: string[];
  /**
   * Steps with the same group run at once, where the first of them comes in the order (an
   * owner's databases and files, in one scale-down: contract/scale-window.ts).
   */
  group?: string;
  /** With action manual: what is left to the user. */
  manual?: ManualTask;
  run?: (ctx: StepContext) => Promise<void>;
}
