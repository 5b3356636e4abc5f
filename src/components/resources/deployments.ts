import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { serverDeploymentNames } from '../../entando/servers.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject } from '../../kube/object.js';

export { dataDeploymentNames, serverDeploymentNames } from '../../entando/servers.js';

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
