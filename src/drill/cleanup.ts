import type { KubeClient } from '../kube/client.js';
import { pollDelay } from '../kube/poll.js';

const GONE_TIMEOUT_MS = 10 * 60_000;

/**
 * Deletes the drill's namespaces and waits until they are gone: with them go the app, its
 * in-namespace DBMS and Keycloak (schemas, realm) and its volumes. What was deleted, by name.
 */
export async function deleteNamespaces(kube: KubeClient, namespaces: string[]): Promise<string[]> {
  const ref = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', name });
  const present: string[] = [];
  for (const ns of namespaces) {
    if (await kube.get(ref(ns))) present.push(ns);
  }
  for (const ns of present) await kube.delete(ref(ns));
  const started = Date.now();
  for (;;) {
    const left: string[] = [];
    for (const ns of present) if (await kube.get(ref(ns))) left.push(ns);
    if (left.length === 0) return present;
    if (Date.now() - started > GONE_TIMEOUT_MS) {
      throw new Error(
        `namespaces ${left.join(', ')} still terminating after ${GONE_TIMEOUT_MS / 60_000} min: see kubectl get ns ${left[0]} -o yaml (finalizers)`,
      );
    }
    await new Promise((r) => setTimeout(r, pollDelay(started)));
  }
}
