import { discoverCds, type CdsServer } from '../../entando/cds.js';
import { readTenants } from '../../entando/tenants.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/object.js';
import type { Results } from '../../report/results.js';
import { deploymentReferences } from './references.js';

/**
 * The objects of each CDS (TENANTS.md §4: Deployment, Service, PVC, Ingress and the Secret
 * its env reads, `<t>-kc-secret`): made by hand, owned by no Entando CR and labelled by none,
 * so nothing else captures them. Found the way the files component finds the volumes; a CDS
 * that cannot be followed is the files component's error, not captured here.
 */
export async function cdsObjects(
  kube: KubeClient,
  app: KubeObject,
  results: Results,
): Promise<{ object: KubeObject; why: string }[]> {
  const { facts, configs } = await readTenants(kube, app);
  if (!facts.cdsEnabled && configs.length === 0) return [];
  const { servers } = await discoverCds(kube, app, facts, configs);
  const out: { object: KubeObject; why: string }[] = [];
  for (const s of servers) out.push(...(await serverObjects(kube, s, results)));
  return out;
}

async function serverObjects(
  kube: KubeClient,
  s: CdsServer,
  results: Results,
): Promise<{ object: KubeObject; why: string }[]> {
  const why = `CDS of tenant${s.tenants.length > 1 ? 's' : ''} ${s.tenants.join(', ')}`;
  const ns = s.namespace;
  const out: { object: KubeObject; why: string }[] = [];
  const get = (apiVersion: string, kind: string, name: string) =>
    kube.get({ apiVersion, kind, namespace: ns, name });
  const deployment = await get('apps/v1', 'Deployment', s.deployment);
  const service = await get('v1', 'Service', s.service);
  const pvc = await get('v1', 'PersistentVolumeClaim', s.claimName);
  for (const o of [pvc, service, deployment]) if (o) out.push({ object: o, why });
  for (const ingress of await kube.list('networking.k8s.io/v1', 'Ingress', ns)) {
    if (backendServices(ingress).includes(s.service)) out.push({ object: ingress, why });
  }
  // Its key Secret (KEYCLOAK_PUBLIC_KEY from <t>-kc-secret) and anything else its env reads.
  for (const ref of deployment ? deploymentReferences(deployment) : []) {
    const obj = await kube.get({ apiVersion: 'v1', kind: ref.kind, namespace: ns, name: ref.name });
    if (obj) out.push({ object: obj, why: `${why}: ${ref.why}` });
    else if (ref.referenced)
      results.warn(`${ref.kind} ${ns}/${ref.name}`, `referenced (${ref.why}) but not found`);
  }
  return out;
}

/** The Services an Ingress routes to (default backend and every rule's paths). */
export function backendServices(ingress: KubeObject): string[] {
  interface Backend {
    service?: { name?: string };
  }
  const spec = (ingress.spec ?? {}) as {
    defaultBackend?: Backend;
    rules?: { http?: { paths?: { backend?: Backend }[] } }[];
  };
  const names = [
    spec.defaultBackend?.service?.name,
    ...(spec.rules ?? []).flatMap((r) =>
      (r.http?.paths ?? []).map((p) => p.backend?.service?.name),
    ),
  ];
  return [...new Set(names.filter((n): n is string => !!n))];
}
