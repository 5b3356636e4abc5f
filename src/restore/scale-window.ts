import { ScaleGuard } from '../kube/scale.js';
import { timed, type StepContext } from './plan.js';

/**
 * One scale-down of an owner's servers shared by the steps that need it down: an app's
 * databases are loaded and its files extracted (through a volume pod) at once, while its
 * deployments are at 0, instead of one after the other with a scale-down and back each.
 *
 * Steps join at plan time (`join`); the first to `enter` scales down, the others wait for the
 * same scale-down; the last to `leave` scales back. A step that fails or is never run does not
 * keep the servers down: `ScaleWindows.closeAll()` (from the executor's `finally`) scales back
 * whatever is still down.
 */
export class ScaleWindow {
  private parties = 0;
  private left = 0;
  private down?: Promise<void>;
  private guard?: ScaleGuard;

  constructor(
    readonly owner: string,
    private readonly namespace: string,
  ) {}

  /** How many steps share this window. */
  get size(): number {
    return this.parties;
  }

  join(): void {
    this.parties += 1;
  }

  /** Scales `deployments` to 0 the first time; every later caller waits for that same one. */
  enter(c: StepContext, deployments: string[]): Promise<void> {
    if (!this.down) {
      this.guard = new ScaleGuard(c.target, c.progress);
      const guard = this.guard;
      this.down = timed(c, `scale down ${this.owner}`, () =>
        guard.scaleDown(this.namespace, deployments),
      );
    }
    return this.down;
  }

  /** Marks one step done (call it from `finally`); the last one scales back. */
  async leave(c: StepContext): Promise<void> {
    this.left += 1;
    if (this.left < this.parties) return;
    await this.close(c);
  }

  /** Scales back now if anything is down (idempotent). */
  async close(c?: StepContext): Promise<void> {
    const guard = this.guard;
    if (!guard?.active) return;
    if (this.down) await this.down.catch(() => undefined);
    await (c ? timed(c, `scale back ${this.owner}`, () => guard.restore()) : guard.restore());
  }
}

/** The windows of one restore, by owner ("Kind/name"). */
export class ScaleWindows {
  private readonly windows = new Map<string, ScaleWindow>();

  /** The owner's window, made on first use. */
  of(owner: { kind: string; name: string; namespace: string }): ScaleWindow {
    const key = `${owner.kind}/${owner.name}`;
    let w = this.windows.get(key);
    if (!w) {
      w = new ScaleWindow(owner.name, owner.namespace);
      this.windows.set(key, w);
    }
    return w;
  }

  /** The owner's window if a step joined it. */
  joined(owner: { kind: string; name: string }): ScaleWindow | undefined {
    const w = this.windows.get(`${owner.kind}/${owner.name}`);
    return w && w.size > 0 ? w : undefined;
  }

  /** Scales back every window still down; errors of one do not stop the others. */
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const w of this.windows.values()) await w.close().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

/** The group key of the steps that share an owner's window (they run at once). */
export function windowGroup(owner: { kind: string; name: string }): string {
  return `data:${owner.kind}/${owner.name}`;
}
