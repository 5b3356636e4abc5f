import { ENTANDO_API, EntandoKind, serverStatuses } from '../../entando/kinds.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject } from '../../kube/object.js';

/** Servers the operator regenerates with their own secrets: never quiesced, never followed. */
const INFRASTRUCTURE = new Set(['db', 'sso']);

/** Deployment names of an Entando CR's own servers (app engine, cm, ab; a plugin's server). */
export function serverDeploymentNames(owner: KubeObject): string[] {
  return Object.entries(serverStatuses(owner))
    .filter(([qualifier, s]) => !INFRASTRUCTURE.has(qualifier) && s.deploymentName)
    .map(([, s]) => s.deploymentName!);
}

/**
 * The deployments that use an owner's datasources (never the DBMS's own): an app's or
 * plugin's own servers; a Keycloak's servers but its database. Their env declares the
 * datasources (discovery); they are scaled to 0 while the owner's data is restored.
 */
export function dataDeploymentNames(owner: KubeObject): string[] {
  if (owner.kind !== EntandoKind.KeycloakServer) return serverDeploymentNames(owner);
  return Object.entries(serverStatuses(owner))
    .filter(([q, s]) => q !== 'db' && s.deploymentName)
    .map(([, s]) => s.deploymentName!);
}

/** The plugins linked to the app in its own namespace (EntandoAppPluginLinks), once each. */
export async function linkedPlugins(
  kube: Pick<KubeClient, 'get' | 'list'>,
  app: KubeObject,
): Promise<KubeObject[]> {
  const ns = app.metadata.namespace!;
  const out: KubeObject[] = [];
  for (const link of await kube.list(ENTANDO_API, EntandoKind.Link, ns)) {
    const s = spec(link);
    if (s.entandoAppName !== app.metadata.name) continue;
    if (((s.entandoPluginNamespace as string | undefined) ?? ns) !== ns) continue;
    const plugin = await kube.get({
      apiVersion: ENTANDO_API,
      kind: EntandoKind.Plugin,
      namespace: ns,
      name: s.entandoPluginName as string,
    });
    if (plugin && !out.some((p) => p.metadata.name === plugin.metadata.name)) out.push(plugin);
  }
  return out;
}

/** The deployments to scale to 0 for a point-in-time copy: the app's and its linked plugins'. */
export async function appDeployments(kube: KubeClient, app: KubeObject): Promise<string[]> {
  const names = serverDeploymentNames(app);
  for (const plugin of await linkedPlugins(kube, app)) names.push(...serverDeploymentNames(plugin));
  return names;
}
