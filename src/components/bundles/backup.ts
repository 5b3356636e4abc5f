import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject } from '../../kube/object.js';
import type { BackupContext } from '../component.js';
import type { BundlesSummary, RecordedBundle, TenantBundles } from '../../contract/manifest.js';
import { readTenants, type TenantConfig } from '../../entando/tenants.js';
import { CmHttpError, UNFINISHED_STATUSES, type CmBundle, type CmJob } from './cm-client.js';
import { CmUnavailable, connectCm, type CmSession } from './connect.js';

export const COMPONENT = 'bundles';
export const BOOTSTRAP_BUNDLE = 'entando-epc-bootstrap';

export type { BundlesSummary, RecordedBundle, TenantBundles } from '../../contract/manifest.js';

/** The installed bundles, the bootstrap bundle first (post-init installs it first too). */
export function installedBundles(summary: Pick<BundlesSummary, 'bundles'>): RecordedBundle[] {
  const installed = summary.bundles.filter((b) => b.installed && b.version);
  return [...installed.filter(isBootstrap), ...installed.filter((b) => !isBootstrap(b))];
}

/** The post-init bundle: code `entando-epc-bootstrap-<bundleId>` (v5), or the bare name. */
export function isBootstrap(b: Pick<RecordedBundle, 'code'>): boolean {
  return b.code === BOOTSTRAP_BUNDLE || b.code.startsWith(`${BOOTSTRAP_BUNDLE}-`);
}

/** The secondary tenants whose bundles were recorded (7.3). */
export function recordedTenants(summary: BundlesSummary | undefined): TenantBundles[] {
  return (summary?.tenants ?? []).filter((t) => t.recorded);
}

/**
 * Names of the EntandoPlugins the installed bundles made, the primary's and the tenants'
 * (whose names carry the tenant's hash): a reinstall makes them again.
 */
export function bundlePluginNames(summary: BundlesSummary | undefined): string[] {
  if (!summary?.recorded) return [];
  const all = [summary, ...recordedTenants(summary)].flatMap(installedBundles);
  return [...new Set(all.flatMap((b) => b.plugins.map((p) => p.pluginCode)))];
}

/** Names of the EntandoPlugins the secondary tenants' installed bundles made (7.3). */
export function tenantPluginNames(summary: BundlesSummary | undefined): string[] {
  if (!summary?.recorded) return [];
  const all = recordedTenants(summary).flatMap(installedBundles);
  return [...new Set(all.flatMap((b) => b.plugins.map((p) => p.pluginCode)))];
}

/**
 * Whose bundles to ask the CM for besides the primary's: every secondary tenant when the app is
 * 7.3 (its tenants carry the CM's client, deKcClientId); none, with why, for 7.2 tenants, whose
 * component manager has no tenants (TENANTS.md §6).
 */
export function tenantsToRecord(configs: TenantConfig[]): {
  tenants: TenantConfig[];
  reason?: string;
} {
  if (configs.length === 0) return { tenants: [] };
  if (configs.some((t) => t.fields.deKcClientId?.trim())) return { tenants: configs };
  return {
    tenants: [],
    reason: `no tenant bundles: tenant${configs.length > 1 ? 's' : ''} ${configs.map((t) => t.code).join(', ')} carr${configs.length > 1 ? 'y' : 'ies'} no deKcClientId, as in Entando 7.2, whose component manager serves the primary tenant only`,
  };
}

/**
 * Records what the component manager has installed: per bundle its code, CR namespace, repo
 * URL, installed version, last job status and plugins. A CM that is missing or not ready is a
 * warning (the rest of the backup goes on; the archive says the bundles were not recorded); an
 * unfinished job refuses the backup unless allowed, since the restored dedb would block that
 * bundle's installs with 409.
 */
export async function backupBundles(ctx: BackupContext): Promise<void> {
  const summary: BundlesSummary = { recorded: false, bundles: [] };
  ctx.archive.manifest.components[COMPONENT] = summary;
  let unfinished: string | undefined;
  try {
    const session = await connectCm(ctx.kube, ctx.app);
    try {
      const listed = await session.cm.components().catch((err: unknown) => {
        throw describeCallError(err, session);
      });
      const namespaces = bundleNamespaces(ctx.app);
      const bundles: RecordedBundle[] = [];
      for (const b of listed) bundles.push(await recordBundle(ctx.kube, session, b, namespaces));
      summary.postInit = await session.cm.postInitStatus().catch(() => undefined);
      const jobs = await session.cm.jobs().catch(() => [] as CmJob[]);
      unfinished = unfinishedJobs(listed, jobs);
      summary.bundles = bundles;
      summary.recorded = true;
      const tenantsUnfinished = await recordTenants(ctx, session, summary, namespaces);
      if (tenantsUnfinished)
        unfinished = [unfinished, tenantsUnfinished].filter(Boolean).join(', ');
    } finally {
      await session.close();
    }
  } catch (err) {
    // The rest of the app is backed up all the same; a restore restores the CRs as objects.
    const why = err instanceof CmUnavailable ? err.message : (err as Error).message;
    summary.reason = why;
    ctx.results.warn(
      COMPONENT,
      `bundles not recorded: ${why}; a restore will restore the EntandoDeBundles and plugins as objects only`,
    );
    return;
  }
  if (unfinished) refuseUnfinished(ctx, unfinished);
}

/**
 * Each secondary tenant's bundles (7.3), through the same CM with the tenant's header and a
 * token of its realm; a tenant that cannot be asked is recorded as such, with a warning.
 * Returns the tenants' unfinished jobs, listed, if any.
 */
async function recordTenants(
  ctx: BackupContext,
  session: CmSession,
  summary: BundlesSummary,
  namespaces: string[],
): Promise<string | undefined> {
  let configs: TenantConfig[];
  try {
    configs = (await readTenants(ctx.kube, ctx.app)).configs;
  } catch (err) {
    summary.tenantsReason = `tenants not read: ${(err as Error).message}`;
    ctx.results.warn(COMPONENT, `tenant bundles not recorded: ${summary.tenantsReason}`);
    return undefined;
  }
  const { tenants, reason } = tenantsToRecord(configs);
  if (reason) summary.tenantsReason = reason;
  if (tenants.length === 0) return undefined;
  summary.tenants = [];
  const unfinished: string[] = [];
  for (const t of tenants) {
    const entry: TenantBundles = { tenant: t.code, recorded: false, bundles: [] };
    summary.tenants.push(entry);
    try {
      const ts = session.forTenant(t);
      const listed = await ts.cm.components().catch((err: unknown) => {
        throw describeCallError(err, ts);
      });
      for (const b of listed) entry.bundles.push(await recordBundle(ctx.kube, ts, b, namespaces));
      const jobs = await ts.cm.jobs().catch(() => [] as CmJob[]);
      const u = unfinishedJobs(listed, jobs);
      if (u) unfinished.push(`tenant ${t.code}: ${u}`);
      entry.recorded = true;
    } catch (err) {
      entry.reason = (err as Error).message;
      ctx.results.warn(
        COMPONENT,
        `tenant ${t.code}'s bundles not recorded: ${entry.reason}; a restore does not reinstall them`,
      );
    }
  }
  return unfinished.length ? unfinished.join(', ') : undefined;
}

function bundleNamespaces(app: KubeObject): string[] {
  const others = (spec(app).componentRepositoryNamespaces as string[] | undefined) ?? [];
  return [app.metadata.namespace!, ...others.filter((n) => n !== app.metadata.namespace)];
}

async function recordBundle(
  kube: KubeClient,
  session: CmSession,
  b: CmBundle,
  namespaces: string[],
): Promise<RecordedBundle> {
  const installedJob = b.installedJob;
  const recorded: RecordedBundle = {
    code: b.code,
    installed: !!(b.installed ?? installedJob),
    plugins: [],
  };
  if (b.title) recorded.title = b.title;
  if (b.repoUrl) recorded.repoUrl = b.repoUrl;
  if (installedJob?.componentVersion) recorded.version = installedJob.componentVersion;
  const last = b.lastJob?.status ?? installedJob?.status;
  if (last) recorded.lastJobStatus = last;
  for (const ns of namespaces) {
    const cr = await kube.get({
      apiVersion: ENTANDO_API,
      kind: EntandoKind.Bundle,
      namespace: ns,
      name: b.code,
    });
    if (cr) {
      recorded.namespace = ns;
      break;
    }
  }
  if (recorded.installed && (b.componentTypes ?? ['plugin']).includes('plugin')) {
    recorded.plugins = await pluginsOf(session, b);
  }
  return recorded;
}

/**
 * plugin_data of a bundle, through `/bundles` (its bundleId) and `/bundles/{bundleId}/plugins`;
 * a CM without those endpoints: the PLUGIN component jobs of its installed job (`/jobs/{id}`).
 */
async function pluginsOf(session: CmSession, b: CmBundle): Promise<RecordedBundle['plugins']> {
  const fail = (err: unknown) => {
    throw describeCallError(err, session);
  };
  const data = await session.cm
    .call<{ payload?: { bundleId: string; bundleCode?: string }[] }>('GET', '/bundles')
    .catch((err: unknown) => (isNotFound(err) ? undefined : fail(err)));
  if (data) {
    const entry = (data.payload ?? []).find((d) => d.bundleCode === b.code);
    if (!entry) return [];
    const plugins = await session.cm
      .plugins(entry.bundleId)
      .catch((err: unknown) => (isNotFound(err) ? [] : fail(err)));
    return plugins.map((p) => ({
      pluginCode: p.pluginCode,
      ...(p.pluginName ? { pluginName: p.pluginName } : {}),
    }));
  }
  if (!b.installedJob?.id) return [];
  const job = await session.cm
    .call<{ payload?: { componentJobs?: { type?: string; componentId?: string }[] } }>(
      'GET',
      `/jobs/${encodeURIComponent(b.installedJob.id)}`,
    )
    .catch(fail);
  const codes = (job?.payload?.componentJobs ?? [])
    .filter((c) => c.type === 'PLUGIN' && c.componentId)
    .map((c) => c.componentId!);
  return [...new Set(codes)].map((pluginCode) => ({ pluginCode }));
}

function isNotFound(err: unknown): boolean {
  return err instanceof CmHttpError && err.status === 404;
}

/** Bundles with an unfinished job (`GET /jobs`, or their last job), listed; undefined: none. */
function unfinishedJobs(listed: CmBundle[], jobs: CmJob[]): string | undefined {
  const unfinished = new Map<string, string>();
  for (const j of jobs) {
    if (UNFINISHED_STATUSES.includes(j.status)) {
      unfinished.set(j.componentId ?? j.id, `${j.status} (job ${j.id})`);
    }
  }
  for (const b of listed) {
    const s = b.lastJob?.status;
    if (s && UNFINISHED_STATUSES.includes(s) && !unfinished.has(b.code)) {
      unfinished.set(b.code, `${s} (job ${b.lastJob!.id})`);
    }
  }
  if (unfinished.size === 0) return undefined;
  return [...unfinished].map(([code, what]) => `${code} ${what}`).join(', ');
}

function refuseUnfinished(ctx: BackupContext, list: string): void {
  const why =
    'the restored component manager database would keep these jobs unfinished and refuse every later install of those bundles (409)';
  if (ctx.options.allowUnfinishedBundleJobs) {
    ctx.results.warn(COMPONENT, `unfinished bundle jobs: ${list}: ${why}`);
    return;
  }
  throw new OperationError(
    `bundles: unfinished bundle jobs: ${list}: ${why}; wait for them to finish and back up again, or pass --allow-unfinished-bundle-jobs`,
  );
}

/** A CM call that failed at backup time, said with what to fix. */
export function describeCallError(err: unknown, session: CmSession): Error {
  if (err instanceof CmHttpError && err.status === 401) {
    return new OperationError(
      `the component manager refused the token of client ${session.clientId} (${err.message}): check that secret ${session.secretName} matches that client in the app's realm`,
    );
  }
  if (err instanceof CmHttpError && err.status === 403) {
    return new OperationError(
      `client ${session.clientId} may not read the component manager (${err.message}): its service account needs the app client's superuser role`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
