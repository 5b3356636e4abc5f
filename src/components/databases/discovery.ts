import { EntandoKind, serverStatuses } from '../../entando/kinds.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject } from '../../kube/object.js';
import { dataDeploymentNames, linkedPlugins } from '../resources/deployments.js';

export { linkedPlugins };
import {
  datasourceEnvs,
  envMap,
  keycloakPartsUrl,
  type DatasourceEnv,
  type ValueRef,
} from './env.js';
import { parseJdbcUrl } from './jdbc.js';
import { readTenants, type TenantConfig } from '../../entando/tenants.js';
import type { SharedDatasource } from '../../contract/manifest.js';
import { dedupeTenantDatasources, tenantDatasources } from './tenants.js';

export type Dbms = 'postgresql' | 'mysql' | 'oracle';

/** The CR whose data it is; `tenant` for a secondary tenant's (see DataOwner). */
export interface DatasourceOwner {
  kind: string;
  name: string;
  tenant?: string;
}

/** One database of the app, found from its env and secrets (never from a guessed name). */
export interface Datasource {
  owner: DatasourceOwner;
  /** portdb, servdb (app engine), dedb (component manager), plugindb, kcdb (Keycloak). */
  qualifier: string;
  /** The deployment whose env declares it, and the env prefix (PORTDB, SPRING_DATASOURCE...). */
  deployment?: string;
  envPrefix?: string;
  dbms: Dbms;
  url: string;
  host: string;
  port: number;
  /** PostgreSQL: the database holding the schemas; MySQL: the database; Oracle: the service. */
  database: string;
  /** PostgreSQL: the schema (= username); MySQL: the database; Oracle: the user's schema. */
  schema: string;
  username: string;
  /** Kept in memory only: never written to the archive's manifest, a log or a command line. */
  password: string;
  /** Where the credentials were read: secret name (and keys), or literal env values. */
  credentials: string;
  secretName?: string;
}

/** A datasource in files (Derby, H2): the files component copies it, not this one. */
export interface EmbeddedDatasource {
  owner: DatasourceOwner;
  qualifier: string;
  engine: string;
}

export interface Discovery {
  datasources: Datasource[];
  embedded: EmbeddedDatasource[];
  /** Tenants' datasources naming a schema already in `datasources` (dumped once). */
  shared?: SharedDatasource[];
  /** What could not be read (a secret missing, a URL not understood): each one is an error. */
  problems: string[];
}

/** The only cluster reads discovery needs (tests give a fake). */
export type KubeReader = Pick<KubeClient, 'get' | 'list'>;

const APP_QUALIFIERS: Record<string, string> = {
  PORTDB: 'portdb',
  SERVDB: 'servdb',
  SPRING_DATASOURCE: 'dedb',
};

/** The qualifier of a datasource from its owner and env prefix (the operator's names). */
export function qualifierOf(ownerKind: string, prefix: string): string {
  if (ownerKind === EntandoKind.KeycloakServer) return 'kcdb';
  if (ownerKind === EntandoKind.Plugin && prefix === 'SPRING_DATASOURCE') return 'plugindb';
  return APP_QUALIFIERS[prefix] ?? prefix.toLowerCase().replace(/_/g, '-');
}

/** The datasources the operator makes for a CR with `dbms: postgresql|mysql`. */
export function expectedQualifiers(owner: KubeObject): string[] {
  const dbms = spec(owner).dbms;
  if (dbms !== 'postgresql' && dbms !== 'mysql') return [];
  if (owner.kind === EntandoKind.App) return ['portdb', 'servdb', 'dedb'];
  if (owner.kind === EntandoKind.Plugin) return ['plugindb'];
  return [];
}

/**
 * Every database of the app: the app engine's portdb and servdb, the component manager's dedb,
 * each linked plugin's plugindb. Read
 * from the env of the generated deployments (and the CRs' environmentVariables), values
 * resolved from their secrets; the conventional `<cr>-<qualifier>-secret` is used only for a
 * datasource the operator must have made but whose deployment env is not there.
 */
export async function discoverDatasources(
  kube: KubeReader,
  app: KubeObject,
  opts: { tenants?: boolean } = {},
): Promise<Discovery> {
  const result: Discovery = { datasources: [], embedded: [], problems: [] };
  const owners = [app, ...(await linkedPlugins(kube, app))];
  for (const owner of owners) await discoverOwner(kube, owner, result);
  if (opts.tenants) await discoverTenants(kube, app, result);
  // Keycloak's own database is not dumped: its realm is carried by the keycloak component
  // (portable, host-rewritable, no master realm or other tenants' realms; see docs/keycloak.md).
  return result;
}

/**
 * The secondary tenants' datasources (ENTANDO_TENANTS, read as the app engine does), added to
 * `into` after the CRs' ones, a schema already there listed as shared instead.
 */
async function discoverTenants(kube: KubeReader, app: KubeObject, into: Discovery): Promise<void> {
  let configs: TenantConfig[];
  try {
    configs = (await readTenants(kube, app)).configs;
  } catch (err) {
    into.problems.push((err as Error).message);
    return;
  }
  const found = tenantDatasources(app, configs);
  into.problems.push(...found.problems);
  const deduped = dedupeTenantDatasources(
    into.datasources,
    found.datasources,
    app.metadata.namespace!,
  );
  into.datasources.push(...deduped.datasources);
  into.shared = deduped.shared;
}

/** The datasources of one CR (app, plugin or Keycloak), added to `into`. */
export async function discoverOwner(
  kube: KubeReader,
  owner: KubeObject,
  into: Discovery,
  keycloak = owner.kind === EntandoKind.KeycloakServer,
): Promise<void> {
  const ns = owner.metadata.namespace!;
  const who: DatasourceOwner = { kind: owner.kind, name: owner.metadata.name };
  const crEnv = spec(owner).environmentVariables;
  const found: { env: DatasourceEnv; deployment?: string }[] = [];
  // What the pods get: the containers' env (the operator copies the CR's variables there).
  for (const name of dataDeploymentNames(owner)) {
    const d = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name });
    if (!d) continue;
    for (const env of datasourceEnvs(envMap(...containerEnvs(d)), keycloak)) {
      found.push({ env, deployment: name });
    }
  }
  // The CR's own variables for what no deployment declares (e.g. not generated yet).
  for (const env of datasourceEnvs(envMap(crEnv), keycloak)) {
    if (!found.some((f) => f.env.prefix === env.prefix)) found.push({ env });
  }
  const seen = new Set<string>();
  for (const { env, deployment } of found) {
    const qualifier = qualifierOf(owner.kind, env.prefix);
    if (seen.has(qualifier)) continue;
    seen.add(qualifier);
    const where = `${owner.kind} ${owner.metadata.name} ${qualifier}`;
    try {
      const ds = await resolveDatasource(kube, ns, who, qualifier, env, deployment);
      if (ds && 'engine' in ds) into.embedded.push(ds);
      else if (ds) into.datasources.push(ds);
    } catch (err) {
      into.problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  // A datasource the operator makes for dbms postgresql/mysql, not found in any env.
  for (const qualifier of expectedQualifiers(owner)) {
    if (seen.has(qualifier)) continue;
    const secretName = `${owner.metadata.name}-${qualifier}-secret`;
    const secret = await kube.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: ns,
      name: secretName,
    });
    if (!secret) continue;
    const dbms = spec(owner).dbms as 'postgresql' | 'mysql';
    const service =
      serverStatuses(owner).db?.serviceName ?? `default-${dbms}-dbms-in-namespace-service`;
    const username = secretValue(secret, 'username');
    if (!username) {
      into.problems.push(
        `${owner.kind} ${owner.metadata.name} ${qualifier}: secret ${secretName} has no username`,
      );
      continue;
    }
    const url =
      dbms === 'postgresql'
        ? `jdbc:postgresql://${service}.${ns}.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db`
        : `jdbc:mysql://${service}.${ns}.svc.cluster.local:3306/${username}`;
    const env: DatasourceEnv = {
      prefix: qualifier.toUpperCase(),
      url: { kind: 'value', value: url },
      username: { kind: 'secret', name: secretName, key: 'username' },
      password: { kind: 'secret', name: secretName, key: 'password' },
    };
    try {
      const ds = await resolveDatasource(kube, ns, who, qualifier, env, undefined);
      if (ds && !('engine' in ds)) {
        ds.credentials += ' (no deployment env: conventional secret name)';
        into.datasources.push(ds);
      }
    } catch (err) {
      into.problems.push(
        `${owner.kind} ${owner.metadata.name} ${qualifier}: ${(err as Error).message}`,
      );
    }
  }
}

function containerEnvs(deployment: KubeObject): unknown[] {
  const podSpec =
    (deployment.spec as { template?: { spec?: { containers?: { env?: unknown }[] } } })?.template
      ?.spec ?? {};
  return (podSpec.containers ?? []).map((c) => c.env);
}

/** Turns the env refs of one datasource into a Datasource with its real values. */
export async function resolveDatasource(
  kube: KubeReader,
  namespace: string,
  owner: DatasourceOwner,
  qualifier: string,
  env: DatasourceEnv,
  deployment: string | undefined,
): Promise<Datasource | EmbeddedDatasource | undefined> {
  const read = (ref: ValueRef | undefined) => readValue(kube, namespace, ref);
  let url: string | undefined;
  if (env.url) url = await read(env.url);
  else if (env.parts) {
    url = keycloakPartsUrl({
      vendor: await read(env.parts.vendor),
      host: await read(env.parts.host),
      port: await read(env.parts.port),
      database: await read(env.parts.database),
    });
  }
  if (!url) throw new Error(`no database URL in env ${env.prefix}_*`);
  const target = parseJdbcUrl(url);
  if (!target)
    throw new Error(`JDBC URL ${url} not understood (PostgreSQL, MySQL, Oracle expected)`);
  if (target.dbms === 'embedded') return { owner, qualifier, engine: target.engine };
  const username = await read(env.username);
  const password = await read(env.password);
  if (!username) throw new Error(`no username in env ${env.prefix}_USERNAME`);
  if (password === undefined) throw new Error(`no password in env ${env.prefix}_PASSWORD`);
  const schemaEnv = await read(env.schema);
  const secretName = [env.username, env.password].find((r) => r?.kind === 'secret')?.name;
  const credentials = describeCredentials(env);
  const base = { owner, qualifier, deployment, envPrefix: env.prefix, url, username, password };
  if (target.dbms === 'oracle') {
    return {
      ...base,
      dbms: 'oracle',
      host: target.host ?? '',
      port: target.port ?? 1521,
      database: target.service ?? '',
      schema: (schemaEnv ?? username).toUpperCase(),
      credentials,
      secretName,
    };
  }
  return {
    ...base,
    dbms: target.dbms,
    host: target.host,
    port: target.port,
    database: target.database || username,
    // PostgreSQL: one schema per user, named like it; MySQL: one database per user.
    schema:
      target.dbms === 'postgresql'
        ? (target.schema ?? schemaEnv ?? username)
        : target.database || username,
    credentials,
    secretName,
  };
}

function describeCredentials(env: DatasourceEnv): string {
  const parts: string[] = [];
  for (const [what, ref] of [
    ['username', env.username],
    ['password', env.password],
  ] as const) {
    if (!ref) continue;
    if (ref.kind === 'secret') parts.push(`${what} from secret ${ref.name} key ${ref.key}`);
    else if (ref.kind === 'configMap')
      parts.push(`${what} from configmap ${ref.name} key ${ref.key}`);
    else parts.push(`${what} from env ${env.prefix} value`);
  }
  return parts.join(', ');
}

async function readValue(
  kube: KubeReader,
  namespace: string,
  ref: ValueRef | undefined,
): Promise<string | undefined> {
  if (!ref) return undefined;
  if (ref.kind === 'value') return ref.value;
  const obj = await kube.get({
    apiVersion: 'v1',
    kind: ref.kind === 'secret' ? 'Secret' : 'ConfigMap',
    namespace,
    name: ref.name,
  });
  if (!obj)
    throw new Error(`${ref.kind === 'secret' ? 'secret' : 'configmap'} ${ref.name} not found`);
  if (ref.kind === 'configMap') {
    const v = (obj.data as Record<string, string> | undefined)?.[ref.key];
    if (v === undefined) throw new Error(`configmap ${ref.name} has no key ${ref.key}`);
    return v;
  }
  const v = secretValue(obj, ref.key);
  if (v === undefined) throw new Error(`secret ${ref.name} has no key ${ref.key}`);
  return v;
}

function secretValue(secret: KubeObject, key: string): string | undefined {
  const data = (secret.data as Record<string, string> | undefined)?.[key];
  if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
  return (secret.stringData as Record<string, string> | undefined)?.[key];
}

/** An archive entry name for a datasource: `<owner>.<qualifier>.sql`. */
export function entryName(ds: { owner: DatasourceOwner; qualifier: string }): string {
  return `${ds.owner.name}.${ds.qualifier}.sql`;
}
