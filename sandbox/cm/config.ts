// The CM stand-in's configuration: the env Entando's operator gives the CM container
// (APPCTL app/ComponentManagerDeployableContainer.java getEnvironmentVariables; OPCOMMON
// SpringBootDeployableContainer: SPRING_DATASOURCE_*, SPRING_SECURITY_OAUTH2_CLIENT_*), plus
// variables prefixed SANDBOX_CM_ that only the sandbox needs.
import { join } from 'node:path';
import { registryDir } from './registry.js';
import { parseCmTenants, type CmTenant } from './tenants.js';

export interface CmConfig {
  appName: string;
  namespace: string;
  appHostName: string;
  useTls: boolean;
  repositoryNamespaces: string[];
  issuer: string;
  realm: string;
  /** Where the realm's JWKS is reached from the host (the Keycloak pod's host port). */
  jwksUrl: string;
  appClientId: string;
  port: number;
  host: string;
  kubeconfig: string;
  context?: string;
  registryDir: string;
  pluginReadinessTimeoutMs: number;
  pluginPollMs: number;
  postInit: boolean;
  /** ENTANDO_TENANTS (7.3 CM): the secondary tenants; empty: single-tenant. */
  tenants: CmTenant[];
  /** The local Keycloak (SANDBOX_CM_KEYCLOAK_URL), where every realm's JWKS is fetched. */
  keycloakUrl: string;
}

function need(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v)
    throw new Error(`${name} is not set (see sandbox/README.md, "Component manager stand-in")`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv, root: string): CmConfig {
  const issuer = need(env, 'SPRING_SECURITY_OAUTH2_CLIENT_PROVIDER_OIDC_ISSUER_URI');
  const realm = /\/realms\/([^/]+)\/?$/.exec(issuer)?.[1];
  if (!realm) throw new Error(`issuer ${issuer} does not end in /realms/<realm>`);
  const localKeycloak = need(env, 'SANDBOX_CM_KEYCLOAK_URL').replace(/\/$/, '');
  const appName = need(env, 'ENTANDO_APP_NAME');
  return {
    appName,
    namespace: need(env, 'SANDBOX_CM_NAMESPACE'),
    appHostName: env.ENTANDO_APP_HOST_NAME ?? '',
    useTls: env.ENTANDO_APP_USE_TLS === 'true',
    repositoryNamespaces: (env.ENTANDO_COMPONENT_REPOSITORY_NAMESPACES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    issuer,
    realm,
    jwksUrl: jwksUrl(localKeycloak, realm),
    appClientId: env.SANDBOX_CM_APP_CLIENT_ID ?? appName,
    port: Number(env.SANDBOX_CM_PORT ?? env.SERVER_PORT ?? 8083),
    host: '127.0.0.1',
    kubeconfig: need(env, 'SANDBOX_CM_KUBECONFIG'),
    context: env.SANDBOX_CM_CONTEXT || undefined,
    registryDir: registryDir(env, root),
    pluginReadinessTimeoutMs:
      Number(env.ENTANDO_K8S_PLUGIN_READINESS_TIMEOUT_IN_MINUTES ?? 5) * 60_000,
    pluginPollMs: Number(env.SANDBOX_CM_PLUGIN_POLL_MS ?? 2000),
    postInit: env.SANDBOX_CM_POST_INIT !== 'false',
    tenants: parseCmTenants(env.ENTANDO_TENANTS),
    keycloakUrl: localKeycloak,
  };
}

/** A realm's certs endpoint on the local Keycloak. */
export const jwksUrl = (keycloakUrl: string, realm: string) =>
  `${keycloakUrl}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/certs`;

export const repoRoot = (distFile: string) => join(distFile, '..', '..', '..', '..');
