import path from 'node:path';
import type { EncryptionKeys } from '../archive/encryption.js';
import { newManifest, type Manifest } from '../archive/manifest.js';
import { ArchiveWriter } from '../archive/writer.js';
import { FileLocation } from '../storage/file.js';
import { archiveNameProblem, type ArchiveLocation, type ArchiveRef } from '../storage/location.js';
import { COMPONENTS } from '../components/index.js';
import {
  DEFAULT_BACKUP_OPTIONS,
  type BackupAccessContext,
  type BackupContext,
  type BackupOptions,
  type Component,
} from '../components/component.js';
import { estimateStreams } from './estimate.js';
import { resumeInterrupted, ScaleGuard } from '../kube/scale.js';
import { Limiter } from '../util/limit.js';
import { whenAborted } from '../util/abort.js';
import { appDeployments } from '../components/resources/deployments.js';
import { findApp } from '../components/resources/find-app.js';
import { ENTANDO_API, IMAGE_INFO } from '../entando/kinds.js';
import { entandoFact, entandoVersion } from '../entando/release-versions.js';
import { readTenants, tenancyLoss, type TenancyFacts } from '../entando/tenants.js';
import { discoverTenantRealms, tenantRealmsLost } from '../components/keycloak/tenant-realms.js';
import type { TenantRealmSummary } from '../contract/manifest.js';
import { missingAccess, type AccessNeed } from '../kube/access.js';
import { AppLock, lockNeeds } from '../kube/app-lock.js';
import type { KubeObject } from '../kube/object.js';
import { OperationError, UserError } from '../errors.js';
import { KubeClient, apiErrorMessage } from '../kube/client.js';
import type { ResolvedKube } from '../kube/kubeconfig.js';
import type { Output } from '../report/output.js';
import { Results } from '../report/results.js';
import { TOOL } from '../version.js';

export interface BackupRequest {
  kube: ResolvedKube;
  appName?: string;
  /**
   * Destination: a path or a location (an S3 object); a directory or a prefix ending in `/`
   * gets the default name `<app>-<namespace>-<UTC timestamp>.tar[.age]`; default the cwd.
   */
  file?: ArchiveRef;
  /** Undefined: a plain tar (the user asked for --no-encrypt). */
  keys: EncryptionKeys | undefined;
  output: Output;
  signal: AbortSignal;
  components?: readonly Component[];
  options?: Partial<BackupOptions>;
  now?: Date;
  /** Called once every check passed, just before the archive is created (e.g. a warning). */
  beforeWrite?: () => void;
}

export interface BackupOutcome {
  /** Where the archive is (a path, or s3://bucket/key). */
  file: string;
  manifest: Manifest;
  results: Results;
  encryption: string;
}

export async function runBackup(req: BackupRequest): Promise<BackupOutcome> {
  const kube = new KubeClient(req.kube.config);
  const ns = req.kube.namespace;
  const options = { ...DEFAULT_BACKUP_OPTIONS, ...req.options };
  const components = req.components ?? COMPONENTS;
  const where = `context ${req.kube.contextName}`;
  const base = destination(req);
  const named = base.named('-');
  if (named === base) {
    const problem = archiveNameProblem(base.name, !!req.keys);
    if (problem) throw new UserError(problem);
  }
  // What the app's namespace needs is checked before the app is even read; what its other
  // namespaces (bundle repositories, Keycloak) need once it is.
  const unknownApp: KubeObject = {
    apiVersion: ENTANDO_API,
    kind: 'EntandoApp',
    metadata: { name: '' },
  };
  await refuseMissingAccess(kube, components, { namespace: ns, app: unknownApp, options }, where);
  const app = await findApp(kube, ns, req.appName);
  await refuseMissingAccess(kube, components, { namespace: ns, app, options }, where);
  const appName = app.metadata.name;
  const tenancy = await readTenants(kube, app);
  // The tenants' realms in the app's Keycloak are exported with its realm; the others are lost.
  const tenantRealms = components.some((c) => c.name === 'keycloak')
    ? await discoverTenantRealms(kube, app, tenancy.configs, options.keycloak)
    : undefined;
  refuseTenancyLoss(tenancy.facts, tenantRealms, `${ns}/${appName}`, options, req.output);
  // Two backups of one app, or a backup while a restore writes it: the second is refused.
  const lock = await AppLock.acquire(kube, ns, appName, 'backup');
  try {
    return await backupLocked(req, kube, app, options, components);
  } finally {
    await lock.release();
  }
}

async function backupLocked(
  req: BackupRequest,
  kube: KubeClient,
  app: KubeObject,
  options: BackupOptions,
  components: readonly Component[],
): Promise<BackupOutcome> {
  const ns = req.kube.namespace;
  const appName = app.metadata.name;
  const now = req.now ?? new Date();
  const location = destination(req).named(defaultFileName(appName, ns, now, !!req.keys));
  const file = location.name;
  const imageInfo = await kube.get({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ns,
    name: IMAGE_INFO,
  });
  const imageData = imageInfo?.data as Record<string, string> | undefined;
  const manifest = newManifest(
    TOOL,
    {
      server: req.kube.server,
      context: req.kube.contextName,
      namespace: ns,
      app: appName,
      entandoVersion: entandoVersion(imageData),
    },
    now,
  );
  // Keycloak's and the DBMS's are added by their components.
  manifest.versions = { entando: entandoFact(imageData, `ConfigMap ${ns}/${IMAGE_INFO}`) };
  const results = new Results();
  const progress = req.output.streamProgress();
  const encryptor = req.keys ? await req.keys.encryptor() : undefined;
  const sink = await location.create();
  req.beforeWrite?.();
  const writer = await ArchiveWriter.create(sink, manifest, { encryptor }).catch(
    async (err: unknown) => {
      await sink.abort();
      throw err;
    },
  );
  const guard = new ScaleGuard(kube, (m) => req.output.progress(m));
  const stopWatching = whenAborted(
    req.signal,
    () => void writer.abort(new OperationError('interrupted')),
  );
  try {
    const deployments = await appDeployments(kube, app);
    // Before any scale-down: the sizes are read in the running pods.
    await estimateStreams(kube, app, options, progress, req.signal);
    const streams = new Limiter(options.parallel);
    const context = {
      options,
      streams,
      progress,
      kube,
      namespace: ns,
      app,
      archive: writer,
      results,
      output: req.output,
      signal: req.signal,
    };
    if (options.quiesce) {
      await readWhileRunning(components, context);
      // Honours what an earlier, killed run recorded: the original replicas, not today's 0.
      req.output.progress('quiescing: scaling the app and its plugins to 0');
      await guard.scaleDown(ns, deployments);
    } else {
      await undoLeftScaleDown(kube, ns, deployments, guard, req.output);
      await readWhileRunning(components, context);
    }
    const running = components.map((component) =>
      component.backup(context).catch((err: unknown) => {
        throw asOperationError(component, err);
      }),
    );
    const settled = await Promise.allSettled(running);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (!results.ok)
      throw new OperationError(
        `backup failed: ${results.errors.map((e) => `${e.where}: ${e.message}`).join('; ')}`,
      );
    manifest.warnings = results.warnings.map((w) => `${w.where}: ${w.message}`);
    await writer.commit();
  } catch (err) {
    await writer.abort(err instanceof Error ? err : new Error(String(err)));
    if (req.signal.aborted) throw new OperationError('backup interrupted: no archive was written');
    if (err instanceof UserError || err instanceof OperationError) throw err;
    throw new OperationError(`backup failed: ${apiErrorMessage(err)}`, { cause: err });
  } finally {
    progress.stop();
    stopWatching();
    if (guard.active) {
      req.output.progress('scaling the app and its plugins back');
      await guard.restore();
    }
  }
  return { file, manifest, results, encryption: req.keys?.description ?? 'none' };
}

function asOperationError(component: Component, err: unknown): Error {
  return err instanceof UserError || err instanceof OperationError
    ? err
    : new OperationError(`${component.name}: ${apiErrorMessage(err)}`, { cause: err });
}

/** What components read while the app runs (before --quiesce scales it down), one at a time. */
async function readWhileRunning(
  components: readonly Component[],
  context: BackupContext,
): Promise<void> {
  for (const component of components) {
    await component.beforeQuiesce?.(context).catch((err: unknown) => {
      throw asOperationError(component, err);
    });
  }
}

/**
 * Every permission a backup of `ctx.app` needs: the app lock's and each component's. The
 * preflight checks them; a schedule's Role grants exactly them.
 */
export function backupAccessNeeds(
  ctx: BackupAccessContext,
  components: readonly Component[] = COMPONENTS,
): AccessNeed[] {
  return [...lockNeeds(ctx.namespace), ...components.flatMap((c) => c.backupAccess(ctx))];
}

/** Every permission the components need that the user lacks, in one refusal (exit 2). */
async function refuseMissingAccess(
  kube: KubeClient,
  components: readonly Component[],
  ctx: BackupAccessContext,
  where: string,
): Promise<void> {
  const lines = await missingAccess(kube, backupAccessNeeds(ctx, components), where);
  if (lines.length > 0) {
    throw new UserError(`backup refused before reading anything: ${lines.join('; ')}`);
  }
}

/**
 * A --quiesce run that was killed outright (no chance to undo) leaves the app at 0 with the
 * original replicas in an annotation: a live backup puts them back first and waits for them.
 */
async function undoLeftScaleDown(
  kube: KubeClient,
  ns: string,
  deployments: string[],
  guard: ScaleGuard,
  output: Output,
): Promise<void> {
  const undone = await resumeInterrupted(kube, ns, (m) => output.progress(m), deployments);
  for (const s of undone) await guard.waitForPods(ns, s.name, s.replicas, 300_000);
}

/**
 * This version carries a multi-tenant app's primary tenant, its secondary tenants' schemas, their
 * realms in the app's Keycloak and every CDS volume found: what is still lost (realms elsewhere,
 * or what a caller turned off) is refused before anything is written, unless asked for (then a
 * warning), so that no archive silently lacks tenants' data. A tenant whose CDS cannot be found
 * is refused or left out by the files component (components/files/cds-backup.ts). Exported for
 * tests.
 */
export function refuseTenancyLoss(
  facts: TenancyFacts,
  tenantRealms: TenantRealmSummary[] | undefined,
  app: string,
  options: BackupOptions,
  output: Output,
): void {
  const schemas = options.tenantSchemas !== false;
  const cdsFiles = options.tenantCdsFiles !== false;
  const realmsLost = tenantRealms && tenantRealmsLost(tenantRealms);
  const loss = tenancyLoss(facts, { schemas, cdsFiles, realmsLost });
  if (!loss) return;
  if (options.primaryTenantOnly) {
    output.warn(
      `EntandoApp ${app} is multi-tenant: not in this archive (--primary-tenant-only): ${loss}`,
    );
    return;
  }
  // What --primary-tenant-only backs up all the same: only what this backup really carries.
  const tenantsCarried = [
    ...(schemas ? ['schemas'] : []),
    ...(tenantRealms?.some((r) => r.mode !== 'not-carried')
      ? ["realms in the app's Keycloak"]
      : []),
  ];
  const rest = [
    "the primary tenant's databases, realm and /entando-data",
    ...(facts.tenants.length > 0 && tenantsCarried.length > 0
      ? [`the secondary tenants' ${tenantsCarried.join(' and ')}`]
      : []),
  ].join(', ');
  throw new UserError(
    `backup refused: EntandoApp ${app} is multi-tenant and this version does not carry ${loss}; pass --primary-tenant-only to back up the rest (${rest}${cdsFiles ? '; every CDS volume found' : ''}) without it`,
  );
}

/** Where the archive goes: a file or S3 object, or a folder for the default name (the cwd). */
function destination(req: BackupRequest): ArchiveLocation {
  return typeof req.file === 'string'
    ? new FileLocation(req.file)
    : (req.file ?? new FileLocation(`${process.cwd()}${path.sep}`));
}

/** `<app>-<namespace>-<UTC timestamp>.tar[.age]`: the name of a backup in its folder. */
export function defaultFileName(app: string, ns: string, now: Date, encrypted: boolean): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${app}-${ns}-${stamp}.tar${encrypted ? '.age' : ''}`;
}
