import { OperationError } from '../errors.js';
import type { KubeClient } from './client.js';
import type { KubeObject } from './object.js';
import { pollDelay } from './poll.js';

/**
 * Records a deployment's replicas before we scale it down, on the deployment itself, so that
 * a run that was killed outright (no chance to undo) is undone by the next run of the tool.
 */
export const ORIGINAL_REPLICAS = 'entando.org/kubectl-entando-original-replicas';

export interface Scaled {
  namespace: string;
  name: string;
  replicas: number;
}

/**
 * Scales deployments to 0 and always puts them back: `restore()` is called from `finally`
 * blocks, and on abort (Ctrl-C) by whoever owns the signal. The original replica count is also
 * kept in an annotation, read back by `resumeInterrupted` on the next run.
 */
export class ScaleGuard {
  private readonly scaled: Scaled[] = [];

  constructor(
    private readonly kube: KubeClient,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Scales each deployment to 0 and waits until its pods are gone. */
  async scaleDown(namespace: string, names: string[], timeoutMs = 180_000): Promise<void> {
    for (const name of names) {
      const deployment = await this.get(namespace, name);
      if (!deployment) continue;
      const annotated = deployment.metadata.annotations?.[ORIGINAL_REPLICAS];
      const current = (deployment.spec as { replicas?: number }).replicas ?? 1;
      const replicas = annotated !== undefined ? Number(annotated) : current;
      this.scaled.push({ namespace, name, replicas });
      this.log(`scaling ${namespace}/${name} from ${replicas} to 0`);
      await this.kube.mergePatch(
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name },
        {
          metadata: { annotations: { [ORIGINAL_REPLICAS]: String(replicas) } },
          spec: { replicas: 0 },
        },
      );
    }
    for (const name of names) await this.waitForPods(namespace, name, 0, timeoutMs);
  }

  /** Puts every deployment back to its original replicas (newest first) and waits for them. */
  async restore(timeoutMs = 300_000): Promise<void> {
    const { ready, errors } = await this.putBack(timeoutMs);
    errors.push(...(await ready));
    if (errors.length > 0) throw notScaledBack(errors);
  }

  /**
   * Puts every deployment back to its original replicas without waiting for their pods:
   * `errors` are the patches that failed; `ready` settles once the others all have their ready
   * pods (or with those that did not come back), the waits all at once.
   */
  async putBack(timeoutMs = 300_000): Promise<{ ready: Promise<string[]>; errors: string[] }> {
    const back: Scaled[] = [];
    const errors: string[] = [];
    while (this.scaled.length > 0) {
      const s = this.scaled.pop()!;
      try {
        await scaleBack(this.kube, s);
        this.log(`scaled ${s.namespace}/${s.name} back to ${s.replicas}`);
        back.push(s);
      } catch (err) {
        errors.push(`${s.namespace}/${s.name}: ${(err as Error).message}`);
      }
    }
    const ready = Promise.all(
      back.map((s) =>
        this.waitForPods(s.namespace, s.name, s.replicas, timeoutMs).then(
          () => undefined,
          (err: Error) => `${s.namespace}/${s.name}: ${err.message}`,
        ),
      ),
    ).then((r) => r.filter((e) => e !== undefined));
    return { ready, errors };
  }

  get active(): boolean {
    return this.scaled.length > 0;
  }

  private get(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
  }

  /** Waits until the deployment has `want` ready pods (or none at all when `want` is 0). */
  async waitForPods(
    namespace: string,
    name: string,
    want: number,
    timeoutMs: number,
  ): Promise<void> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const d = await this.get(namespace, name);
      if (!d) return;
      const status = (d.status ?? {}) as {
        replicas?: number;
        readyReplicas?: number;
        updatedReplicas?: number;
      };
      const done = want === 0 ? (status.replicas ?? 0) === 0 : (status.readyReplicas ?? 0) >= want;
      if (done) return;
      if (Date.now() > deadline) {
        throw new OperationError(
          `deployment ${namespace}/${name} did not reach ${want} ready replicas in ${timeoutMs / 1000}s`,
        );
      }
      await new Promise((r) => setTimeout(r, pollDelay(started)));
    }
  }
}

/** The error of deployments that could not be put back, with what to do about it. */
export function notScaledBack(errors: string[]): OperationError {
  return new OperationError(
    `could not scale back: ${errors.join('; ')} (run the command again, or kubectl scale them by hand)`,
  );
}

async function scaleBack(kube: KubeClient, s: Scaled): Promise<void> {
  await kube.mergePatch(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: s.namespace, name: s.name },
    { metadata: { annotations: { [ORIGINAL_REPLICAS]: null } }, spec: { replicas: s.replicas } },
  );
}

/**
 * Undoes the scale-down of an earlier run that was killed before it could: every deployment of
 * the namespace still carrying our annotation goes back to the replicas it records (only those
 * named in `only`, if given; never those in `except`: about to be scaled down by this run).
 */
export async function resumeInterrupted(
  kube: KubeClient,
  namespace: string,
  log: (m: string) => void,
  only?: readonly string[],
  except: readonly string[] = [],
): Promise<Scaled[]> {
  const undone: Scaled[] = [];
  for (const d of await kube.list('apps/v1', 'Deployment', namespace)) {
    const original = d.metadata.annotations?.[ORIGINAL_REPLICAS];
    if (original === undefined) continue;
    if (only && !only.includes(d.metadata.name)) continue;
    if (except.includes(d.metadata.name)) continue;
    log(`an earlier run left ${namespace}/${d.metadata.name} scaled down: back to ${original}`);
    const scaled = { namespace, name: d.metadata.name, replicas: Number(original) };
    await scaleBack(kube, scaled);
    undone.push(scaled);
  }
  return undone;
}
