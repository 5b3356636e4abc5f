import type { SolrCoreRecord, TenancyRecord } from '../contract/manifest.js';
import type { TenancyFacts, TenantConfig } from './tenants.js';

/** The core the app engine falls back to when neither the tenant nor SOLR_CORE names one. */
export const DEFAULT_SOLR_CORE = 'entando';

const isTrue = (v: string | undefined) => v?.trim().toLowerCase() === 'true';

/** A URL without its user info (`http://user:pw@solr/solr` -> `http://solr/solr`). */
export function withoutCredentials(url: string): string {
  return url.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1');
}

/** `fqdns` split as the component manager reads it (trimmed; the app engine does not trim). */
export function splitFqdns(fqdns: string | undefined): string[] {
  return (fqdns ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
}

/**
 * A tenant's Solr collection with the app engine's fallbacks (`SolrProxyTenantAware`): its own
 * `solrAddress`/`solrCore` (blank counts as unset), else the primary's.
 */
export function solrCoreOf(
  own: { address?: string; core?: string },
  primary: SolrCoreRecord,
): SolrCoreRecord {
  const address = own.address?.trim();
  const core = own.core?.trim();
  return {
    ...(address
      ? { address: withoutCredentials(address), addressFrom: 'tenant' as const }
      : primary.address
        ? { address: primary.address, addressFrom: 'primary' as const }
        : {}),
    ...(core
      ? { core, coreFrom: 'tenant' as const }
      : { core: primary.core, coreFrom: primary.coreFrom === 'default' ? 'default' : 'primary' }),
  };
}

/**
 * What a backup records of the tenants beyond their data (see TenancyRecord); undefined for an
 * app with no secondary tenant and neither SOLR_ACTIVE nor REDIS_ACTIVE set.
 */
export function tenancyRecord(
  facts: TenancyFacts,
  configs: TenantConfig[],
  appHost: string | undefined,
): TenancyRecord | undefined {
  const env = facts.searchAndCache ?? {};
  if (configs.length === 0 && !env.SOLR_ACTIVE && !env.REDIS_ACTIVE) return undefined;
  const address = env.SOLR_ADDRESS?.value.trim();
  const core = env.SOLR_CORE?.value.trim();
  const primarySolr: SolrCoreRecord = {
    ...(address ? { address: withoutCredentials(address), addressFrom: 'primary' as const } : {}),
    ...(core
      ? { core, coreFrom: 'primary' as const }
      : { core: DEFAULT_SOLR_CORE, coreFrom: 'default' as const }),
  };
  return {
    primary: { hosts: appHost ? [appHost] : [], solr: primarySolr },
    tenants: configs.map((t) => ({
      code: t.code,
      hosts: splitFqdns(t.fields.fqdns),
      solr: solrCoreOf({ address: t.fields.solrAddress, core: t.fields.solrCore }, primarySolr),
    })),
    solrActive: isTrue(env.SOLR_ACTIVE?.value),
    ...(env.SOLR_ACTIVE ? { solrActiveFrom: env.SOLR_ACTIVE.from } : {}),
    redisActive: isTrue(env.REDIS_ACTIVE?.value),
    ...(env.REDIS_ACTIVE ? { redisActiveFrom: env.REDIS_ACTIVE.from } : {}),
  };
}
