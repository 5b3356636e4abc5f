/** One phase of a run: its total wall time (several runs of it added up) and how many. */
export interface PhaseTiming {
  name: string;
  seconds: number;
  count: number;
}

/**
 * Wall time of a run's phases, by name, in the order they first started: a restore records
 * its verifying pass, plan, each step phase, operator waits, schema loads and extractions, and
 * prints them in its `-o json` summary (scripts/bench-restore reads them). Phases that run
 * concurrently (parallel loads) each count their own time, so they may add up to more than
 * the run.
 */
export class Timings {
  private readonly byName = new Map<string, { ms: number; count: number }>();

  /** Runs `fn`, adding its duration (failed or not) to the phase `name`. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  add(name: string, ms: number): void {
    const t = this.byName.get(name) ?? { ms: 0, count: 0 };
    t.ms += ms;
    t.count++;
    this.byName.set(name, t);
  }

  toJson(): PhaseTiming[] {
    return [...this.byName].map(([name, t]) => ({
      name,
      seconds: Math.round(t.ms) / 1000,
      count: t.count,
    }));
  }
}
