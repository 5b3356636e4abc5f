// Tenants as the 7.3 CM knows them (TENANTS.md §1 and §6): `entando.tenants` (env ENTANDO_TENANTS
// through relaxed binding; CM config/tenant/TenantConfiguration.java) is a JSON array of flat
// objects, one per secondary tenant, of which the CM reads tenantCode, fqdns, deDbUrl/
// deDbUsername/deDbPassword (TenantDataSourceConfiguration), kcAuthUrl/kcRealm (MultipleIdps:
// issuer `kcAuthUrl + "/realms/" + kcRealm`), deKcClientId/deKcClientSecret (DefaultEntandoCoreClient)
// and, for the app engine's superuser rule, kcClientId. TenantValidator fails the CM's start on a
// tenant lacking them. A request's tenant: CM TenantFilter + TenantFilterUtils.fetchTenantCode.
// No ENTANDO_TENANTS: single-tenant, every request is the primary's.
import { PRIMARY_TENANT } from '../../src/entando/plugin-names.js';

export { PRIMARY_TENANT };

export const TENANT_HEADER = 'x-entando-tenantcode';

export interface CmTenant {
  code: string;
  /** `fqdns` split on `,`, whitespace removed (TenantFilterUtils.getFqdnTenantNames). */
  fqdns: string[];
  deDbUrl: string;
  deDbUsername: string;
  deDbPassword: string;
  kcAuthUrl: string;
  kcRealm: string;
  deKcClientId: string;
  /** The tenant's app-engine client (its superuser role is what write calls need). */
  kcClientId?: string;
}

const REQUIRED = [
  'tenantCode',
  'deDbUrl',
  'deDbUsername',
  'deDbPassword',
  'kcAuthUrl',
  'kcRealm',
  'deKcClientId',
  'deKcClientSecret',
] as const;

/** The secondary tenants of ENTANDO_TENANTS; a value the CM would refuse to start with throws. */
export function parseCmTenants(value: string | undefined): CmTenant[] {
  if (!value?.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error('ENTANDO_TENANTS is not JSON');
  }
  if (!Array.isArray(parsed)) throw new Error('ENTANDO_TENANTS is not a JSON array');
  const seenFqdns = new Map<string, string>();
  const seenCodes = new Set<string>();
  return parsed.map((raw, i) => {
    const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const f = (k: string) => (o[k] === undefined || o[k] === null ? '' : String(o[k]).trim());
    const missing = REQUIRED.filter((k) => !f(k));
    const code = f('tenantCode');
    if (missing.length) {
      throw new Error(
        `ENTANDO_TENANTS tenant ${code || `#${i + 1}`}: missing ${missing.join(', ')} (TenantValidator)`,
      );
    }
    if (code.toLowerCase() === PRIMARY_TENANT) {
      throw new Error(`ENTANDO_TENANTS: tenant code ${code} is reserved`);
    }
    if (seenCodes.has(code)) throw new Error(`ENTANDO_TENANTS: tenant ${code} given twice`);
    seenCodes.add(code);
    const fqdns = f('fqdns').replace(/\s/g, '').split(',').filter(Boolean);
    for (const h of fqdns) {
      const other = seenFqdns.get(h);
      if (other) throw new Error(`ENTANDO_TENANTS: fqdn ${h} of tenant ${code} is ${other}'s too`);
      seenFqdns.set(h, code);
    }
    return {
      code,
      fqdns,
      deDbUrl: f('deDbUrl'),
      deDbUsername: f('deDbUsername'),
      deDbPassword: f('deDbPassword'),
      kcAuthUrl: f('kcAuthUrl').replace(/\/+$/, ''),
      kcRealm: f('kcRealm'),
      deKcClientId: f('deKcClientId'),
      ...(f('kcClientId') ? { kcClientId: f('kcClientId') } : {}),
    };
  });
}

/** MultipleIdps: the issuer a tenant's tokens must carry. */
export const tenantIssuer = (t: Pick<CmTenant, 'kcAuthUrl' | 'kcRealm'>) =>
  `${t.kcAuthUrl}/realms/${t.kcRealm}`;

type Headers = Record<string, string | string[] | undefined>;

const header = (h: Headers, name: string) => {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
};

/**
 * TenantFilterUtils.fetchTenantCode: a non-blank `X-ENTANDO-TENANTCODE` as given; else the first
 * non-blank of X-Forwarded-Host, Host and the server name decides: the tenant whose fqdns list
 * it, or primary (a value that matches no tenant does not fall through to the next); nothing
 * at all, primary. Hosts are compared as sent (a Host with a port matches no fqdn).
 */
export function selectTenant(tenants: CmTenant[], headers: Headers, serverName?: string): string {
  const code = header(headers, TENANT_HEADER);
  if (code) return code;
  const host =
    header(headers, 'x-forwarded-host') ?? header(headers, 'host') ?? (serverName || undefined);
  if (!host) return PRIMARY_TENANT;
  return tenants.find((t) => t.fqdns.includes(host))?.code ?? PRIMARY_TENANT;
}

/** The tenant codes of annotation `entando.org/tenants` (K8SSVC EntandoDeBundleService). */
export const TENANTS_ANNOTATION = 'entando.org/tenants';

export function annotatedTenants(annotations: Record<string, string> | undefined): string[] {
  return (annotations?.[TENANTS_ANNOTATION] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/**
 * K8SSVC isTenantPresent: the bundle is offered to the tenant its annotation names; a bundle
 * naming no tenant is the primary's (single-tenant bundles).
 */
export function bundleForTenant(
  annotations: Record<string, string> | undefined,
  tenant: string,
): boolean {
  const listed = annotatedTenants(annotations);
  return listed.includes(tenant) || (tenant === PRIMARY_TENANT && listed.length === 0);
}

/**
 * The annotations with `tenant` added to (or removed from) `entando.org/tenants`
 * (K8SSVC createBundle / removeTenantAnnotationFromBundle@release/7.3); undefined: unchanged.
 */
export function withTenant(
  annotations: Record<string, string> | undefined,
  tenant: string,
  present: boolean,
): Record<string, string> | undefined {
  const listed = annotatedTenants(annotations);
  if (listed.includes(tenant) === present) return undefined;
  const next = present ? [...listed, tenant] : listed.filter((t) => t !== tenant);
  return { ...(annotations ?? {}), [TENANTS_ANNOTATION]: next.join(',') };
}
