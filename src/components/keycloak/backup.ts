import { Writable } from 'node:stream';
import { dataPath } from '../../archive/layout.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { serverStatuses } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import { refOf, type KubeObject } from '../../kube/object.js';
import type { BackupContext } from '../component.js';
import type { KeycloakAdmin } from './admin.js';
import { exportCommand, sidePortOffset } from './side-server-scripts.js';
import { runSideServer } from './side-server.js';
import { connectKeycloak, locateKeycloak, realmOf, type KeycloakSession } from './locate.js';
import { RealmAssembler } from './realm-assembler.js';
import type { KeycloakSummary, VersionFact } from '../../contract/manifest.js';
import { versionsOf } from '../../archive/manifest.js';

export type { KeycloakSummary } from '../../contract/manifest.js';

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
    await exportRealm(ctx, session, realm, summary);
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

async function exportRealm(
  ctx: BackupContext,
  session: KeycloakSession,
  realm: string,
  summary: KeycloakSummary,
): Promise<void> {
  const where = `Keycloak ${session.namespace}/${session.pod}`;
  if (!(await session.admin.realmExists(realm))) {
    throw new OperationError(
      `realm ${realm} not found in ${where}: check spec.keycloakToUse.realm of the EntandoApp, or back up without the realm with --keycloak skip`,
    );
  }
  const version = await serverVersion(session.admin, where);
  versionsOf(ctx.archive.manifest).keycloak = version;
  if (version.version !== 'unknown') summary.keycloakVersion = version.version;
  const liveUsers = await session.admin.get<number>(
    `/realms/${encodeURIComponent(realm)}/users/count`,
  );
  const localization = await readLocalization(session.admin, realm);
  summary.locales = Object.keys(localization);
  const locEntry = localizationEntryPath(realm);
  await ctx.archive.addBuffer(locEntry, Buffer.from(JSON.stringify(localization)), {
    component: COMPONENT,
    realm,
    kind: 'localization',
  });
  summary.localizationEntry = locEntry;

  ctx.output.debug(`exporting realm ${realm} in ${where} (${liveUsers} users)`);
  let assembler: RealmAssembler | undefined;
  const entry = await ctx.streams.run(() =>
    streamExport(
      ctx,
      session,
      realm,
      (out) => (assembler = new RealmAssembler(out, realm)),
      `keycloak realm ${realm}`,
    ),
  );
  const scanner = assembler!;
  summary.realmEntry = entry.path;
  summary.counts = scanner.counts;
  if (scanner.counts.realm !== realm) {
    throw new OperationError(`${where}: the export does not hold realm ${realm}`);
  }
  // Keycloak has logged success for exports that missed users (keycloak#10617): count them.
  const exported = scanner.counts.users - scanner.counts.serviceAccounts;
  if (exported !== liveUsers) {
    throw new OperationError(
      `${where}: the export of realm ${realm} holds ${exported} users, Keycloak counts ${liveUsers}: users changed during the export or Keycloak missed some; run the backup again`,
    );
  }
  ctx.output.debug(`realm ${realm}: ${JSON.stringify(scanner.counts)}`);
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

/** The Keycloak's public URL: its status, else its ingress host (`/auth`, as the image serves). */
export function frontEndUrl(server: KubeObject): string | undefined {
  const fromStatus = Object.values(serverStatuses(server)).find(
    (s) => s.externalBaseUrl,
  )?.externalBaseUrl;
  if (fromStatus) return fromStatus;
  const spec = (server.spec ?? {}) as {
    frontEndUrl?: string;
    ingressHostName?: string;
    tlsSecretName?: string;
  };
  if (spec.frontEndUrl) return spec.frontEndUrl;
  if (!spec.ingressHostName) return undefined;
  return `${spec.tlsSecretName ? 'https' : 'http'}://${spec.ingressHostName}/auth`;
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

async function streamExport(
  ctx: BackupContext,
  session: KeycloakSession,
  realm: string,
  assemble: (out: Writable) => Writable,
  label: string,
): Promise<ManifestEntry> {
  const entry = ctx.archive.openEntry(
    realmEntryPath(realm),
    { component: COMPONENT, realm, kind: 'realm-export' },
    (n) => ctx.progress.add(label, n),
  );
  let archiveError: Error | undefined;
  entry.on('error', (err) => (archiveError ??= err));
  // The pages of the export become one realm JSON on their way into the archive entry.
  const tee = assemble(entry);
  try {
    await runSideServer({
      config: ctx.kube.config,
      target: { namespace: session.namespace, pod: session.pod, container: session.container },
      what: 'export',
      command: (runId) =>
        exportCommand({
          realm,
          portOffset: sidePortOffset(),
          heap: ctx.options.keycloakHeap ?? '512m',
          timeoutSeconds: ctx.options.keycloakTimeoutSeconds ?? 1800,
          runId,
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
  if (!entry.entry) throw new OperationError(`${label}: the archive entry was not completed`);
  ctx.progress.finish(label);
  return entry.entry;
}
