import type { Manifest } from '../../archive/manifest.js';
import type {
  CdsFilesSummary,
  DatabasesSummary,
  DataOwner,
  SolrCoreRecord,
  TenantRealmSummary,
} from '../../contract/manifest.js';
import { describeCdsOf } from '../../components/files/describe.js';
import { describeTenantRealm } from '../../components/keycloak/describe.js';
import { formatBytes } from '../../report/progress.js';

const PRIMARY = 'primary';

/** One schema carried for a tenant: dumped in `entry`, or shared with another owner's dump. */
export interface TenantSchema {
  qualifier: string;
  schema: string;
  database: string;
  host: string;
  entry: string;
  bytes?: number;
  /** The tenant (or owner) whose dump holds it: dumped once, loaded once. */
  sharedWith?: string;
}

/**
 * What an archive carries of one tenant (`primary` the app's own), gathered from every
 * component's summary: inspect shows one block per tenant, in text and JSON.
 */
export interface TenantBlock {
  code: string;
  hosts: string[];
  schemas: TenantSchema[];
  realm?: TenantRealmSummary;
  cdsFiles?: CdsFilesSummary;
  /** Why its CDS files are not carried (left out with --primary-tenant-only). */
  cdsNotCarried?: string;
  solr?: SolrCoreRecord;
}

const ownerLabel = (o: DataOwner, app: string) =>
  o.tenant ?? (o.name === app ? PRIMARY : `${o.kind} ${o.name}`);

/** The schemas of one tenant: the app's own for the primary, `owner.tenant` for the others. */
function schemasOf(db: DatabasesSummary | undefined, app: string, code: string): TenantSchema[] {
  const mine = (o: DataOwner) =>
    code === PRIMARY ? !o.tenant && o.name === app : o.tenant === code;
  const dumped = (db?.datasources ?? []).filter((d) => mine(d.owner));
  const shared = (db?.shared ?? []).filter((s) => mine(s.owner));
  return [
    ...dumped.map((d) => ({
      qualifier: d.qualifier,
      schema: d.schema,
      database: d.database,
      host: d.host,
      entry: d.entry,
      bytes: d.bytes,
    })),
    ...shared.flatMap((s) => {
      const holder = db?.datasources.find((d) => d.entry === s.sameAs);
      if (!holder) return [];
      const { schema, database, host, entry } = holder;
      const sharedWith = ownerLabel(holder.owner, app);
      return [{ qualifier: s.qualifier, schema, database, host, entry, sharedWith }];
    }),
  ];
}

/** Every tenant the archive knows of, the primary first; none for a single-tenant archive. */
export function tenantBlocks(manifest: Manifest): TenantBlock[] {
  const { resources, databases, keycloak, files } = manifest.components;
  const app = manifest.source.app;
  const record = resources?.tenancy;
  const codes = new Set<string>([
    ...(record?.tenants ?? []).map((t) => t.code),
    ...(databases?.datasources ?? []).flatMap((d) => d.owner.tenant ?? []),
    ...(keycloak?.tenantRealms ?? []).flatMap((r) => r.tenants),
    ...(files?.cds ?? []).flatMap((c) => c.tenants.filter((t) => t !== PRIMARY)),
    ...(files?.cdsLeftOut ?? []).map((l) => l.tenant),
  ]);
  if (codes.size === 0 && !record && !files?.cds?.length) return [];
  const appRealm: TenantRealmSummary | undefined = keycloak && {
    tenants: [PRIMARY],
    realm: keycloak.realm,
    mode: keycloak.mode === 'realm' ? 'realm' : 'not-carried',
    ...(keycloak.mode === 'realm' ? {} : { reason: keycloak.reason ?? keycloak.mode }),
    ...(keycloak.counts ? { counts: keycloak.counts } : {}),
    ...(keycloak.locales ? { locales: keycloak.locales } : {}),
  };
  return [PRIMARY, ...codes].map((code) => {
    const recorded =
      code === PRIMARY ? record?.primary : record?.tenants.find((t) => t.code === code);
    const realm =
      code === PRIMARY ? appRealm : keycloak?.tenantRealms?.find((r) => r.tenants.includes(code));
    const cds = files?.cds?.find((c) => c.tenants.includes(code));
    const leftOut = files?.cdsLeftOut?.find((l) => l.tenant === code);
    return {
      code,
      hosts: recorded?.hosts ?? [],
      schemas: schemasOf(databases, app, code),
      ...(realm ? { realm } : {}),
      ...(cds ? { cdsFiles: cds } : {}),
      ...(leftOut ? { cdsNotCarried: leftOut.message } : {}),
      ...(recorded ? { solr: recorded.solr } : {}),
    };
  });
}

/** A tenant's Solr collection, with the setting each part comes from. */
export function describeSolr(s: SolrCoreRecord, solrActive: boolean): string {
  const core = { tenant: 'solrCore', primary: 'SOLR_CORE', default: 'the default' }[s.coreFrom];
  const at = s.address
    ? `at ${s.address} (${s.addressFrom === 'tenant' ? 'solrAddress' : 'SOLR_ADDRESS'})`
    : 'no address recorded';
  const index = solrActive ? 'index not carried, rebuilt after a restore' : 'SOLR_ACTIVE not true';
  return `collection ${s.core} (${core}) ${at}; ${index}`;
}

function describeSchema(s: TenantSchema): string {
  const where = `${s.qualifier} ${s.schema}`;
  if (s.sharedWith) return `${where} (shared with ${s.sharedWith}: dumped once)`;
  return `${where} (${formatBytes(s.bytes ?? 0)})`;
}

/** inspect's text of one block: a head line, then one line per part carried. */
export function tenantBlockLines(b: TenantBlock, solrActive: boolean): string[] {
  const hosts = b.hosts.length ? `hosts ${b.hosts.join(', ')}` : 'no host recorded';
  const cds = b.cdsFiles
    ? [`cds files: ${describeCdsOf(b.cdsFiles, b.code)}`]
    : b.cdsNotCarried
      ? [`cds files: NOT carried: ${b.cdsNotCarried}`]
      : [];
  return [
    `${b.code}: ${hosts}`,
    ...(b.schemas.length ? [`  schemas: ${b.schemas.map(describeSchema).join('; ')}`] : []),
    ...(b.realm ? [`  keycloak: ${describeTenantRealm(b.realm)}`] : []),
    ...cds.map((l) => `  ${l}`),
    ...(b.solr ? [`  solr: ${describeSolr(b.solr, solrActive)}`] : []),
  ];
}
