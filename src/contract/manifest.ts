import type { ObjectRef } from '../kube/object.js';
import type { EnvEntry, EnvFromEntry } from '../entando/generated-env.js';

/**
 * What the manifest says about each component (`components.<name>`) and about the entries
 * they write (`entries[].meta`): written by the components' backups, read by their restores,
 * by inspect, backup's report and compare. Every summary is optional: an older archive may
 * lack any of them.
 */
export interface ManifestComponents {
  resources?: ResourcesSummary;
  databases?: DatabasesSummary;
  files?: FilesSummary;
  keycloak?: KeycloakSummary;
  bundles?: BundlesSummary;
}

/**
 * A version of the source read at backup (`versions` of the manifest): `version` is `unknown`
 * when it could not be read, and `why` says why; a backup never fails for want of one.
 */
export interface VersionFact {
  version: string;
  /** Where it was read (a ConfigMap entry, an image, a server's answer). */
  from?: string;
  /** Why it is unknown. */
  why?: string;
}

/** One database server the dumps came from, and what it runs. */
export interface DbmsVersionFact extends VersionFact {
  /** host:port, as the datasources name it. */
  server: string;
  dbms: 'postgresql' | 'mysql';
  /** What the server says it is: postgresql, mysql or mariadb (from its version banner). */
  product?: string;
  /**
   * The image of an in-cluster DBMS pod: what a target's is compared with, since before a
   * restore the target's operator has deployed none (its image info says which it will).
   */
  image?: string;
  /** dbms-pod: the in-namespace DBMS the target's operator makes again; client-pod: external. */
  location: 'dbms-pod' | 'client-pod';
}

/** `versions` of the manifest: what a restore compares with its target before any change. */
export interface RecordedVersions {
  entando?: VersionFact;
  keycloak?: VersionFact;
  dbms?: DbmsVersionFact[];
}

/**
 * The owner of data: an Entando CR (app, plugin, Keycloak server), or with `tenant` a secondary
 * tenant of the EntandoApp `name` (its schemas from ENTANDO_TENANTS, made by hand, not by the
 * operator: restored in their own phase, user and schema made when missing).
 */
export interface DataOwner {
  kind: string;
  name: string;
  /** The tenantCode of a secondary tenant (absent: the CR's own data, the primary tenant's). */
  tenant?: string;
}

/** `components.resources`: what was captured, and why. */
export interface ResourcesSummary {
  counts: Record<string, number>;
  objects: { ref: ObjectRef; why: string }[];
  /**
   * Env added by hand to the app engine's and component manager's containers (tenants, CDS,
   * Solr, Redis...), which the operator does not make: re-applied after it made them. Absent
   * in archives of versions that did not record it; only servers with some are listed.
   */
  handAddedEnv?: HandAddedEnv[];
  /**
   * The tenants' hosts and what the restore leaves to the user of them (Solr collections and
   * indexes, Redis caches). Absent in older archives, and for an app with neither tenants nor
   * Solr or Redis env.
   */
  tenancy?: TenancyRecord;
}

/** `components.resources.tenancy`: read from ENTANDO_TENANTS and the primary's env; no credential. */
export interface TenancyRecord {
  /** The primary tenant: the app's host, its Solr core from SOLR_ADDRESS/SOLR_CORE. */
  primary: { hosts: string[]; solr: SolrCoreRecord };
  /** The secondary tenants, in ENTANDO_TENANTS order. */
  tenants: { code: string; hosts: string[]; solr: SolrCoreRecord }[];
  /** SOLR_ACTIVE=true of the app engine (where read); false: Lucene, the cores unused. */
  solrActive: boolean;
  solrActiveFrom?: string;
  /** REDIS_ACTIVE=true of the app engine (where read). */
  redisActive: boolean;
  redisActiveFrom?: string;
}

/**
 * A tenant's Solr collection as configured: address and core are the tenant's `solrAddress`/
 * `solrCore`, else the primary's SOLR_ADDRESS/SOLR_CORE, else core `entando` (the app engine's
 * fallbacks). The collection's parameters (numShards, replicationFactor) are not read: a backup
 * makes no call to Solr.
 */
export interface SolrCoreRecord {
  /** Without user info: a URL's credentials stay out of the manifest. */
  address?: string;
  addressFrom?: SolrSettingFrom;
  core: string;
  coreFrom: SolrSettingFrom | 'default';
}

export type SolrSettingFrom = 'tenant' | 'primary';

/** The hand-added env of one container, entries as written (references, never their values). */
export interface HandAddedEnv {
  /** serverStatuses key: main (app engine) or cm (component manager). */
  qualifier: 'main' | 'cm';
  deployment: string;
  container: string;
  env: EnvEntry[];
  envFrom: EnvFromEntry[];
}

/** Per-entry facts a database restore needs (and a reader of the manifest wants); never a password. */
export interface DatabaseEntryMeta {
  component: 'databases';
  owner: DataOwner;
  qualifier: string;
  dbms: 'postgresql' | 'mysql';
  /** PostgreSQL: the database holding the schema; MySQL: the database. */
  database: string;
  schema: string;
  username: string;
  secret?: string;
  credentials: string;
  deployment?: string;
  envPrefix?: string;
  host: string;
  port: number;
  /** dbms-pod: dumped in the in-namespace DBMS pod; client-pod: from a client pod (external). */
  location: 'dbms-pod' | 'client-pod';
  format: 'pg_dump-plain' | 'mysqldump';
}

/**
 * A tenant's datasource naming the same host, port, database and schema as one dumped before it
 * (the primary's, or another tenant's): not dumped again, loaded once with that one.
 */
export interface SharedDatasource {
  owner: DataOwner;
  qualifier: string;
  username: string;
  /** The entry that holds the schema. */
  sameAs: string;
}

/** `components.databases`. */
export interface DatabasesSummary {
  datasources: (Omit<DatabaseEntryMeta, 'component'> & { entry: string; bytes: number })[];
  /** Tenants' datasources dumped once under another's entry; absent in older archives. */
  shared?: SharedDatasource[];
  /** Derby/H2 datasources, copied as files by the files component. */
  embedded: { owner: DataOwner; qualifier: string; engine: string }[];
}

/** Where a volume was read: the server's own pod, or a short-lived volume pod. */
export type FilesVia = 'app-pod' | 'volume-pod';

/** Per-entry facts a files restore needs. */
export interface FilesEntryMeta {
  component: 'files';
  owner: DataOwner;
  /** serverStatuses key: main (app engine), cm (component manager), server (a plugin). */
  qualifier: string;
  deployment: string;
  container: string;
  claimName: string;
  mountPath: string;
  /** The top-level directory under mountPath the tar holds (its only root). */
  dir: string;
  /** databases/ of an embedded owner: restored with the deployment scaled to 0. */
  embedded: boolean;
  via: FilesVia;
  format: 'tar';
  /**
   * Set when the directory was read as several tar streams (`--file-streams`): this entry's
   * number (1-based) and how many there are. Stream 1 holds the root, every directory and
   * symlink; the others regular files only (see components/files/split.ts). Absent: the one
   * tar of the tree.
   */
  stream?: number;
  streams?: number;
  /**
   * Set on the trees of a CDS volume (owner: its Deployment, `tenant` the first tenant it
   * serves): restored in the cds-files phase, not into an Entando server's volume.
   */
  cds?: CdsVolumeFacts;
}

/** Where a CDS volume's trees came from (components/files/cds-backup.ts). */
export interface CdsVolumeFacts {
  /** The source namespace of its Service, Deployment and PVC. */
  namespace: string;
  service: string;
  /** The tenant codes it serves ('primary': the app's own), several when shared. */
  tenants: string[];
}

/** One CDS volume as backed up: per tree, the tar's bytes and the files in it. */
export interface CdsFilesSummary extends CdsVolumeFacts {
  deployment: string;
  claimName: string;
  /** The PVC's size at backup. */
  capacity?: string;
  via: FilesVia;
  /** The node the reading pod was pinned to (the running CDS pod's: the volume is RWO). */
  node?: string;
  dirs: {
    dir: string;
    entry: string;
    bytes: number;
    files: number;
    fileBytes: number;
    stream?: number;
  }[];
  missing: string[];
}

/** `components.files`. */
export interface FilesSummary {
  volumes: {
    owner: DataOwner;
    qualifier: string;
    claimName: string;
    via: FilesVia;
    dirs: { dir: string; entry: string; bytes: number; stream?: number }[];
    missing: string[];
  }[];
  /** CDS volumes (tenants' files); absent in archives of versions that did not carry them. */
  cds?: CdsFilesSummary[];
  /** Tenants whose CDS could not be found, left out with --primary-tenant-only. */
  cdsLeftOut?: { tenant: string; message: string }[];
}

/** What a realm export counted. */
export interface RealmCounts {
  realm?: string;
  id?: string;
  keycloakVersion?: string;
  users: number;
  /** Users that are a client's service account (the live users/count leaves them out). */
  serviceAccounts: number;
  federatedUsers: number;
  clients: number;
  groups: number;
  realmRoles: number;
  clientRoles: number;
  clientScopes: number;
  identityProviders: number;
  keyProviders: number;
}

/** What the manifest says about the app's Keycloak (`components.keycloak`). */
export interface KeycloakSummary {
  /** realm: exported; external: not ours to export; skipped: --keycloak skip; none: no Keycloak found. */
  mode: 'realm' | 'external' | 'skipped' | 'none';
  reason?: string;
  server?: ObjectRef;
  realm: string;
  keycloakVersion?: string;
  counts?: RealmCounts;
  /** Locales of the realm's localization texts, carried over REST (not in a ≤21 export). */
  locales?: string[];
  realmEntry?: string;
  localizationEntry?: string;
  /** The source Keycloak's public URL (for --keycloak keep: the restored app's external one). */
  frontEndUrl?: string;
  /** Its master admin credentials (for --keycloak keep), in the encrypted archive only. */
  adminEntry?: string;
  /**
   * The secondary tenants' realms (`kcRealm` of ENTANDO_TENANTS), one per distinct realm;
   * absent in archives of versions that did not carry them, and for single-tenant apps.
   */
  tenantRealms?: TenantRealmSummary[];
}

/**
 * One secondary tenants' realm. realm: exported with full fidelity beside the app's (same
 * Keycloak, same run); app-realm: the tenants use the app's own realm (nothing more to carry);
 * not-carried: `reason` says why (another Keycloak than the app's, --keycloak skip...).
 */
export interface TenantRealmSummary {
  /** The tenant codes whose kcRealm it is (tenants may share a realm). */
  tenants: string[];
  realm: string;
  mode: 'realm' | 'app-realm' | 'not-carried';
  reason?: string;
  counts?: RealmCounts;
  locales?: string[];
  realmEntry?: string;
  localizationEntry?: string;
}

/** One bundle as the source's component manager knew it. */
export interface RecordedBundle {
  /** The CM's id: the EntandoDeBundle's name. */
  code: string;
  title?: string;
  /** Where its EntandoDeBundle lives (app namespace or a componentRepositoryNamespace). */
  namespace?: string;
  repoUrl?: string;
  installed: boolean;
  /** installedJob.componentVersion: what a restore reinstalls. */
  version?: string;
  lastJobStatus?: string;
  plugins: { pluginCode: string; pluginName?: string }[];
}

/** `components.bundles`. */
export interface BundlesSummary {
  /** false: the CM could not be asked (see reason); a restore then restores CRs as objects. */
  recorded: boolean;
  reason?: string;
  postInit?: string;
  bundles: RecordedBundle[];
  /**
   * Entando 7.3: each secondary tenant's bundles, asked of the CM with `X-ENTANDO-TENANTCODE`
   * and a token of the tenant's realm. Absent: the app has no tenants (or an older archive).
   */
  tenants?: TenantBundles[];
  /** Why no tenant's bundles were recorded though the app has tenants (7.2: the CM has none). */
  tenantsReason?: string;
}

/** One secondary tenant's bundles, as the component manager lists them for it. */
export interface TenantBundles {
  tenant: string;
  /** false: the CM could not be asked for this tenant (see reason). */
  recorded: boolean;
  reason?: string;
  bundles: RecordedBundle[];
}

/** Per-entry facts of the realm export, its localization texts and the admin credentials. */
export interface KeycloakEntryMeta {
  component: 'keycloak';
  kind: 'realm-export' | 'localization' | 'admin-credentials';
  realm?: string;
}

/** The facts a component keeps on one of its entries, told apart by `component`. */
export type EntryMeta = DatabaseEntryMeta | FilesEntryMeta | KeycloakEntryMeta;

/**
 * The entry's facts if the component named wrote it (an entry of another component, or of a
 * foreign archive, gives undefined).
 */
export function metaOf<C extends EntryMeta['component']>(
  entry: { meta?: EntryMeta },
  component: C,
): Extract<EntryMeta, { component: C }> | undefined {
  const meta = entry.meta;
  return meta?.component === component ? (meta as Extract<EntryMeta, { component: C }>) : undefined;
}
