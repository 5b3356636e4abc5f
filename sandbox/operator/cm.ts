// How the operator STAND-IN runs the component manager stand-in (sandbox/cm) as the process of
// the `<app>-cm-deployment` pod: an explicit container `command` (the node agent runs containers
// with a command as host processes), a unique host port for container port 8083 (pod annotation
// sandbox.entando.org/port-map, so `kubectl port-forward` to 8083 reaches it), and the env the
// real operator gives the CM (APPCTL app/ComponentManagerDeployableContainer.java
// getEnvironmentVariables; OPCOMMON SpringBootDeployableContainer.getSsoVariables) plus the
// SANDBOX_CM_* variables it needs on the host.
import { join } from 'node:path';
import type { EntandoResource, EnvVar } from './model.js';
import type { Kube } from './kube.js';
import type { SandboxDbms } from './resources.js';

export const CM_PORT_LABEL = 'sandbox.entando.org/cm-host-port';
const PORTS_PER_CLUSTER = 50;

export interface CmRuntime {
  command: string[];
  hostPort: number;
  env: EnvVar[];
}

export interface CmContext {
  kube: Kube;
  sandbox: SandboxDbms;
  /** The repository the operator runs from (its dist/ holds dist/sandbox/cm/main.js). */
  root: string;
  /** The operator's own kubeconfig (admin of this cluster) and context. */
  kubeconfig: string;
  context?: string;
}

let allocating: Promise<unknown> = Promise.resolve();
const pending = new Set<number>();

/** A host port per CM: 18300+ on the source (PostgreSQL 16432), 28300+ on the target. */
async function allocatePort(ctx: CmContext, namespace: string, name: string): Promise<number> {
  const run = allocating.then(async () => {
    const list = await ctx.kube.apps.listDeploymentForAllNamespaces({
      labelSelector: CM_PORT_LABEL,
    });
    const mine = list.items.find(
      (d) => d.metadata?.namespace === namespace && d.metadata?.name === name,
    );
    if (mine) return Number(mine.metadata!.labels![CM_PORT_LABEL]);
    const used = new Set(list.items.map((d) => Number(d.metadata?.labels?.[CM_PORT_LABEL])));
    const base = Math.floor(ctx.sandbox.postgresql.port / 10000) * 10000 + 8300;
    for (let i = 0; i < PORTS_PER_CLUSTER; i++) {
      const port = base + i;
      if (!used.has(port) && !pending.has(port)) {
        pending.add(port);
        return port;
      }
    }
    throw new Error(`no free component manager host port (${PORTS_PER_CLUSTER} in this cluster)`);
  });
  allocating = run.catch(() => undefined);
  return run;
}

/** Mark a port as visible on its deployment (the label is applied). */
export function portApplied(port: number): void {
  pending.delete(port);
}

/**
 * The CM's runtime for an app whose realm is in the namespace's Keycloak (`keycloakBase`: its
 * host URL, `http://127.0.0.1:<port>/auth`; `publicKeycloak`: its public URL, the issuer's base).
 */
export async function cmRuntime(
  ctx: CmContext,
  app: EntandoResource,
  keycloak: { base: string; publicBase: string },
): Promise<CmRuntime> {
  const ns = app.metadata.namespace;
  const name = `${app.metadata.name}-cm-deployment`;
  const hostPort = await allocatePort(ctx, ns, name);
  const realm = app.spec?.keycloakToUse?.realm ?? 'entando';
  const spec = app.spec as { componentRepositoryNamespaces?: string[] } | undefined;
  const repoNamespaces = spec?.componentRepositoryNamespaces ?? [];
  const dbms = app.spec?.dbms;
  const env: EnvVar[] = [
    { name: 'ENTANDO_APP_HOST_NAME', value: app.spec?.ingressHostName ?? '' },
    { name: 'ENTANDO_APP_USE_TLS', value: String(!!app.spec?.tlsSecretName) },
    { name: 'SERVER_PORT', value: '8083' },
    ...(repoNamespaces.length
      ? [{ name: 'ENTANDO_COMPONENT_REPOSITORY_NAMESPACES', value: repoNamespaces.join(',') }]
      : []),
    {
      name: 'ENTANDO_K8S_SERVICE_URL',
      value: `http://${app.metadata.name}-k8s-svc-service.${ns}.svc.cluster.local:8084/k8s`,
    },
    {
      name: 'SPRING_SECURITY_OAUTH2_CLIENT_PROVIDER_OIDC_ISSUER_URI',
      value: `${keycloak.publicBase}/realms/${realm}`,
    },
    // Sandbox only: what the pod would reach through cluster DNS, as host addresses.
    { name: 'SANDBOX_CM_PORT', value: String(hostPort) },
    { name: 'SANDBOX_CM_NAMESPACE', value: ns },
    { name: 'SANDBOX_CM_KUBECONFIG', value: ctx.kubeconfig },
    ...(ctx.context ? [{ name: 'SANDBOX_CM_CONTEXT', value: ctx.context }] : []),
    { name: 'SANDBOX_CM_KEYCLOAK_URL', value: keycloak.base },
    ...(dbms === 'postgresql' || dbms === 'mysql'
      ? [
          { name: 'SANDBOX_CM_DBMS_HOST', value: '127.0.0.1' },
          {
            name: 'SANDBOX_CM_DBMS_PORT',
            value: String(
              dbms === 'postgresql' ? ctx.sandbox.postgresql.port : ctx.sandbox.mysql.port,
            ),
          },
        ]
      : []),
    // A tenant's dedb may be on the other DBMS of the cluster (a MariaDB tenant of a PostgreSQL app).
    { name: 'SANDBOX_CM_POSTGRESQL_PORT', value: String(ctx.sandbox.postgresql.port) },
    { name: 'SANDBOX_CM_MYSQL_PORT', value: String(ctx.sandbox.mysql.port) },
    { name: 'SANDBOX_CM_REGISTRY_DIR', value: join(ctx.root, '.sandbox', 'cm-registry') },
  ];
  return {
    command: [process.execPath, join(ctx.root, 'dist', 'sandbox', 'cm', 'main.js')],
    hostPort,
    env,
  };
}
