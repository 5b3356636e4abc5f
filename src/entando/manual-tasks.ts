import type { ManualTask } from '../contract/plan.js';
import type { SolrCoreRecord, TenancyRecord } from '../contract/manifest.js';

/** A tenant as the restored app serves it: its hosts, its realm and Solr collection. */
export interface ServedTenant {
  /** `primary` for the app's own. */
  code: string;
  hosts: string[];
  /** Its Keycloak realm (kcRealm; the app's realm for the primary), if known. */
  realm?: string;
  solr: SolrCoreRecord;
}

/** Entando's collection parameters (tutorials/consume/solr.md): the source's are not read. */
const CREATE_PARAMS = 'numShards=1&replicationFactor=3&maxShardsPerNode=2';
const APP = '/entando-de-app/api/plugins';

/** Entando's Collections API call that creates a tenant's collection. */
export function createCollectionCall(address: string, core: string): string {
  return `GET ${address.replace(/\/+$/, '')}/admin/collections?action=CREATE&name=${encodeURIComponent(core)}&${CREATE_PARAMS}`;
}

const coreKey = (s: SolrCoreRecord) => `${s.address ?? ''} ${s.core}`;

/**
 * One task per tenant (primary first): the collection created when the target's Solr lacks it
 * (once per collection: tenants without a solrCore share the primary's), then the schema
 * refresh and the reindex, which rebuild from the restored database what the index held.
 */
export function solrTasks(tenants: ServedTenant[]): ManualTask[] {
  const firstOf = new Map<string, string>();
  return tenants.map((t) => {
    const key = coreKey(t.solr);
    const owner = firstOf.get(key);
    if (!owner) firstOf.set(key, t.code);
    const at = t.solr.address ?? "the target's Solr (no SOLR_ADDRESS nor solrAddress recorded)";
    const collection = owner
      ? `collection ${t.solr.core}: the one of ${owner} (created there)`
      : t.solr.address
        ? `if the target's Solr lacks collection ${t.solr.core}: ${createCollectionCall(t.solr.address, t.solr.core)}`
        : `if the target's Solr lacks collection ${t.solr.core}: create it with Entando's parameters (${CREATE_PARAMS})`;
    const via = t.hosts.length
      ? `through host ${t.hosts[0]}`
      : `through the app's host with header X-ENTANDO-TENANTCODE: ${t.code} (7.3; no host recorded)`;
    const realm = t.realm ? `realm ${t.realm}` : `the tenant's realm (its kcRealm)`;
    return {
      what: `solr: tenant ${t.code} (collection ${t.solr.core} at ${at})`,
      why: 'Solr indexes are derived from the database: not carried, rebuilt from the restored data',
      instructions: [
        collection,
        `then ${via}, with the token of a SUPERUSER of ${realm}:`,
        `POST ${APP}/solr/config/{contentTypeCode} for each content type (schema refresh; the codes: GET ${APP}/cms/contentTypes)`,
        `POST ${APP}/cms/contentSettings/reloadIndexes (reindex)`,
      ],
    };
  });
}

/**
 * The stale cache a Redis that survived in the target may serve: secondary tenants' keys carry
 * the `<tenantCode>_` prefix, the primary's none; FLUSHDB and FLUSHALL are disabled by
 * Entando's Redis chart, so keys go one pattern at a time.
 */
export function redisTask(tenantCodes: string[]): ManualTask {
  const purge = (code: string) =>
    `redis-cli --scan --pattern '${code}_*' | xargs -r redis-cli unlink   # tenant ${code}`;
  return {
    what: 'redis: stale cache keys',
    why: 'Redis holds only caches and sessions: not carried; one that existed in the target before the restore (AOF persistence on) keeps what the app it served cached',
    instructions: [
      'nothing to do with a Redis installed fresh for this restore; otherwise, against its master (password in REDISCLI_AUTH):',
      ...tenantCodes.map(purge),
      "the primary's keys have no prefix: to drop them too, recreate the Redis with its volumes (FLUSHDB and FLUSHALL are disabled in Entando's Redis chart)",
    ],
  };
}

/**
 * What a restore of this record leaves to the user: with Solr active and secondary tenants,
 * a Solr task per tenant; with Redis active, the stale keys.
 */
export function manualTasks(record: TenancyRecord, served: ServedTenant[]): ManualTask[] {
  const multiTenant = record.tenants.length > 0;
  return [
    ...(record.solrActive && multiTenant ? solrTasks(served) : []),
    ...(record.redisActive ? [redisTask(record.tenants.map((t) => t.code))] : []),
  ];
}
