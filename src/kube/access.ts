import { ENTANDO_PLURALS, type EntandoKind } from '../entando/kinds.js';
import { apiErrorMessage, type AccessCheck, type KubeClient } from './client.js';

/**
 * One permission a command needs, checked with a SelfSubjectAccessReview before it starts, so
 * that a user missing several gets them all in one message instead of the first 403.
 */
export type AccessNeed = AccessCheck;

const CORE: Record<string, string> = {
  Namespace: 'namespaces',
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  ServiceAccount: 'serviceaccounts',
  Pod: 'pods',
  Service: 'services',
  PersistentVolumeClaim: 'persistentvolumeclaims',
};

/** The API group and resource of a kind the tool reads or writes; undefined for others. */
export function resourceOfKind(kind: string): { group: string; resource: string } | undefined {
  if (CORE[kind]) return { group: '', resource: CORE[kind] };
  if (kind === 'Deployment') return { group: 'apps', resource: 'deployments' };
  if (kind === 'Ingress') return { group: 'networking.k8s.io', resource: 'ingresses' };
  const plural = ENTANDO_PLURALS[kind as EntandoKind];
  return plural ? { group: 'entando.org', resource: plural } : undefined;
}

/** `verbs` on `kind` in `namespace` (cluster-wide when undefined). */
export function needs(kind: string, verbs: string[], namespace?: string): AccessNeed[] {
  const res = resourceOfKind(kind);
  if (!res) return [];
  return verbs.map((verb) => ({ verb, ...res, namespace }));
}

/**
 * A stream into a pod (`exec`, `portforward`). Over SPDY it is a POST, authorized as `create`;
 * over WebSocket (client-node, kubectl >= 1.31) a GET, authorized as `get` and, from Kubernetes
 * 1.35 (AuthorizePodWebsocketUpgradeCreatePermission), `create` too: both, for every cluster.
 */
export function streamNeeds(subresource: 'exec' | 'portforward', namespace: string): AccessNeed[] {
  return ['create', 'get'].map((verb) => ({
    verb,
    group: '',
    resource: 'pods',
    subresource,
    namespace,
  }));
}

/** Exec into pods, and the pods and deployments a data stream finds and scales. */
export function podWorkNeeds(namespace: string, opts: { scale?: boolean; pods?: boolean } = {}) {
  return [
    ...needs('Pod', ['get', 'list'], namespace),
    ...streamNeeds('exec', namespace),
    ...needs('Deployment', opts.scale ? ['get', 'list', 'patch'] : ['get', 'list'], namespace),
    ...(opts.pods ? needs('Pod', ['create', 'delete'], namespace) : []),
  ];
}

export function describeNeed(n: AccessNeed): string {
  const what = `${n.resource}${n.subresource ? `/${n.subresource}` : ''}${n.group && n.group !== 'apps' ? `.${n.group}` : ''}`;
  return `${n.verb} ${what}`;
}

/**
 * The needs not granted, one line per namespace listing each missing permission; a review
 * that cannot be made at all is one line too.
 */
export async function missingAccess(
  kube: KubeClient,
  all: AccessNeed[],
  where: string,
): Promise<string[]> {
  const unique = new Map<string, AccessNeed>();
  for (const n of all) unique.set(`${n.namespace ?? ''} ${describeNeed(n)}`, n);
  const denied = new Map<string, string[]>();
  const failures: string[] = [];
  await Promise.all(
    [...unique.values()].map(async (n) => {
      try {
        const allowed = await kube.canI(n);
        if (allowed) return;
        const key = n.namespace ?? '';
        denied.set(key, [...(denied.get(key) ?? []), describeNeed(n)]);
      } catch (err) {
        failures.push(`${describeNeed(n)}: ${apiErrorMessage(err)}`);
      }
    }),
  );
  const lines = [...denied.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([ns, verbs]) =>
        `not allowed in ${where}${ns ? ` in namespace ${ns}` : ' cluster-wide'}: ${verbs.sort().join(', ')} (ask for a Role granting them, or use another context)`,
    );
  if (failures.length > 0) {
    lines.push(
      `cannot check permissions in ${where} (SelfSubjectAccessReview): ${failures[0]}${failures.length > 1 ? ` and ${failures.length - 1} more` : ''}`,
    );
  }
  return lines;
}
