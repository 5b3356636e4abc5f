import { serverStatuses } from './kinds.js';
import { OperationError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { ObjectRef } from '../kube/object.js';
import { pollDelay } from '../kube/poll.js';

interface EntandoStatus {
  phase?: string;
  observedGeneration?: number;
}

/**
 * Waits until the operator has processed an Entando CR (app or plugin): phase successful for
 * the current generation, and the deployments it lists ready. Data steps run after this: by
 * then the operator has created the database roles and the volumes from the restored secrets.
 */
export async function waitForEntandoReady(
  kube: KubeClient,
  ref: ObjectRef,
  timeoutMs = 600_000,
  progress: (m: string) => void = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  const started = Date.now();
  for (;;) {
    const obj = await kube.get(ref);
    const status = (obj?.status ?? {}) as EntandoStatus;
    const generation = (obj?.metadata.generation as number | undefined) ?? 0;
    let waiting = '';
    if (!obj) waiting = 'not found';
    else if (status.phase === 'failed') {
      throw new OperationError(
        `${ref.kind} ${ref.namespace}/${ref.name} failed to deploy (status.phase failed): see the operator's log`,
      );
    } else if (status.phase !== 'successful' || (status.observedGeneration ?? 0) < generation) {
      waiting = `phase ${status.phase ?? 'none'}`;
    } else {
      for (const server of Object.values(serverStatuses(obj))) {
        if (!server.deploymentName) continue;
        const d = await kube.get({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ref.namespace,
          name: server.deploymentName,
        });
        const s = (d?.status ?? {}) as { readyReplicas?: number };
        const want = (d?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
        if (!d || (s.readyReplicas ?? 0) < Math.min(want, 1)) {
          waiting = `deployment ${server.deploymentName} not ready`;
          break;
        }
      }
    }
    if (!waiting) return;
    if (waiting !== last) progress(`waiting for ${ref.kind} ${ref.name}: ${waiting}`);
    last = waiting;
    if (Date.now() > deadline) {
      throw new OperationError(
        `${ref.kind} ${ref.namespace}/${ref.name} not ready after ${timeoutMs / 1000}s (${waiting}): is the Entando operator running in the target?`,
      );
    }
    await new Promise((r) => setTimeout(r, pollDelay(started)));
  }
}
