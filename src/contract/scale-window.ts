import { EntandoKind } from '../entando/kinds.js';
import { OperationError } from '../errors.js';
import type { KubeObject } from '../kube/object.js';
import { notScaledBack, resumeInterrupted, ScaleGuard } from '../kube/scale.js';
import { dataDeploymentNames } from '../entando/servers.js';
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
  /** Set once scaled back without waiting: what did not get its ready pods. */
  private ready?: Promise<string[]>;

  /**
   * @param deferReady scale back without waiting for the pods: later steps go on meanwhile
   *   and the executor waits for them at its end (`ScaleWindows.closeAll`).
   */
  constructor(
    readonly owner: string,
    private readonly namespace: string,
    private readonly deferReady: boolean,
    /** The group key of the steps that share this window (they run at once). */
    readonly group: string,
  ) {}

  /** How many steps share this window. */
  get size(): number {
    return this.parties;
  }

  join(): void {
    this.parties += 1;
  }

  /**
   * Runs one joined step's work and then leaves: the last one out scales back. A failure to
   * scale back after the work failed is added to the results, not put in the work's place.
   */
  async run(c: StepContext, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      await this.leave(c).catch((e: Error) => c.results.error(this.owner, e.message));
      throw err;
    }
    await this.leave(c);
  }

  /**
   * Scales the owner's data deployments (`dataDeploymentNames`) to 0 the first time; every
   * later caller waits for that same one (and, should it fail, is told so in a line of its own:
   * the error is the first caller's).
   */
  async enter(c: StepContext, owner: KubeObject): Promise<void> {
    if (c.signal.aborted) throw new OperationError('interrupted');
    if (this.down) {
      return this.down.catch(() => {
        throw new OperationError(`not run: the scale-down of ${this.owner} failed (see above)`);
      });
    }
    const deployments = dataDeploymentNames(owner);
    this.guard = new ScaleGuard(c.target, c.progress);
    const guard = this.guard;
    this.down = timed(c, `scale down ${this.owner}`, async () => {
      // What a killed earlier run left at 0 goes back first (the files step did it before
      // windows); these deployments keep their record: the guard reads it as their replicas.
      await resumeInterrupted(c.target, this.namespace, c.progress, undefined, deployments);
      await guard.scaleDown(this.namespace, deployments);
    });
    return this.down;
  }

  private async leave(c: StepContext): Promise<void> {
    this.left += 1;
    if (this.left < this.parties) return;
    await this.close(c);
  }

  /** Scales back now if anything is down (idempotent). */
  async close(c?: StepContext): Promise<void> {
    const guard = this.guard;
    if (!guard?.active) return;
    if (this.down) await this.down.catch(() => undefined);
    const back = async () => {
      if (!this.deferReady || !c) return guard.restore();
      const { ready, errors } = await guard.putBack();
      this.ready = ready;
      if (errors.length > 0) throw notScaledBack(errors);
    };
    await (c ? timed(c, `scale back ${this.owner}`, back) : back());
  }

  /** Once closed: the deployments that did not get their ready pods back, as messages. */
  settled(): Promise<string[]> {
    return this.ready ?? Promise.resolve([]);
  }
}

/** The windows of one restore, by owner ("Kind/name"). */
export class ScaleWindows {
  private readonly windows = new Map<string, ScaleWindow>();

  /**
   * The owner's window, made on first use; a `purpose` makes another scale-down of the same
   * servers, for steps that must wait for later phases (the tenants' schemas for a plugin's DBMS).
   */
  of(owner: { kind: string; name: string; namespace: string }, purpose?: string): ScaleWindow {
    const key = `${owner.kind}/${owner.name}${purpose ? `#${purpose}` : ''}`;
    let w = this.windows.get(key);
    if (!w) {
      // Keycloak's realm step needs its server up again: only apps and plugins go on at once.
      const deferReady = owner.kind !== EntandoKind.KeycloakServer;
      w = new ScaleWindow(owner.name, owner.namespace, deferReady, `data:${key}`);
      this.windows.set(key, w);
    }
    return w;
  }

  /** The owner's window if a step joined it. */
  joined(owner: { kind: string; name: string }): ScaleWindow | undefined {
    const w = this.windows.get(`${owner.kind}/${owner.name}`);
    return w && w.size > 0 ? w : undefined;
  }

  /**
   * Scales back every window still down and waits for the pods of those scaled back without
   * waiting; returns what went wrong (errors of one do not stop the others).
   */
  async closeAll(): Promise<string[]> {
    const errors: string[] = [];
    for (const w of this.windows.values()) {
      await w.close().catch((e: unknown) => errors.push((e as Error).message));
    }
    for (const w of this.windows.values()) errors.push(...(await w.settled()));
    return errors;
  }
}
