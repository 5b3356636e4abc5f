import { OperationError } from '../errors.js';
import { TENANTS_SECRET } from './kinds.js';
import type { KubeClient } from '../kube/client.js';

/** The only cluster read the tenants need: an archive's objects can stand in for it. */
export type TenantsReader = Pick<KubeClient, 'get'>;
import type { KubeObject } from '../kube/object.js';

/**
 * What makes an app multi-tenant (Entando 7.2/7.3), read the ways the app engine receives it:
 * `ENTANDO_TENANTS` (a JSON array with one object per secondary tenant, `tenantCode` each) from
 * the Secret `entando-tenants-secret`, or from the env of `<app>-deployment` (a literal value,
 * `secretKeyRef`, `configMapKeyRef`, `envFrom`) or of the EntandoApp's
 * `spec.environmentVariables`; and `CDS_ENABLED=true`, with which even the primary tenant's
 * files live in CDS instead of `/entando-data` (see /work/shared/entando/TENANTS.md §0-1).
 */
export interface TenancyFacts {
  /** Secondary tenants' codes, each with where it was read. */
  tenants: { code: string; from: string }[];
  /** Where `CDS_ENABLED=true` was found, if anywhere. */
  cdsEnabled?: string;
  /** The primary's `CDS_PRIVATE_URL` (with CDS_ENABLED=true): where its CDS is found. */
  cdsPrivateUrl?: { value: string; from: string };
  /** The primary's Solr and Redis env (what a restore leaves to the user), each where read. */
  searchAndCache?: Partial<Record<SearchAndCacheEnv, { value: string; from: string }>>;
}

/** The app engine's Solr and Redis switches and the primary's core (TENANTS.md §1, §5). */
export const SEARCH_AND_CACHE_ENV = [
  'SOLR_ACTIVE',
  'SOLR_ADDRESS',
  'SOLR_CORE',
  'REDIS_ACTIVE',
] as const;
export type SearchAndCacheEnv = (typeof SEARCH_AND_CACHE_ENV)[number];

interface EnvVar {
  name?: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string };
    configMapKeyRef?: { name?: string; key?: string };
  };
}
interface EnvFrom {
  secretRef?: { name?: string };
  configMapRef?: { name?: string };
  prefix?: string;
}

const TENANTS_KEY = 'ENTANDO_TENANTS';

/**
 * One secondary tenant's JSON object, its values as the app engine reads them: strings (it
 * parses a `List<Map<String,String>>`, so `true` is "true"). Holds passwords: kept in memory
 * only, never written to a manifest or a log.
 */
export interface TenantConfig {
  code: string;
  /** Where the value was read (`Secret entando-tenants-secret key ENTANDO_TENANTS`...). */
  from: string;
  fields: Record<string, string>;
}

/** The tenants of an ENTANDO_TENANTS value; a value that is not such JSON says so. */
export function parseTenants(value: string, from: string): TenantConfig[] {
  if (value.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new OperationError(
      `${from}: ${TENANTS_KEY} is not JSON: the app engine could not read its tenants either; fix it and back up again`,
    );
  }
  if (!Array.isArray(parsed)) {
    throw new OperationError(`${from}: ${TENANTS_KEY} is not a JSON array of tenants`);
  }
  return parsed.map((t, i) => {
    const fields: Record<string, string> = {};
    if (t && typeof t === 'object' && !Array.isArray(t)) {
      for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
        if (v !== null && v !== undefined) fields[k] = typeof v === 'string' ? v : String(v);
      }
    }
    const code = fields.tenantCode ? fields.tenantCode : `#${i + 1} (no tenantCode)`;
    return { code, from, fields };
  });
}

/** The tenant codes of an ENTANDO_TENANTS value. */
export function tenantCodes(value: string, from: string): string[] {
  return parseTenants(value, from).map((t) => t.code);
}

/** One key of a Secret (data, base64, or stringData) or ConfigMap, if there. */
async function keyOf(
  kube: TenantsReader,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  name: string,
  key: string,
): Promise<string | undefined> {
  const obj = await kube.get({ apiVersion: 'v1', kind, namespace, name });
  if (!obj) return undefined;
  const data = obj.data as Record<string, string> | undefined;
  if (kind === 'Secret') {
    const stringData = (obj as { stringData?: Record<string, string> }).stringData;
    if (stringData?.[key] !== undefined) return stringData[key];
    return data?.[key] === undefined
      ? undefined
      : Buffer.from(data[key], 'base64').toString('utf8');
  }
  return data?.[key];
}

/** The value of env var `name` in `env`/`envFrom` of one container (or the CR), if set. */
async function envValue(
  kube: TenantsReader,
  namespace: string,
  name: string,
  env: EnvVar[],
  envFrom: EnvFrom[],
): Promise<{ value: string; from: string } | undefined> {
  for (const e of env) {
    if (e.name !== name) continue;
    if (e.value !== undefined) return { value: e.value, from: `env ${name}` };
    const s = e.valueFrom?.secretKeyRef;
    const c = e.valueFrom?.configMapKeyRef;
    const ref = s
      ? (['Secret', s.name, s.key] as const)
      : c
        ? (['ConfigMap', c.name, c.key] as const)
        : undefined;
    if (ref?.[1] && ref[2]) {
      const value = await keyOf(kube, ref[0], namespace, ref[1], ref[2]);
      if (value !== undefined) return { value, from: `${ref[0]} ${ref[1]} key ${ref[2]}` };
    }
  }
  for (const f of envFrom) {
    const prefix = f.prefix ?? '';
    if (!name.startsWith(prefix)) continue;
    const ref = f.secretRef?.name
      ? (['Secret', f.secretRef.name] as const)
      : f.configMapRef?.name
        ? (['ConfigMap', f.configMapRef.name] as const)
        : undefined;
    if (!ref) continue;
    const value = await keyOf(kube, ref[0], namespace, ref[1], name.slice(prefix.length));
    if (value !== undefined) return { value, from: `${ref[0]} ${ref[1]} (envFrom)` };
  }
  return undefined;
}

/** Reads the tenants and CDS use of `app` (see TenancyFacts); read-only. */
export async function tenancyOf(kube: TenantsReader, app: KubeObject): Promise<TenancyFacts> {
  return (await readTenants(kube, app)).facts;
}

/**
 * The tenants of `app` with their JSON objects, and its CDS use. A tenant code found in several
 * places is taken from the first: the Secret, then the CR's env, then the deployment's.
 */
export async function readTenants(
  kube: TenantsReader,
  app: KubeObject,
): Promise<{ facts: TenancyFacts; configs: TenantConfig[] }> {
  const ns = app.metadata.namespace!;
  const sources: { env: EnvVar[]; envFrom: EnvFrom[]; where: string }[] = [];
  const crEnv = (app.spec as { environmentVariables?: EnvVar[] } | undefined)?.environmentVariables;
  if (crEnv)
    sources.push({ env: crEnv, envFrom: [], where: 'EntandoApp spec.environmentVariables' });
  const deployment = await kube.get({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: ns,
    name: `${app.metadata.name}-deployment`,
  });
  const containers =
    (
      deployment?.spec as
        | {
            template?: {
              spec?: { containers?: { env?: EnvVar[]; envFrom?: EnvFrom[]; name?: string }[] };
            };
          }
        | undefined
    )?.template?.spec?.containers ?? [];
  for (const c of containers) {
    sources.push({
      env: c.env ?? [],
      envFrom: c.envFrom ?? [],
      where: `${app.metadata.name}-deployment`,
    });
  }
  const facts: TenancyFacts = { tenants: [] };
  const configs: TenantConfig[] = [];
  const seen = new Set<string>();
  const add = (found: TenantConfig[]) => {
    for (const t of found) {
      if (!seen.has(t.code)) {
        facts.tenants.push({ code: t.code, from: t.from });
        configs.push(t);
      }
      seen.add(t.code);
    }
  };
  const secretValue = await keyOf(kube, 'Secret', ns, TENANTS_SECRET, TENANTS_KEY);
  if (secretValue !== undefined) add(parseTenants(secretValue, `Secret ${TENANTS_SECRET}`));
  for (const s of sources) {
    const tenants = await envValue(kube, ns, TENANTS_KEY, s.env, s.envFrom);
    if (tenants) add(parseTenants(tenants.value, `${s.where}: ${tenants.from}`));
    const cds = await envValue(kube, ns, 'CDS_ENABLED', s.env, s.envFrom);
    if (cds && cds.value.trim().toLowerCase() === 'true' && !facts.cdsEnabled) {
      facts.cdsEnabled = `${s.where}: ${cds.from}`;
    }
    const url = await envValue(kube, ns, 'CDS_PRIVATE_URL', s.env, s.envFrom);
    if (url && !facts.cdsPrivateUrl) {
      facts.cdsPrivateUrl = { value: url.value.trim(), from: `${s.where}: ${url.from}` };
    }
    for (const name of SEARCH_AND_CACHE_ENV) {
      const found = await envValue(kube, ns, name, s.env, s.envFrom);
      if (!found || facts.searchAndCache?.[name]) continue;
      facts.searchAndCache ??= {};
      facts.searchAndCache[name] = { value: found.value.trim(), from: `${s.where}: ${found.from}` };
    }
  }
  if (!facts.cdsEnabled) delete facts.cdsPrivateUrl;
  return { facts, configs };
}

/**
 * What a backup carries of the secondary tenants (what `tenancyLoss` leaves out). An absent
 * `schemas` or `cdsFiles` counts as carried.
 */
export interface TenantsCarried {
  /** Their database schemas (components/databases/tenants.ts). */
  schemas?: boolean;
  /**
   * Every CDS's `public/` and `protected/`, the primary's too (components/files/cds-backup.ts);
   * a tenant whose CDS cannot be found is refused or left out there, not here.
   */
  cdsFiles?: boolean;
  /**
   * The tenants' realms a backup leaves out, one line each (who, and why); absent: the realms
   * are not looked at, all counted as lost.
   */
  realmsLost?: string[];
}

/**
 * What a backup of this version would leave out of a multi-tenant app, or undefined when it
 * carries everything. The tenants' database schemas are carried (components/databases/tenants.ts)
 * unless `schemas` is false, every CDS's `public/` and `protected/` (components/files/cds-backup.ts)
 * unless `cdsFiles` is false, and their realms when in the app's Keycloak
 * (components/keycloak/tenant-realms.ts) except those in `realmsLost`.
 */
export function tenancyLoss(f: TenancyFacts, carried: TenantsCarried = {}): string | undefined {
  const schemas = carried.schemas !== false;
  const cdsFiles = carried.cdsFiles !== false;
  const parts: string[] = [];
  if (f.tenants.length > 0) {
    const what = [
      ...(schemas ? [] : ['schemas']),
      ...(carried.realmsLost ? [] : ['realms']),
      ...(cdsFiles ? [] : ['CDS files']),
    ];
    if (what.length > 0) {
      const list = what.length > 1 ? `${what.slice(0, -1).join(', ')} and ${what.at(-1)}` : what[0];
      parts.push(
        `its secondary tenant${f.tenants.length > 1 ? 's' : ''} ${f.tenants.map((t) => t.code).join(', ')} (${[...new Set(f.tenants.map((t) => t.from))].join('; ')}): their ${list}`,
      );
    }
    if (carried.realmsLost?.length) parts.push(carried.realmsLost.join(', '));
  }
  if (f.cdsEnabled && !cdsFiles)
    parts.push(`the primary tenant's files in CDS (CDS_ENABLED=true in ${f.cdsEnabled})`);
  return parts.length > 0 ? parts.join(', and ') : undefined;
}
