import type { ArchiveWriter } from '../archive/writer.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import type { Output } from '../report/output.js';
import type { Results } from '../report/results.js';
import type { RestoreChoices, RestoreMapping } from './mapping.js';
import type { PlanStep } from './plan.js';
import type { Manifest } from '../archive/manifest.js';
import type { ArchiveSource } from '../archive/entry-stream.js';
import type { StreamProgress } from '../report/progress.js';
import type { Limiter } from '../util/limit.js';
import type { AccessNeed } from '../kube/access.js';
import type { HeaderCheckOutcome } from './tree-check.js';
import type { ScaleWindows } from './scale-window.js';

/** What every component's backup sees. */
/** Choices of the user that shape a backup. */
export interface BackupOptions {
  /** Scale the app and plugins to 0 for a point-in-time copy (always scaled back). */
  quiesce: boolean;
  /** Independent streams (schemas, file trees) run at most this many at once. */
  parallel: number;
  /** Also copy entando-indices (Lucene; rebuildable). */
  includeIndices: boolean;
  /**
   * A large files tree is read as up to this many concurrent tar streams, split by size (each
   * one archive entry; see components/files/split.ts). 1: one tar per tree.
   */
  fileStreams?: number;
  /** Image of the short-lived pod that dumps an external database (default per DBMS). */
  dbClientImage?: string;
  /** Image of the short-lived pod that reads a volume of a scaled-down server (has tar). */
  volumePodImage?: string;
  /** realm: export the app's realm with full fidelity (default); skip: leave it out. */
  keycloak: 'realm' | 'skip';
  /** -Xmx of the realm export JVM started in the Keycloak pod (default 512m). */
  keycloakHeap?: string;
  /** Time limit of the realm export (default 1800 s). */
  keycloakTimeoutSeconds?: number;
  /** Back up even while a bundle job is unfinished (a warning instead of a refusal). */
  allowUnfinishedBundleJobs?: boolean;
  /**
   * Back up a multi-tenant app without what is not carried of its secondary tenants (their realms
   * on another Keycloak than the app's; the CDS files of a tenant whose CDS cannot be found): a
   * warning instead of a refusal. Their schemas, realms in the app's Keycloak and CDS files are
   * carried all the same.
   */
  primaryTenantOnly?: boolean;
  /**
   * Dump the secondary tenants' schemas (from ENTANDO_TENANTS) with the app's. Internal, no
   * flag: on unless a caller turns it off (then the refusal counts the schemas as lost).
   */
  tenantSchemas?: boolean;
  /**
   * Carry the CDS volumes of the tenants (and of the primary with CDS_ENABLED=true). Internal,
   * no flag: on unless a caller turns it off (then the refusal counts the CDS files as lost).
   */
  tenantCdsFiles?: boolean;
}

export const DEFAULT_BACKUP_OPTIONS: BackupOptions = {
  quiesce: false,
  parallel: 4,
  includeIndices: false,
  keycloak: 'realm',
  tenantSchemas: true,
  tenantCdsFiles: true,
};

export interface BackupContext {
  options: BackupOptions;
  /**
   * The --parallel bound, shared by all components (they run concurrently): wrap each
   * independent stream (one schema dump, one file tree) in `streams.run(...)`.
   */
  streams: Limiter;
  /** Streams report bytes here; shown as progress on a terminal. */
  progress: StreamProgress;
  kube: KubeClient;
  namespace: string;
  app: KubeObject;
  archive: ArchiveWriter;
  results: Results;
  output: Output;
  signal: AbortSignal;
}

/** The archive's content as a restore plans from it: manifest plus the captured objects. */
export interface LoadedArchive extends ArchiveSource {
  manifest: Manifest;
  objects: KubeObject[];
  /** Tar header checks of the files trees made by the verifying pass, by entry path. */
  headerChecks?: Map<string, HeaderCheckOutcome>;
}

/** What to do with an object that already exists in the target. */
export type ExistingPolicy = 'fail' | 'skip' | 'update';

export interface PlanContext {
  /** Independent data streams run at most this many at once. */
  parallel: number;
  archive: LoadedArchive;
  existing: ExistingPolicy;
  mapping: RestoreMapping;
  target: KubeClient;
  results: Results;
  /** Image of the short-lived pod that loads an external database (default per DBMS). */
  dbClientImage?: string;
  /** Image of the short-lived pod that writes a volume of a scaled-down server (has tar). */
  volumePodImage?: string;
  /** How long a step waits for the operator to make what it builds on (default 600 s). */
  waitTimeoutMs?: number;
  /** Where this machine reaches the source's Keycloak (--keycloak keep). */
  keycloakUrl?: string;
  /** The scale-downs an owner's data steps share (databases and files at once). */
  windows: ScaleWindows;
}

/**
 * One part of an application's backup: Kubernetes objects now; databases, files, Keycloak and
 * bundles later. The orchestrators loop over components without knowing what they are: each
 * writes its entries (and a summary in the manifest) and turns them back into plan steps.
 */
export interface Component {
  readonly name: string;
  /**
   * Writes the component's entries. All components' backups run concurrently; a data stream
   * runs inside ctx.streams.run(). With --quiesce the app's and plugins' deployments are
   * already at 0 replicas (read volumes through a short-lived pod, not the app's pod).
   */
  backup(ctx: BackupContext): Promise<void>;
  /**
   * Reads what needs the app running, before --quiesce scales it down (e.g. the component
   * manager's API); runs before every backup(), one component at a time.
   */
  beforeQuiesce?(ctx: BackupContext): Promise<void>;
  plan(ctx: PlanContext): Promise<PlanStep[]>;
  /** What its backup reads, execs into or changes, checked before anything is read. */
  backupAccess(ctx: BackupAccessContext): AccessNeed[];
  /** What its restore reads and writes in the target, checked before any change. */
  restoreAccess(ctx: Pick<PlanContext, 'archive' | 'mapping' | 'existing'>): AccessNeed[];
  /**
   * Its part of the restore mapping, from the user's choices and the archive (e.g. what happens
   * to the realm); throws a UserError for a choice the archive cannot honour. Components are
   * asked in order, before any plan.
   */
  restoreMapping?(archive: LoadedArchive, choices: RestoreChoices): Partial<RestoreMapping>;
  /**
   * Reads its entries during the verifying pass of a restore that will run (not a dry run), so
   * that its steps need not read them once more (e.g. the tar headers of the files trees).
   */
  archivePass?(): ArchivePass;
}

/** A component's share of the verifying pass (`Component.archivePass`). */
export interface ArchivePass {
  /** Feeds one member of the pass, in order; true when it took the body (no one else reads it). */
  visit(path: string, body: AsyncIterable<Buffer>): Promise<boolean>;
  /** Once every member was verified: what it found, kept on the loaded archive. */
  finish(): Promise<Partial<Pick<LoadedArchive, 'headerChecks'>>>;
}

export interface BackupAccessContext {
  namespace: string;
  app: KubeObject;
  options: BackupOptions;
}
