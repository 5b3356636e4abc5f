import type { DatasourceOwner } from '../components/databases/discovery.js';
import { TENANT_DATASOURCES, tenantQualifier } from '../components/databases/tenants.js';

/**
 * The name a datasource is matched by on both sides (archive or live). The app's and its
 * plugins': owner and qualifier. A secondary tenant's: its code and the JSON field it comes
 * from (`tenant t1 dbUrl`), never its host: a restore rewrites the host to the target
 * namespace, and the tenant's JSON on each side is what reaches its schema.
 */
export function datasourceKey(owner: DatasourceOwner, qualifier: string): string {
  if (!owner.tenant) return `${owner.name} ${qualifier}`;
  const field = TENANT_DATASOURCES.find(
    (f) => tenantQualifier(owner.tenant!, f.suffix) === qualifier,
  );
  return `tenant ${owner.tenant} ${field?.url ?? qualifier}`;
}

/**
 * The live datasources to set beside an archive's: the app's all, a tenant's only when the
 * archive holds schemas of that tenant (one left out at backup, e.g. --primary-tenant-only, is
 * not a difference the restore made).
 */
export function archivedTenantsOnly<T extends { tenant?: string }>(
  live: readonly T[],
  archived: readonly { tenant?: string }[],
): T[] {
  const carried = new Set(archived.flatMap((d) => (d.tenant ? [d.tenant] : [])));
  return live.filter((d) => !d.tenant || carried.has(d.tenant));
}
