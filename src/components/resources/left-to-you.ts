import type { KeycloakSummary, SolrCoreRecord, TenancyRecord } from '../../contract/manifest.js';
import type { RestoreMapping } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { PlanStep } from '../../contract/plan.js';
import { manualTasks, type ServedTenant } from '../../entando/manual-tasks.js';
import { splitFqdns } from '../../entando/tenancy-record.js';
import type { PlanContext } from '../component.js';
import { rewriteValue } from './hand-env-restore.js';
import { rewriteTenants } from './tenants-rewrite.js';

const PHASE = 'left-to-you';

/**
 * The tenants as the restored app serves them: a secondary tenant's hosts and solrAddress as
 * the tenants Secret's rewrite moves them, the primary's SOLR_ADDRESS as the app-env step
 * rewrites it, so that the calls name the target's hosts and Solr.
 */
export function servedTenants(
  record: TenancyRecord,
  mapping: RestoreMapping,
  keycloak: KeycloakSummary | undefined,
): ServedTenant[] {
  const primaryAddress = record.primary.solr.address;
  const primarySolr: SolrCoreRecord = primaryAddress
    ? { ...record.primary.solr, address: rewriteValue(primaryAddress, mapping).value }
    : record.primary.solr;
  const primary: ServedTenant = {
    code: 'primary',
    hosts: mapping.targetHost ? [mapping.targetHost] : record.primary.hosts,
    realm: keycloak?.realm,
    solr: primarySolr,
  };
  const archived = record.tenants.map((t) => ({
    tenantCode: t.code,
    fqdns: t.hosts.join(','),
    ...(t.solr.addressFrom === 'tenant' ? { solrAddress: t.solr.address } : {}),
  }));
  const moved = rewriteTenants(archived, mapping).tenants;
  const secondaries = record.tenants.map((t, i): ServedTenant => {
    const solrAddress = moved[i].solrAddress as string | undefined;
    return {
      code: t.code,
      hosts: splitFqdns(moved[i].fqdns as string | undefined),
      realm: keycloak?.tenantRealms?.find((r) => r.tenants.includes(t.code))?.realm,
      solr: {
        ...t.solr,
        ...(solrAddress
          ? { address: solrAddress }
          : primarySolr.address
            ? { address: primarySolr.address }
            : {}),
      },
    };
  });
  return [primary, ...secondaries];
}

/** One manual step per task left to the user (none for an archive without the record). */
export function planLeftToYouSteps(ctx: Pick<PlanContext, 'archive' | 'mapping'>): PlanStep[] {
  const { resources, keycloak } = ctx.archive.manifest.components;
  const record = resources?.tenancy;
  if (!record) return [];
  const served = servedTenants(record, ctx.mapping, keycloak);
  return manualTasks(record, served).map((task) => ({
    priority: phase(PHASE).priority,
    phase: PHASE,
    component: 'resources',
    action: 'manual',
    reason: task.why,
    changes: [],
    manual: task,
  }));
}
