/**
 * The secondary tenants' realms compare reads: those a backup of either side would carry (in
 * the app's in-namespace Keycloak, components/keycloak/tenant-realms.ts), matched by realm name.
 */
import type { TenantRealmSummary } from '../contract/manifest.js';
import { discoverTenantRealms } from '../components/keycloak/tenant-realms.js';
import { readTenants } from '../entando/tenants.js';
import { errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';

/** What names a tenant realm's rows: `tenant t1 realm t1` (`tenants t1, t2 ...` when shared). */
export function tenantRealmLabel(r: Pick<TenantRealmSummary, 'tenants' | 'realm'>): string {
  return `${r.tenants.length > 1 ? 'tenants' : 'tenant'} ${r.tenants.join(', ')} realm ${r.realm}`;
}

/** The realms a backup of this side would carry (mode `realm`); an unreadable JSON: a problem. */
export async function carriedTenantRealms(
  kube: KubeClient,
  app: KubeObject,
): Promise<{ realms: TenantRealmSummary[]; problems: string[] }> {
  try {
    const { configs } = await readTenants(kube, app);
    const all = await discoverTenantRealms(kube, app, configs, 'realm');
    return { realms: all.filter((r) => r.mode === 'realm'), problems: [] };
  } catch (err) {
    return { realms: [], problems: [`tenant realms: ${errorMessage(err)}`] };
  }
}

/** Each realm either side carries, once, with the tenants of the side that names it first. */
export function realmsOfEither(
  source: readonly TenantRealmSummary[],
  target: readonly TenantRealmSummary[],
): Pick<TenantRealmSummary, 'tenants' | 'realm'>[] {
  const out = new Map<string, Pick<TenantRealmSummary, 'tenants' | 'realm'>>();
  for (const r of [...source, ...target]) {
    if (!out.has(r.realm)) out.set(r.realm, { tenants: [...r.tenants], realm: r.realm });
  }
  return [...out.values()];
}
