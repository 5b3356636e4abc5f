import type { HandAddedEnv } from '../../contract/manifest.js';
import {
  APP_SERVERS,
  handAddedEnv,
  serverDeployment,
  type EnvEntry,
  type EnvFromEntry,
} from '../../entando/generated-env.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/object.js';

/**
 * The hand-added env of the app engine's and component manager's containers, read from their
 * Deployments (src/entando/generated-env.ts tells it from the operator's). The Secrets and
 * ConfigMaps it names are captured with every other env reference of these Deployments
 * (references.ts `deploymentReferences`).
 */
export async function recordHandAddedEnv(
  kube: Pick<KubeClient, 'list'>,
  app: KubeObject,
): Promise<HandAddedEnv[]> {
  const deployments = await kube.list('apps/v1', 'Deployment', app.metadata.namespace);
  const out: HandAddedEnv[] = [];
  for (const server of APP_SERVERS) {
    const name = serverDeployment(app, server);
    const d = deployments.find((x) => x.metadata.name === name);
    if (!d) continue;
    const { env, envFrom } = handAddedEnv(app, server, d);
    if (env.length === 0 && envFrom.length === 0) continue;
    out.push({
      qualifier: server.qualifier,
      deployment: name,
      container: server.container,
      env,
      envFrom,
    });
  }
  return out;
}

/** How an env entry gets its value, for humans: never the value of a Secret. */
export function describeEnv(e: EnvEntry): string {
  const from = e.valueFrom as
    | Record<string, { name?: string; key?: string; fieldPath?: string; resource?: string }>
    | undefined;
  if (from?.secretKeyRef)
    return `${e.name} (Secret ${from.secretKeyRef.name} key ${from.secretKeyRef.key})`;
  if (from?.configMapKeyRef) {
    return `${e.name} (ConfigMap ${from.configMapKeyRef.name} key ${from.configMapKeyRef.key})`;
  }
  if (from?.fieldRef) return `${e.name} (field ${from.fieldRef.fieldPath})`;
  if (from?.resourceFieldRef) return `${e.name} (resource ${from.resourceFieldRef.resource})`;
  return e.name;
}

export function describeEnvFrom(e: EnvFromEntry): string {
  const what = e.secretRef ? `Secret ${e.secretRef.name}` : `ConfigMap ${e.configMapRef?.name}`;
  return `envFrom ${what}${e.prefix ? ` (prefix ${e.prefix})` : ''}`;
}

/** One line per recorded container (inspect, backup summary). */
export function describeHandAddedEnv(recorded: HandAddedEnv[]): string[] {
  return recorded.map(
    (r) =>
      `${r.deployment}/${r.container}: ${[...r.env.map(describeEnv), ...r.envFrom.map(describeEnvFrom)].join(', ')}`,
  );
}
