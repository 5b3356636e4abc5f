import type { KubeClient } from './client.js';
import type { KubeObject } from './object.js';

/**
 * Restarts (rollout, as `kubectl rollout restart`) every Deployment of `ns` whose env reads one
 * of `secrets` through a secretKeyRef: env is read when a container starts. Returns their names.
 */
export async function restartReaders(
  kube: KubeClient,
  ns: string,
  secrets: Set<string>,
): Promise<string[]> {
  const deployments = await kube.list('apps/v1', 'Deployment', ns);
  const now = new Date().toISOString();
  const restarted: string[] = [];
  for (const d of deployments) {
    if (!readsSecret(d, secrets)) continue;
    await kube.mergePatch(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: d.metadata.name },
      {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now } } },
        },
      },
    );
    restarted.push(d.metadata.name);
  }
  return restarted;
}

function readsSecret(d: KubeObject, secrets: Set<string>): boolean {
  const containers =
    (
      d.spec as {
        template?: {
          spec?: {
            containers?: { env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[] }[];
          };
        };
      }
    )?.template?.spec?.containers ?? [];
  return containers.some((c) =>
    (c.env ?? []).some(
      (e) => !!e.valueFrom?.secretKeyRef?.name && secrets.has(e.valueFrom.secretKeyRef.name),
    ),
  );
}
