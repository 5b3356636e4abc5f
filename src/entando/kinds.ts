/** The Entando custom resources (group entando.org, version v1) and their plural names. */
export const ENTANDO_API = 'entando.org/v1';

export const EntandoKind = {
  App: 'EntandoApp',
  Plugin: 'EntandoPlugin',
  Link: 'EntandoAppPluginLink',
  DatabaseService: 'EntandoDatabaseService',
  KeycloakServer: 'EntandoKeycloakServer',
  Bundle: 'EntandoDeBundle',
} as const;
export type EntandoKind = (typeof EntandoKind)[keyof typeof EntandoKind];

export const ENTANDO_PLURALS: Record<EntandoKind, string> = {
  EntandoApp: 'entandoapps',
  EntandoPlugin: 'entandoplugins',
  EntandoAppPluginLink: 'entandoapppluginlinks',
  EntandoDatabaseService: 'entandodatabaseservices',
  EntandoKeycloakServer: 'entandokeycloakservers',
  EntandoDeBundle: 'entandodebundles',
};

/** One entry of an Entando CR's status.serverStatuses: what the operator deployed for a server. */
export interface ServerStatus {
  deploymentName?: string;
  serviceName?: string;
  adminSecretName?: string;
  externalBaseUrl?: string;
}

/**
 * An Entando CR's status.serverStatuses by qualifier (main, cm, ab, server, db, sso...): the
 * operator's record of what it deployed; empty before it has processed the CR.
 */
export function serverStatuses(cr: { [field: string]: unknown }): Record<string, ServerStatus> {
  const all = (cr.status as { serverStatuses?: Record<string, unknown> } | undefined)
    ?.serverStatuses;
  const out: Record<string, ServerStatus> = {};
  for (const [qualifier, s] of Object.entries(all ?? {})) {
    if (s && typeof s === 'object') out[qualifier] = s as ServerStatus;
  }
  return out;
}

/** Entando release whose CRDs the restore needs on the target (the ones we test against). */
export const ENTANDO_RELEASE_HINT = 'Entando 7.x (e.g. 7.3.0: apply its cluster-resources.yaml)';

/** The Keycloak the operator deploys per namespace, unless `spec.keycloakToUse` names another. */
export const DEFAULT_SSO = 'default-sso-in-namespace';

export const OPERATOR_CONFIG = 'entando-operator-config';
export const IMAGE_INFO = 'entando-docker-image-info';
export const TENANTS_SECRET = 'entando-tenants-secret';
export const PLUGIN_SERVICE_ACCOUNT = 'entando-plugin';
export const PULL_SECRETS_KEY = 'entando.k8s.operator.image.pull.secrets';
export const CA_SECRET_KEY = 'entando.ca.secret.name';
export const TLS_SECRET_KEY = 'entando.tls.secret.name';
