import {
  ENTANDO_API,
  ENTANDO_PLURALS,
  ENTANDO_RELEASE_HINT,
  type EntandoKind,
} from '../entando/kinds.js';
import { resourceOfKind } from '../kube/access.js';
import { apiErrorMessage, type KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import type { RestoreMapping } from '../contract/mapping.js';
import type { PlanStep } from '../contract/plan.js';

/** The target cluster can be reached; nothing else can be checked when it cannot. */
export async function checkReachable(
  target: KubeClient,
  context: string,
): Promise<string | undefined> {
  try {
    await target.serverVersion();
    return undefined;
  } catch (err) {
    return `target cluster (context ${context}) is not reachable: ${apiErrorMessage(err)}`;
  }
}

/**
 * Checks everything a restore needs before it changes anything, and reports every problem
 * together: Entando CRDs installed, permissions for each write, and no Ingress anywhere in
 * the target already serving the restored host (two instances on one domain collide).
 */
export async function preflight(
  target: KubeClient,
  steps: PlanStep[],
  mapping: RestoreMapping,
  owners: RestoredOwners,
): Promise<string[]> {
  const problems: string[] = [];
  const writing = steps.filter((s) => s.run && s.object);

  const entandoKinds = [
    ...new Set(
      steps.filter((s) => s.object?.apiVersion === ENTANDO_API).map((s) => s.object!.kind),
    ),
  ];
  const missingCrds: string[] = [];
  for (const kind of entandoKinds) {
    const name = `${ENTANDO_PLURALS[kind as EntandoKind]}.entando.org`;
    const crd = await target.get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name,
    });
    if (!crd) missingCrds.push(name);
  }
  if (missingCrds.length > 0) {
    problems.push(
      `Entando CRDs missing in the target: ${missingCrds.join(', ')} (install ${ENTANDO_RELEASE_HINT} first)`,
    );
  }

  const checks = new Map<
    string,
    { verb: string; group: string; resource: string; namespace?: string }
  >();
  for (const step of writing) {
    const res = resourceOfKind(step.object!.kind);
    if (!res) continue;
    const verb = step.action === 'update' ? 'patch' : 'create';
    const namespace = step.object!.kind === 'Namespace' ? undefined : step.object!.namespace;
    checks.set(`${verb} ${res.resource} ${namespace ?? ''}`, { verb, ...res, namespace });
  }
  for (const check of checks.values()) {
    try {
      if (!(await target.canI(check))) {
        problems.push(
          `not allowed to ${check.verb} ${check.resource}${check.namespace ? ` in namespace ${check.namespace}` : ''} in the target`,
        );
      }
    } catch (err) {
      problems.push(
        `cannot check permission to ${check.verb} ${check.resource}: ${apiErrorMessage(err)}`,
      );
    }
  }

  const other = await otherApp(target, mapping.targetNamespace, owners.app);
  if (other) problems.push(other);

  const host = mapping.targetHost ?? mapping.sourceHost;
  if (host) {
    const collision = await hostCollision(target, host, mapping.targetNamespace, owners);
    if (collision) problems.push(collision);
  }
  return problems;
}

/**
 * Another EntandoApp in the target namespace shares what the operator makes per namespace
 * (the DBMS, Keycloak, operator config): restoring beside it would change it. Refused.
 */
async function otherApp(
  target: KubeClient,
  namespace: string,
  app: string,
): Promise<string | undefined> {
  let apps: KubeObject[];
  try {
    apps = await target.list(ENTANDO_API, 'EntandoApp', namespace);
  } catch (err) {
    return `cannot list EntandoApps in namespace ${namespace} of the target: ${apiErrorMessage(err)}`;
  }
  const others = apps.map((a) => a.metadata.name).filter((n) => n !== app);
  if (others.length === 0) return undefined;
  return `namespace ${namespace} of the target already holds EntandoApp ${others.join(', ')}: apps in one namespace share its DBMS, Keycloak and operator config; restore into another namespace (--to-namespace)`;
}

/** The app and plugins being restored: their own Ingresses are not collisions. */
export interface RestoredOwners {
  app: string;
  plugins: string[];
}

/** An Ingress of another app already serving `host`, described; undefined when free. */
export async function hostCollision(
  target: KubeClient,
  host: string,
  namespace: string,
  owners: RestoredOwners,
): Promise<string | undefined> {
  let ingresses: KubeObject[];
  try {
    ingresses = await target.list('networking.k8s.io/v1', 'Ingress');
  } catch (err) {
    return `cannot list Ingresses in the target to check that ${host} is free: ${apiErrorMessage(err)} (ask for list access to ingresses cluster-wide)`;
  }
  for (const ingress of ingresses) {
    if (!servesHost(ingress, host)) continue;
    const labels = ingress.metadata.labels ?? {};
    const ours =
      ingress.metadata.namespace === namespace &&
      (labels.EntandoApp === owners.app || owners.plugins.includes(labels.EntandoPlugin));
    if (ours) continue;
    return `host ${host} is already served by Ingress ${ingress.metadata.namespace}/${ingress.metadata.name} in the target: two instances on one domain collide; pass --ingress-host with another host`;
  }
  return undefined;
}

export function servesHost(ingress: KubeObject, host: string): boolean {
  const spec = (ingress.spec ?? {}) as {
    rules?: { host?: string }[];
    tls?: { hosts?: string[] }[];
  };
  if (spec.rules?.some((r) => r.host === host)) return true;
  return spec.tls?.some((t) => t.hosts?.includes(host)) ?? false;
}
