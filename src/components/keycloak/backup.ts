import { dataPath } from '../../archive/layout.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import type { EntryWriter } from '../../archive/writer.js';
import { readTenants } from '../../entando/tenants.js';
import { OperationError } from '../../errors.js';
import { refOf } from '../../kube/object.js';
import type { BackupContext } from '../component.js';
import type { KeycloakAdmin } from './admin.js';
import { exportCommand, sidePortOffset } from './side-server-scripts.js';
import { runSideServer } from './side-server.js';
import {
  connectKeycloak,
  frontEndUrl,
  locateKeycloak,
  realmOf,
  type KeycloakSession,
} from './locate.js';
import { UserMeter } from './user-meter.js';
import { RealmAssembler } from './realm-assembler.js';
import { exportRuns } from './export-runs.js';
import { discoverTenantRealms } from './tenant-realms.js';
import type { KeycloakSummary, RealmCounts, VersionFact } from '../../contract/manifest.js';
import { versionsOf } from '../../archive/manifest.js';

export type { KeycloakSummary } from '../../contract/manifest.js';
export { frontEndUrl };

export const COMPONENT = 'keycloak';

export type KeycloakBackupMode = 'realm' | 'skip';

export const realmEntryPath = (realm: string) => dataPath(COMPONENT, `${realm}-realm.json`);
export const localizationEntryPath = (realm: string) =>
  dataPath(COMPONENT, `${realm}-localization.json`);
export const ADMIN_ENTRY = dataPath(COMPONENT, 'admin-credentials.json');

export async function backupKeycloak(ctx: BackupContext): Promise<void> {
  const realm = realmOf(ctx.app);
  const summary: KeycloakSummary = { mode: 'none', realm };
  ctx.archive.manifest.components[COMPONENT] = summary;
  const versions = versionsOf(ctx.archive.manifest);
  const { configs } = await readTenants(ctx.kube, ctx.app);
  const tenantRealms = await discoverTenantRealms(ctx.kube, ctx.app, configs, ctx.options.keycloak);
  if (tenantRealms.length > 0) summary.tenantRealms = tenantRealms;
  if (ctx.options.keycloak === 'skip') {
    summary.mode = 'skipped';
    summary.reason = '--keycloak skip';
    versions.keycloak = { version: 'unknown', why: 'not read: --keycloak skip' };
    return;
  }
  const where = await locateKeycloak(ctx.kube, ctx.app);
  if (where.kind !== 'in-namespace') {
    summary.mode = where.kind;
    summary.reason = where.reason;
    if (where.kind === 'external') summary.server = refOf(where.server!);
    versions.keycloak = { version: 'unknown', why: `not read: ${where.reason}` };
    ctx.results.warn(
      'keycloak',
      `${where.reason}: realm ${realm} is not in this archive (no Keycloak pod to export it from); a restore keeps using that Keycloak, whose clients' secrets are in the archive`,
    );
    return;
  }
  summary.server = refOf(where.server);
  summary.frontEndUrl = frontEndUrl(where.server);
  const session = await connectKeycloak(ctx.kube, where).catch((err: Error) => {
    throw new OperationError(`${err.message}; or back up without the realm with --keycloak skip`);
  });
  try {
    await exportRealms(ctx, session, summary);
    await ctx.archive.addBuffer(ADMIN_ENTRY, Buffer.from(JSON.stringify(session.credentials)), {
      component: COMPONENT,
      kind: 'admin-credentials',
    });
    summary.adminEntry = ADMIN_ENTRY;
  } finally {
    await session.close();
  }
  summary.mode = 'realm';
}

/** What one exported realm is recorded with (the app's summary, or a tenant realm's). */
type RealmRecord = Pick<
  KeycloakSummary,
  'counts' | 'locales' | 'realmEntry' | 'localizationEntry'
> & { realm: string };

/**
 * The app's realm and its tenants' (those in this Keycloak), each with its localization texts,
 * exported with as few side-server runs as pay off (export-runs.ts); every realm's export is
 * checked against the live user count.
 */
async function exportRealms(
  ctx: BackupContext,
  session: KeycloakSession,
  summary: KeycloakSummary,
): Promise<void> {
  const where = `Keycloak ${session.namespace}/${session.pod}`;
  if (!(await session.admin.realmExists(summary.realm))) {
    throw new OperationError(
      `realm ${summary.realm} not found in ${where}: check spec.keycloakToUse.realm of the EntandoApp, or back up without the realm with --keycloak skip`,
    );
  }
  const tenants = (summary.tenantRealms ?? []).filter((t) => t.mode === 'realm');
  for (const t of tenants) {
    if (await session.admin.realmExists(t.realm)) continue;
    const reason = `no realm ${t.realm} in ${where}`;
    if (!ctx.options.primaryTenantOnly) {
      throw new OperationError(
        `${reason}, the kcRealm of tenant ${t.tenants.join(', ')} in ENTANDO_TENANTS: fix kcRealm, or back up without it with --primary-tenant-only`,
      );
    }
    ctx.results.warn(
      'keycloak',
      `${reason}: tenant ${t.tenants.join(', ')} has no realm in this archive (--primary-tenant-only)`,
    );
    t.mode = 'not-carried';
    t.reason = reason;
  }
  const records: RealmRecord[] = [summary, ...tenants.filter((t) => t.mode === 'realm')];
  const version = await serverVersion(session.admin, where);
  versionsOf(ctx.archive.manifest).keycloak = version;
  if (version.version !== 'unknown') summary.keycloakVersion = version.version;
  const liveUsers = new Map<string, number>();
  for (const r of records) {
    liveUsers.set(r.realm, await userCount(session.admin, r.realm));
    const localization = await readLocalization(session.admin, r.realm);
    r.locales = Object.keys(localization);
    const locEntry = localizationEntryPath(r.realm);
    await ctx.archive.addBuffer(locEntry, Buffer.from(JSON.stringify(localization)), {
      component: COMPONENT,
      realm: r.realm,
      kind: 'localization',
    });
    r.localizationEntry = locEntry;
  }
  const needed = records.map((r) => r.realm);
  const others = needed.length > 1 ? await otherRealms(session.admin, needed) : [];
  const runs = exportRuns(needed, others);
  for (const run of runs) {
    ctx.output.debug(
      `exporting realm${run.length > 1 ? 's' : ''} ${run.join(', ')} in ${where} (${run.map((r) => `${r}: ${liveUsers.get(r)} users`).join(', ')})`,
    );
    const exported = await ctx.streams.run(() =>
      streamExport(
        ctx,
        session,
        run,
        `keycloak realm${run.length > 1 ? 's' : ''} ${run.join(', ')}`,
        // A run of several realms exports every realm of the server (side-server-scripts.ts).
        [
          ...run.map((r) => liveUsers.get(r) ?? 0),
          ...(run.length > 1 ? others.map((o) => o.users) : []),
        ],
      ),
    );
    for (const r of records.filter((x) => run.includes(x.realm))) {
      const { entry, counts } = exported.get(r.realm)!;
      r.realmEntry = entry.path;
      r.counts = counts;
      if (counts.realm !== r.realm) {
        throw new OperationError(`${where}: the export does not hold realm ${r.realm}`);
      }
      // Keycloak has logged success for exports that missed users (keycloak#10617): count them.
      const users = counts.users - counts.serviceAccounts;
      if (users !== liveUsers.get(r.realm)) {
        throw new OperationError(
          `${where}: the export of realm ${r.realm} holds ${users} users, Keycloak counts ${liveUsers.get(r.realm)}: users changed during the export or Keycloak missed some; run the backup again`,
        );
      }
      ctx.output.debug(`realm ${r.realm}: ${JSON.stringify(counts)}`);
    }
  }
}

const userCount = (admin: KeycloakAdmin, realm: string) =>
  admin.get<number>(`/realms/${encodeURIComponent(realm)}/users/count`);

/** The server's realms not in `needed`, with their user counts (what a full export adds). */
async function otherRealms(
  admin: KeycloakAdmin,
  needed: string[],
): Promise<{ realm: string; users: number }[]> {
  const all = await admin.get<{ realm: string }[]>('/realms?briefRepresentation=true');
  const out: { realm: string; users: number }[] = [];
  for (const { realm } of all ?? []) {
    if (!needed.includes(realm)) out.push({ realm, users: await userCount(admin, realm) });
  }
  return out;
}

/** The server's own version (serverinfo); never a reason to fail the backup. */
export async function serverVersion(
  admin: Pick<KeycloakAdmin, 'serverVersion'>,
  where: string,
): Promise<VersionFact> {
  try {
    const version = await admin.serverVersion();
    if (version) return { version, from: `serverinfo of ${where}` };
    return { version: 'unknown', why: `serverinfo of ${where} names no version` };
  } catch (err) {
    return { version: 'unknown', why: `serverinfo of ${where}: ${(err as Error).message}` };
  }
}

/** Realm localization texts per locale (REST; a Keycloak ≤ 21 export leaves them out). */
async function readLocalization(
  admin: KeycloakAdmin,
  realm: string,
): Promise<Record<string, Record<string, string>>> {
  const r = `/realms/${encodeURIComponent(realm)}/localization`;
  const locales = (await admin.get<string[]>(r)) ?? [];
  const out: Record<string, Record<string, string>> = {};
  for (const locale of locales) {
    out[locale] =
      (await admin.get<Record<string, string>>(`${r}/${encodeURIComponent(locale)}`)) ?? {};
  }
  return out;
}

/** One side-server run exporting `realms`: each realm streamed into its own archive entry. */
async function streamExport(
  ctx: BackupContext,
  session: KeycloakSession,
  realms: string[],
  label: string,
  /** The users of each realm the run exports. */
  users: number[],
): Promise<Map<string, { entry: ManifestEntry; counts: RealmCounts }>> {
  const entries = new Map<string, EntryWriter>();
  let archiveError: Error | undefined;
  // The pages of the export become one realm JSON per realm on their way into its entry.
  const tee = new RealmAssembler((realm) => {
    const entry = ctx.archive.openEntry(
      realmEntryPath(realm),
      { component: COMPONENT, realm, kind: 'realm-export' },
      (n) => ctx.progress.add(label, n),
    );
    entry.on('error', (err) => (archiveError ??= err));
    entries.set(realm, entry);
    return entry;
  }, realms);
  const meter = new UserMeter(label.replace(/^keycloak /, 'keycloak: '), 'exported', (line) =>
    ctx.output.progress(line),
  );
  meter.expect(users.reduce((a, b) => a + b, 0));
  tee.onProgress = (n) => meter.update(n);
  try {
    await runSideServer({
      config: ctx.kube.config,
      target: { namespace: session.namespace, pod: session.pod, container: session.container },
      what: 'export',
      command: (runId) =>
        exportCommand({
          realms,
          portOffset: sidePortOffset(),
          heap: ctx.options.keycloakHeap ?? '512m',
          timeoutSeconds: ctx.options.keycloakTimeoutSeconds ?? 1800,
          runId,
          largestRealmUsers: Math.max(0, ...users),
        }),
      stdout: tee,
      signal: ctx.signal,
      label,
      results: ctx.results,
    });
  } catch (err) {
    tee.destroy();
    // The archive gave up first (and the exec was stopped for it): its reason is the real one.
    throw archiveError ?? err;
  }
  if (archiveError) throw archiveError;
  const out = new Map<string, { entry: ManifestEntry; counts: RealmCounts }>();
  for (const realm of realms) {
    const entry = entries.get(realm)?.entry;
    if (!entry) throw new OperationError(`${label}: the export does not hold realm ${realm}`);
    out.set(realm, { entry, counts: tee.countsOf(realm) });
  }
  ctx.progress.finish(label);
  return out;
}
