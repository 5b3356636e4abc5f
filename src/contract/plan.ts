import type { KubeClient } from '../kube/client.js';
import type { ObjectRef } from '../kube/object.js';
import type { Results } from '../report/results.js';
import type { Timings } from '../report/timings.js';

export type StepAction = 'create' | 'update' | 'skip' | 'exists' | 'run';

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
  run?: (ctx: StepContext) => Promise<void>;
}
