import { serverStatuses } from './kinds.js';
import type { KubeObject } from '../kube/object.js';

/**
 * The env the Entando operator writes into the containers of an EntandoApp's app engine and
 * component manager: anything else found there was added by hand (ENTANDO_TENANTS, CDS_*,
 * SOLR_*, REDIS_*...), and the operator drops it whenever it rewrites the Deployment.
 *
 * Names read from the operator's source, tags v7.1.6 to v7.3.0 (no name changes between them)
 * and branch release/7.3 (7.3.1+):
 * - entando-k8s-operator-common `DeploymentCreator.determineEnvironmentVariables`: the SSO, DB,
 *   web context (SERVER_SERVLET_CONTEXT_PATH), trust store (JAVA_TOOL_OPTIONS) and
 *   CONNECTION_CONFIG_ROOT variables, then the container's own, then the CR's
 *   `spec.environmentVariables` by name; `SpringBootDeployableContainer` (SSO and DB of the CM);
 * - entando-k8s-app-controller `EntandoAppDeployableContainer` (app engine: KEYCLOAK_*,
 *   PORTDB_/SERVDB_*, JGROUPS/KUBE_PING, ENTANDO_WEB_CONTEXT, ENTANDO_APP_USE_TLS) and
 *   `ComponentManagerDeployableContainer` (ENTANDO_APP_*, ENTANDO_URL, SERVER_PORT,
 *   ENTANDO_K8S_SERVICE_URL, GIT_SSH_COMMAND, ENTANDO_ECR_POSTINIT...).
 * Every name either of them may write is listed: which ones a given app gets (dbms, TLS, EAP)
 * does not matter, an operator-made name is never a hand-added one.
 */
const COMMON = ['SERVER_SERVLET_CONTEXT_PATH', 'JAVA_TOOL_OPTIONS', 'CONNECTION_CONFIG_ROOT'];

const DATASOURCE = [
  'DRIVER',
  'URL',
  'USERNAME',
  'PASSWORD',
  'CONNECTION_CHECKER',
  'EXCEPTION_SORTER',
];

const APP_ENGINE = [
  ...COMMON,
  ...['ENABLED', 'REALM', 'PUBLIC_CLIENT_ID', 'AUTH_URL', 'CLIENT_SECRET', 'CLIENT_ID'].map(
    (s) => `KEYCLOAK_${s}`,
  ),
  ...['PORTDB_', 'SERVDB_'].flatMap((p) => DATASOURCE.map((s) => p + s)),
  'JGROUPS_CLUSTER_PASSWORD',
  'JGROUPS_JOIN_TIMEOUT',
  'JGROUPS_PING_PROTOCOL',
  'OPENSHIFT_KUBE_PING_NAMESPACE',
  'OPENSHIFT_KUBE_PING_LABELS',
  'KUBERNETES_NAMESPACE',
  'KUBERNETES_LABELS',
  'ENTANDO_WEB_CONTEXT',
  'ENTANDO_APP_USE_TLS',
];

const COMPONENT_MANAGER = [
  ...COMMON,
  'SPRING_SECURITY_OAUTH2_CLIENT_PROVIDER_OIDC_ISSUER_URI',
  'SPRING_SECURITY_OAUTH2_CLIENT_REGISTRATION_OIDC_CLIENT_SECRET',
  'SPRING_SECURITY_OAUTH2_CLIENT_REGISTRATION_OIDC_CLIENT_ID',
  'SPRING_DATASOURCE_USERNAME',
  'SPRING_DATASOURCE_PASSWORD',
  'SPRING_DATASOURCE_URL',
  'SPRING_JPA_DATABASE_PLATFORM',
  'ENTANDO_APP_NAME',
  'ENTANDO_APP_HOST_NAME',
  'ENTANDO_APP_USE_TLS',
  'ENTANDO_URL',
  'SERVER_PORT',
  'ENTANDO_COMPONENT_REPOSITORY_NAMESPACES',
  'ENTANDO_K8S_SERVICE_URL',
  'GIT_SSH_COMMAND',
  'ENTANDO_ECR_POSTINIT',
];

/**
 * The sandbox's operator stand-in passes its own runtime settings to the component manager it
 * runs as a host process (sandbox/operator/cm.ts): operator-made there, never a user's.
 */
const STAND_IN_PREFIX = 'SANDBOX_';

/** One of the app's servers whose hand-added env is carried. */
export interface AppServer {
  /** status.serverStatuses key. */
  qualifier: 'main' | 'cm';
  /** The operator's container in it (`<nameQualifier>-container`). */
  container: string;
  /** Its Deployment's name when status does not say (`<app>[-cm]-deployment`). */
  defaultDeployment: (app: string) => string;
  generated: ReadonlySet<string>;
  /** CR fields whose EnvVars the operator also writes into it (7.3.1+ adds per-module lists). */
  crFields: readonly string[];
}

export const APP_SERVERS: readonly AppServer[] = [
  {
    qualifier: 'main',
    container: 'server-container',
    defaultDeployment: (app) => `${app}-deployment`,
    generated: new Set(APP_ENGINE),
    crFields: ['environmentVariables', 'environmentVariablesAppEngine'],
  },
  {
    qualifier: 'cm',
    container: 'de-container',
    defaultDeployment: (app) => `${app}-cm-deployment`,
    generated: new Set(COMPONENT_MANAGER),
    crFields: ['environmentVariables', 'environmentVariablesComponentManager'],
  },
];

/** A Kubernetes EnvVar, kept as written. */
export interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

/** A Kubernetes EnvFromSource, kept as written. */
export interface EnvFromEntry {
  prefix?: string;
  secretRef?: { name?: string; optional?: boolean };
  configMapRef?: { name?: string; optional?: boolean };
}

interface Container {
  name?: string;
  env?: EnvEntry[];
  envFrom?: EnvFromEntry[];
}

/** The Deployment name of one of the app's servers: status first, else the operator's naming. */
export function serverDeployment(app: KubeObject, server: AppServer): string {
  return (
    serverStatuses(app)[server.qualifier]?.deploymentName ??
    server.defaultDeployment(app.metadata.name)
  );
}

/** The names the operator writes into `server`'s container for this EntandoApp. */
export function generatedNames(app: KubeObject, server: AppServer): Set<string> {
  const names = new Set(server.generated);
  const s = (app.spec ?? {}) as Record<string, unknown>;
  for (const field of server.crFields) {
    const list = s[field];
    if (!Array.isArray(list)) continue;
    for (const e of list as { name?: unknown }[])
      if (typeof e?.name === 'string') names.add(e.name);
  }
  return names;
}

/**
 * The env and envFrom entries of the server's container in `deployment` that the operator did
 * not write, as written (a secretKeyRef stays a reference: no secret value is read). Every
 * envFrom entry is hand-added: the operator writes none.
 */
export function handAddedEnv(
  app: KubeObject,
  server: AppServer,
  deployment: KubeObject,
): { env: EnvEntry[]; envFrom: EnvFromEntry[] } {
  const containers =
    (deployment.spec as { template?: { spec?: { containers?: Container[] } } } | undefined)
      ?.template?.spec?.containers ?? [];
  const container = containers.find((c) => c.name === server.container);
  if (!container) return { env: [], envFrom: [] };
  const generated = generatedNames(app, server);
  const env = (container.env ?? []).filter(
    (e) =>
      typeof e?.name === 'string' && !generated.has(e.name) && !e.name.startsWith(STAND_IN_PREFIX),
  );
  return { env: structuredClone(env), envFrom: structuredClone(container.envFrom ?? []) };
}
