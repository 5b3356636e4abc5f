/**
 * Which Keycloak an EntandoApp uses, and how to reach it. Entando's operator deploys one per
 * namespace, EntandoKeycloakServer `default-sso-in-namespace` (deployment `<name>-deployment`,
 * admin secret `<name>-admin-secret` with `username`/`password`, container port 8080, API under
 * `/auth`); `spec.keycloakToUse` names another. A server with `provisioningStrategy: UseExternal`
 * (or none at all: the operator's `keycloak-admin-secret`) is external: no pod to export from.
 */
import { DEFAULT_SSO, ENTANDO_API, EntandoKind, serverStatuses } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject } from '../../kube/object.js';
import { forwardPort, type LocalForward } from '../../kube/port-forward.js';
import { runningPod } from '../files/discover.js';
import { KeycloakAdmin } from './admin.js';

export { DEFAULT_SSO };
export const DEFAULT_REALM = 'entando';

export type KeycloakLocation =
  | { kind: 'in-namespace'; server: KubeObject; deployment: string; adminSecret: string }
  | { kind: 'external'; server?: KubeObject; reason: string }
  | { kind: 'none'; reason: string };

/** The realm the app's SSO uses (`spec.keycloakToUse.realm`, default entando). */
export function realmOf(app: KubeObject): string {
  const ref = spec(app).keycloakToUse as { realm?: string } | undefined;
  return ref?.realm || DEFAULT_REALM;
}

export async function locateKeycloak(kube: KubeClient, app: KubeObject): Promise<KeycloakLocation> {
  const ns = app.metadata.namespace!;
  const ref = spec(app).keycloakToUse as { name?: string; namespace?: string } | undefined;
  const name = ref?.name || DEFAULT_SSO;
  const namespace = ref?.namespace || ns;
  const server = await kube.get({
    apiVersion: ENTANDO_API,
    kind: EntandoKind.KeycloakServer,
    namespace,
    name,
  });
  if (!server) {
    return {
      kind: 'none',
      reason: `no EntandoKeycloakServer ${namespace}/${name}: the app's Keycloak is external (operator's keycloak-admin-secret) or absent`,
    };
  }
  if (spec(server).provisioningStrategy === 'UseExternal') {
    return {
      kind: 'external',
      server,
      reason: `EntandoKeycloakServer ${namespace}/${name} is external (provisioningStrategy UseExternal)`,
    };
  }
  const statuses = serverStatuses(server);
  const main = statuses.server ?? statuses.main ?? {};
  return {
    kind: 'in-namespace',
    server,
    deployment: main.deploymentName ?? `${name}-deployment`,
    adminSecret: main.adminSecretName ?? `${name}-admin-secret`,
  };
}

/** The Running and Ready pod of the Keycloak, with its container, or a one-line error. */
export async function keycloakPod(
  kube: KubeClient,
  where: Extract<KeycloakLocation, { kind: 'in-namespace' }>,
): Promise<{ pod: string; container: string; port: number }> {
  const ns = where.server.metadata.namespace!;
  const pod = await runningPod(kube, ns, where.deployment);
  if (!pod) {
    throw new OperationError(
      `Keycloak ${ns}/${where.deployment} has no running and ready pod: start it (kubectl -n ${ns} get pods -l entando.org/deployment=${where.deployment})`,
    );
  }
  const container = ((
    pod.spec as { containers?: { name: string; ports?: { containerPort: number }[] }[] }
  ).containers ?? [])[0];
  return {
    pod: pod.metadata.name,
    container: container?.name ?? 'server-container',
    port: container?.ports?.[0]?.containerPort ?? 8080,
  };
}

async function secretField(kube: KubeClient, ns: string, name: string, key: string) {
  const s = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  if (!s) throw new OperationError(`Keycloak admin secret ${ns}/${name} not found`);
  const v = (s.data as Record<string, string> | undefined)?.[key];
  if (v === undefined)
    throw new OperationError(`Keycloak admin secret ${ns}/${name} has no ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
}

/** An admin client of the in-namespace Keycloak through a port-forward to its pod. */
export interface KeycloakSession {
  admin: KeycloakAdmin;
  credentials: { username: string; password: string };
  namespace: string;
  pod: string;
  container: string;
  close(): Promise<void>;
}

export async function connectKeycloak(
  kube: KubeClient,
  where: Extract<KeycloakLocation, { kind: 'in-namespace' }>,
): Promise<KeycloakSession> {
  const ns = where.server.metadata.namespace!;
  const { pod, container, port } = await keycloakPod(kube, where);
  const credentials = {
    username: await secretField(kube, ns, where.adminSecret, 'username'),
    password: await secretField(kube, ns, where.adminSecret, 'password'),
  };
  let forward: LocalForward | undefined;
  try {
    forward = await forwardPort(kube.config, ns, pod, port);
    const base = await contextPath(forward.url);
    const admin = new KeycloakAdmin(base, credentials);
    const f = forward;
    return { admin, credentials, namespace: ns, pod, container, close: () => f.close() };
  } catch (err) {
    await forward?.close();
    throw new OperationError(
      `Keycloak ${ns}/${pod} is not answering on port ${port}: ${(err as Error).message}`,
    );
  }
}

/** `/auth` (legacy WildFly, Entando's Quarkus image) or the root (plain Quarkus). */
async function contextPath(url: string): Promise<string> {
  for (const base of [`${url}/auth`, url]) {
    const res = await fetch(`${base}/realms/master`, { signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    if (res.ok) return base;
  }
  throw new Error('neither /auth/realms/master nor /realms/master answered');
}

/** The Keycloak's public URL: its status, else its ingress host (`/auth`, as the image serves). */
export function frontEndUrl(server: KubeObject): string | undefined {
  const fromStatus = Object.values(serverStatuses(server)).find(
    (s) => s.externalBaseUrl,
  )?.externalBaseUrl;
  if (fromStatus) return fromStatus;
  const spec = (server.spec ?? {}) as {
    frontEndUrl?: string;
    ingressHostName?: string;
    tlsSecretName?: string;
  };
  if (spec.frontEndUrl) return spec.frontEndUrl;
  if (!spec.ingressHostName) return undefined;
  return `${spec.tlsSecretName ? 'https' : 'http'}://${spec.ingressHostName}/auth`;
}
