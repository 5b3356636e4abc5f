// Operator STAND-IN (sandbox only, NOT Entando's operator): the Entando model as far as the
// backup/restore tool depends on it. Names follow /work/shared/entando/REFERENCE.md.
import { randomInt, randomUUID } from 'node:crypto';

export const GROUP = 'entando.org';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FIELD_MANAGER = 'entando-operator-standin';
export const PROCESSING_INSTRUCTION = 'entando.org/processing-instruction';

export type Kind = 'EntandoApp' | 'EntandoPlugin' | 'EntandoAppPluginLink';
export const PLURALS: Record<Kind, string> = {
  EntandoApp: 'entandoapps',
  EntandoPlugin: 'entandoplugins',
  EntandoAppPluginLink: 'entandoapppluginlinks',
};

export type Dbms = 'postgresql' | 'mysql' | 'oracle' | 'embedded' | 'none';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface EntandoResource {
  apiVersion: string;
  kind: Kind;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  spec?: {
    dbms?: Dbms;
    ingressHostName?: string;
    ingressPath?: string;
    tlsSecretName?: string;
    replicas?: number;
    standardServerImage?: string;
    customServerImage?: string;
    image?: string;
    environmentVariables?: EnvVar[] | null;
    serviceAccountToUse?: string;
    storageClass?: string;
    keycloakToUse?: { realm?: string; publicClientId?: string };
    entandoAppName?: string;
    entandoAppNamespace?: string;
    entandoPluginName?: string;
    entandoPluginNamespace?: string;
  };
  status?: {
    phase?: string;
    observedGeneration?: number;
    serverStatuses?: Record<string, unknown>;
  };
}

/** Whether the operator must (re)process this CR (REFERENCE.md "Common status"). */
export function needsProcessing(cr: EntandoResource): boolean {
  const instruction = cr.metadata.annotations?.[PROCESSING_INSTRUCTION];
  if (instruction === 'ignore' || instruction === 'defer') return false;
  if (isOwnedByEntandoResource(cr)) return false;
  if (instruction === 'force') return true;
  const observed = cr.status?.observedGeneration;
  return observed === undefined || observed < (cr.metadata.generation ?? 1);
}

export function isOwnedByEntandoResource(cr: EntandoResource): boolean {
  return (cr.metadata.ownerReferences ?? []).some((o) => o.apiVersion.startsWith(`${GROUP}/`));
}

/** The dbms of a CR; omitted means embedded (REFERENCE.md). */
export function dbmsOf(cr: EntandoResource): Dbms {
  return cr.spec?.dbms ?? 'embedded';
}

/** Whether this dbms is served by the (sandbox) in-namespace DBMS. */
export function hasInNamespaceDbms(dbms: Dbms): dbms is 'postgresql' | 'mysql' {
  return dbms === 'postgresql' || dbms === 'mysql';
}

export function controllerRef(cr: EntandoResource): OwnerReference {
  return {
    apiVersion: cr.apiVersion || API_VERSION,
    kind: cr.kind,
    name: cr.metadata.name,
    uid: cr.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function resourceLabels(cr: EntandoResource): Record<string, string> {
  return {
    [cr.kind]: cr.metadata.name,
    'entando.org/entando-resource-kind': cr.kind,
    'entando.org/entando-resource-namespace': cr.metadata.namespace,
  };
}

// ---- names (REFERENCE.md "What an EntandoApp owns") ----

export const names = {
  deployment: (cr: string, qualifier?: string) =>
    qualifier ? `${cr}-${qualifier}-deployment` : `${cr}-deployment`,
  service: (cr: string, qualifier?: string) =>
    qualifier ? `${cr}-${qualifier}-service` : `${cr}-service`,
  ingress: (cr: string) => `${cr}-ingress`,
  pvc: (cr: string, containerQualifier: string) => `${cr}-${containerQualifier}-pvc`,
  dbSecret: (cr: string, qualifier: string) => `${cr}-${qualifier}-secret`,
  dbmsBase: (dbms: 'postgresql' | 'mysql') => `default-${dbms}-dbms-in-namespace`,
  dbmsDeployment: (dbms: 'postgresql' | 'mysql') => `default-${dbms}-dbms-in-namespace-deployment`,
  dbmsService: (dbms: 'postgresql' | 'mysql') => `default-${dbms}-dbms-in-namespace-service`,
  dbmsAdminSecret: (dbms: 'postgresql' | 'mysql') =>
    `default-${dbms}-dbms-in-namespace-admin-secret`,
  pgDatabase: 'default_postgresql_dbms_in_namespace_db',
};

/** Entando's snake case of a k8s name: '-' and '.' become '_'. */
export function snakeCase(name: string): string {
  return name.replace(/[-.]/g, '_').toLowerCase();
}

/** Maximum user name length per DBMS (MySQL 8 caps at 32; PostgreSQL identifiers at 63). */
export const MAX_USERNAME: Record<'postgresql' | 'mysql', number> = { postgresql: 63, mysql: 32 };

/**
 * `<snake_case name>_<qualifier>_<5 random digits>`; the name part is truncated (derived, not
 * observed) so the whole fits the DBMS's limit.
 */
export function databaseUsername(
  crName: string,
  qualifier: string,
  dbms: 'postgresql' | 'mysql',
  digits: () => string = randomDigits,
): string {
  const suffix = `_${qualifier}_${digits()}`;
  const base = snakeCase(crName).slice(0, MAX_USERNAME[dbms] - suffix.length);
  return `${base}${suffix}`;
}

export function randomDigits(): string {
  return String(randomInt(0, 100000)).padStart(5, '0');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function randomPassword(length = 16): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(0, ALNUM.length)];
  return out;
}

export function randomClientSecret(): string {
  return randomUUID();
}
