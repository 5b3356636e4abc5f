import {
  ENTANDO_API,
  EntandoKind,
  IMAGE_INFO,
  OPERATOR_CONFIG,
  PLUGIN_SERVICE_ACCOUNT,
} from '../../entando/kinds.js';
import type { KubeClient } from '../../kube/client.js';
import { describeRef, refOf, spec, type KubeObject } from '../../kube/object.js';
import type { Results } from '../../report/results.js';
import { serverDeploymentNames } from './deployments.js';
import { cdsObjects } from './cds-objects.js';
import {
  appReferences,
  dedupeReferences,
  deploymentReferences,
  operatorConfigReferences,
  pluginReferences,
  serviceAccountReferences,
  serviceReferences,
  type Reference,
} from './references.js';

export interface CapturedObject {
  object: KubeObject;
  why: string;
}

/**
 * Collects every object a restore of `app` needs, by following what points at what, never by
 * listing a whole namespace's secrets. Missing referenced objects become warnings.
 */
export async function captureAppObjects(
  kube: KubeClient,
  app: KubeObject,
  results: Results,
): Promise<CapturedObject[]> {
  const ns = app.metadata.namespace!;
  const captured = new Map<string, CapturedObject>();
  const add = (object: KubeObject, why: string) => {
    const key = describeRef(refOf(object));
    if (!captured.has(key)) captured.set(key, { object, why });
  };
  const refs: Reference[] = [];

  add(app, 'the application');
  refs.push(...appReferences(app));

  const links = (await kube.list(ENTANDO_API, EntandoKind.Link, ns)).filter((link) => {
    const s = spec(link);
    return s.entandoAppName === app.metadata.name && (s.entandoAppNamespace ?? ns) === ns;
  });
  for (const link of links) {
    add(link, 'links the app to a plugin');
    const s = spec(link);
    const pluginNs = (s.entandoPluginNamespace as string | undefined) ?? ns;
    const pluginName = s.entandoPluginName as string;
    const plugin = await kube.get({
      apiVersion: ENTANDO_API,
      kind: EntandoKind.Plugin,
      namespace: pluginNs,
      name: pluginName,
    });
    if (!plugin) {
      results.warn(
        `${EntandoKind.Plugin} ${pluginNs}/${pluginName}`,
        `linked by ${link.metadata.name} but not found`,
      );
      continue;
    }
    add(plugin, `plugin linked by ${link.metadata.name}`);
    refs.push(...pluginReferences(plugin));
    for (const d of await serverDeployments(kube, plugin, `EntandoPlugin=${pluginName}`)) {
      refs.push(...deploymentReferences(d));
    }
  }

  const repoNamespaces = new Set([
    ns,
    ...((spec(app).componentRepositoryNamespaces as string[]) ?? []),
  ]);
  for (const repoNs of repoNamespaces) {
    for (const bundle of await kube.list(ENTANDO_API, EntandoKind.Bundle, repoNs)) {
      add(
        bundle,
        repoNs === ns
          ? 'bundle in the app namespace'
          : `bundle in componentRepositoryNamespaces (${repoNs})`,
      );
    }
  }

  for (const kind of [EntandoKind.DatabaseService, EntandoKind.KeycloakServer]) {
    for (const obj of await kube.list(ENTANDO_API, kind, ns)) {
      if (isOperatorGenerated(obj)) continue;
      add(obj, 'written by the user (external DBMS or Keycloak)');
      refs.push(...serviceReferences(obj));
    }
  }
  const keycloak = spec(app).keycloakToUse as { name?: string; namespace?: string } | undefined;
  if (keycloak?.name && keycloak.namespace && keycloak.namespace !== ns) {
    const server = await kube.get({
      apiVersion: ENTANDO_API,
      kind: EntandoKind.KeycloakServer,
      namespace: keycloak.namespace,
      name: keycloak.name,
    });
    if (server && !isOperatorGenerated(server)) {
      add(server, 'the Keycloak named in spec.keycloakToUse');
      refs.push(...serviceReferences(server));
    }
  }

  for (const d of await serverDeployments(kube, app, `EntandoApp=${app.metadata.name}`)) {
    refs.push(...deploymentReferences(d));
  }

  const operatorConfig = await kube.get({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ns,
    name: OPERATOR_CONFIG,
  });
  refs.push(...operatorConfigReferences(operatorConfig));
  refs.push({
    kind: 'ConfigMap',
    name: OPERATOR_CONFIG,
    why: 'operator settings',
    referenced: false,
  });
  refs.push({
    kind: 'ConfigMap',
    name: IMAGE_INFO,
    why: 'image versions of the release',
    referenced: false,
  });

  const sa = await kube.get({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    namespace: ns,
    name: PLUGIN_SERVICE_ACCOUNT,
  });
  if (sa) {
    add(sa, 'plugins run with its image pull secrets');
    refs.push(...serviceAccountReferences(sa));
  }

  for (const { object, why } of await cdsObjects(kube, app, results)) add(object, why);

  for (const ref of dedupeReferences(refs)) {
    const obj = await kube.get({ apiVersion: 'v1', kind: ref.kind, namespace: ns, name: ref.name });
    if (obj) add(obj, ref.why);
    else if (ref.referenced)
      results.warn(`${ref.kind} ${ns}/${ref.name}`, `referenced (${ref.why}) but not found`);
  }
  return [...captured.values()];
}

/**
 * Objects the operator made for itself (the in-namespace DBMS, the default Keycloak) carry
 * ownerReferences or the origin-uuid of the app that caused them; the target's operator makes
 * them again. Objects without either were written by a user and must travel.
 */
export function isOperatorGenerated(obj: KubeObject): boolean {
  return (
    (obj.metadata.ownerReferences?.length ?? 0) > 0 ||
    !!obj.metadata.annotations?.['entando.org/origin-uuid']
  );
}

/**
 * The deployments running the app's (or plugin's) own servers, named in
 * status.serverStatuses; the in-namespace DBMS and Keycloak carry the same labels but their
 * admin secrets are regenerated by the target's operator, so their env is not followed.
 */
async function serverDeployments(
  kube: KubeClient,
  owner: KubeObject,
  labelSelector: string,
): Promise<KubeObject[]> {
  const own = new Set(serverDeploymentNames(owner));
  const all = await kube.list('apps/v1', 'Deployment', owner.metadata.namespace, labelSelector);
  return all.filter((d) => own.has(d.metadata.name));
}
