import type { KubeConfig } from '@kubernetes/client-node';
import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { Results } from '../../report/results.js';
import type { ObjectRef } from '../../kube/object.js';
import type { StepContext } from '../../contract/plan.js';
import { hostChanges, pluginDataPlacement } from '../../contract/mapping.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import type { PlanContext } from '../component.js';
import type { KeycloakAdmin } from './admin.js';
import type { KeycloakSummary } from './backup.js';
import { syncSecrets } from './client-secrets.js';
import { addHostToClients, importRefusal, type RealmClient } from './host-rewrite.js';
import { connectKeycloak, locateKeycloak, type KeycloakSession } from './locate.js';
import { readEntry } from './read-entry.js';
import {
  carriedTenantRealms,
  checkTenantClientSecrets,
  tenantRealmMoves,
} from './tenant-realms-restore.js';
import { TENANTS_SECRET } from '../../entando/kinds.js';
import { tenantsOf } from '../resources/transforms/tenants-secret.js';
import type { TenantRealmSummary } from '../../contract/manifest.js';
import { IMPORT_USERS_PER_FILE, importCommand, sidePortOffset } from './side-server-scripts.js';
import { runSideServer } from './side-server.js';
import { END_OF_ARCHIVE, memberHeader, memberPadding } from '../../archive/tar-member.js';

/**
 * --keycloak realm: once the operator made the target's Keycloak and realm, the archived realm
 * replaces it, its localization texts go back, its counts are checked and the SSO secrets of
 * the namespace are made to match its clients.
 */
export async function restoreRealm(
  s: StepContext,
  ctx: PlanContext,
  summary: KeycloakSummary,
  appRef: ObjectRef,
): Promise<void> {
  const ns = appRef.namespace!;
  await waitForEntandoReady(s.target, appRef, ctx.waitTimeoutMs ?? 600_000, s.progress);
  // Plugins a bundle reinstall makes come after the realm (so they find their clients).
  const restoredPlugins = ctx.archive.objects.filter((o) => {
    if (o.kind !== EntandoKind.Plugin) return false;
    const placement = pluginDataPlacement(ctx.mapping, o.metadata.name);
    return !placement.afterReinstall && !placement.skip;
  });
  for (const plugin of restoredPlugins) {
    const ref = {
      apiVersion: ENTANDO_API,
      kind: EntandoKind.Plugin,
      namespace: ns,
      name: plugin.metadata.name,
    };
    await waitForEntandoReady(s.target, ref, ctx.waitTimeoutMs ?? 600_000, s.progress);
  }
  const app = (await s.target.get(appRef))!;
  const where = await locateKeycloak(s.target, app);
  if (where.kind !== 'in-namespace') {
    throw new OperationError(
      `the restored app's Keycloak in the target is not one to import into (${where.reason}): restore with --keycloak keep or --keycloak skip`,
    );
  }
  let session: KeycloakSession;
  try {
    session = await connectKeycloak(s.target, where);
  } catch (err) {
    throw new OperationError(
      `${(err as Error).message}; the realm was not restored: run the same restore with --existing update once it answers`,
    );
  }
  try {
    const realm = summary.realm;
    const refusal = importRefusal(summary.keycloakVersion, await session.admin.serverVersion());
    if (refusal) throw new OperationError(refusal);
    const rep = (await readRealm(ctx, summary.realmEntry!)) as RealmRep;
    if (hostChanges(ctx.mapping)) {
      addHostToClients(rep.clients ?? [], ctx.mapping.sourceHost!, ctx.mapping.targetHost!);
    }
    // The tenants' realms go in the same run: one side server imports every realm it is sent.
    const tenants = carriedTenantRealms(summary.tenantRealms);
    const realms = [{ realm, rep }];
    for (const t of tenants) {
      const tenantRep = (await readRealm(ctx, t.realmEntry!)) as RealmRep;
      for (const [from, to] of tenantRealmMoves(ctx.archive, ctx.mapping, t)) {
        addHostToClients(tenantRep.clients ?? [], from, to);
      }
      realms.push({ realm: t.realm, rep: tenantRep });
    }
    const names = realms.map((r) => r.realm).join(', ');
    s.progress(
      `keycloak: importing realm${realms.length > 1 ? 's' : ''} ${names} into ${session.namespace}/${session.pod}`,
    );
    const started = Date.now();
    await importRealmInPod(s.target.config, session, realms, {
      signal: s.signal,
      results: s.results,
    }).catch((err: Error) => {
      throw new OperationError(
        `${err.message}; run the same restore with --existing update to import it again`,
      );
    });
    s.progress(`keycloak: ${names} imported in ${Math.round((Date.now() - started) / 1000)} s`);
    for (const r of [summary, ...tenants]) {
      await restoreLocalization(ctx, session.admin, r);
      await checkCounts(session.admin, r);
    }
    await syncSecrets(s, session.admin, ns, realm, rep.clients ?? []);
    if (tenants.length > 0) await checkTenantSecrets(s, session.admin, ns, tenants);
  } finally {
    await session.close();
  }
}

type RealmRep = {
  realm: string;
  clients?: (RealmClient & { id: string; secret?: string; publicClient?: boolean })[];
  [key: string]: unknown;
};

const readRealm = async (ctx: PlanContext, entry: string) =>
  JSON.parse((await readEntry(ctx, entry)).toString('utf8')) as Record<string, unknown>;

/**
 * The tenants' clients must hold the secrets of the restored ENTANDO_TENANTS: with the realms
 * imported whole they hold the source's, which its JSON held; a difference is the source's own
 * and is named, not settled (which side is right is the user's call).
 */
async function checkTenantSecrets(
  s: StepContext,
  admin: KeycloakAdmin,
  ns: string,
  tenants: TenantRealmSummary[],
): Promise<void> {
  const where = `Secret ${ns}/${TENANTS_SECRET}`;
  const secret = await s.target.get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: ns,
    name: TENANTS_SECRET,
  });
  const json = secret && tenantsOf(secret);
  if (!json) {
    s.results.warn(
      'keycloak',
      `${where} holds no ENTANDO_TENANTS array: the tenants' client secrets were not checked`,
    );
    return;
  }
  for (const t of tenants) {
    const { ok, problems } = await checkTenantClientSecrets(admin, t.realm, json, t.tenants);
    for (const line of ok) s.progress(`keycloak: ${line}`);
    for (const line of problems) s.results.warn('keycloak', line);
  }
}

/**
 * Keycloak's migration import in a side server in the Keycloak pod (pages of users, one
 * transaction each): each realm (and every ID in it) replaces the one there, all in one run;
 * then the running server's caches are cleared so that it serves the imported realms.
 */
export async function importRealmInPod(
  config: KubeConfig,
  session: KeycloakSession,
  realms: { realm: string; rep: Record<string, unknown> }[],
  opts: { signal?: AbortSignal; results: Results; timeoutSeconds?: number },
): Promise<void> {
  const names = realms.map((r) => r.realm);
  await runSideServer({
    config,
    target: { namespace: session.namespace, pod: session.pod, container: session.container },
    what: 'import',
    command: (runId) =>
      importCommand({
        realms: names,
        portOffset: sidePortOffset(),
        heap: '512m',
        timeoutSeconds: opts.timeoutSeconds ?? 1800,
        runId,
      }),
    stdin: () => realmsTar(realms),
    signal: opts.signal,
    label: `keycloak realm${names.length > 1 ? 's' : ''} ${names.join(', ')}`,
    results: opts.results,
  });
  // Through master: the running server's cached permissions on the replaced realms are stale
  // (403) until cleared, and these caches are server-wide whichever realm is named.
  for (const cache of ['clear-realm-cache', 'clear-user-cache', 'clear-keys-cache']) {
    await session.admin.call('POST', `/realms/master/${cache}`);
  }
}

/** Several realms laid out as `realmTar` does, in one tar. */
export function* realmsTar(
  realms: { realm: string; rep: Record<string, unknown> }[],
): Generator<Buffer> {
  for (const { realm, rep } of realms) yield* realmMembers(rep, realm);
  yield END_OF_ARCHIVE;
}

/**
 * The realm as a `dir` export lays it out, as a tar: `<realm>-realm.json` without users, then
 * `<realm>-users-<n>.json` pages (and federated users), ready for a migration import.
 */
export function* realmTar(rep: Record<string, unknown>, realm: string): Generator<Buffer> {
  yield* realmMembers(rep, realm);
  yield END_OF_ARCHIVE;
}

function* realmMembers(rep: Record<string, unknown>, realm: string): Generator<Buffer> {
  const users = (rep.users as unknown[] | undefined) ?? [];
  const federated = (rep.federatedUsers as unknown[] | undefined) ?? [];
  const base = { ...rep };
  delete base.users;
  delete base.federatedUsers;
  const files: [string, unknown][] = [[`${realm}-realm.json`, base]];
  for (let i = 0; i * IMPORT_USERS_PER_FILE < users.length; i++) {
    const page = users.slice(i * IMPORT_USERS_PER_FILE, (i + 1) * IMPORT_USERS_PER_FILE);
    files.push([`${realm}-users-${i}.json`, { realm, users: page }]);
  }
  if (federated.length > 0) {
    files.push([`${realm}-federated-users-0.json`, { realm, federatedUsers: federated }]);
  }
  const now = new Date();
  for (const [name, doc] of files) {
    const body = Buffer.from(JSON.stringify(doc));
    yield memberHeader(name, body.length, now);
    yield body;
    yield memberPadding(body.length);
  }
}

type RealmRecord = Pick<KeycloakSummary, 'realm' | 'counts' | 'locales' | 'localizationEntry'>;

async function restoreLocalization(
  ctx: PlanContext,
  admin: KeycloakAdmin,
  summary: RealmRecord,
): Promise<void> {
  if (!summary.localizationEntry || !summary.locales?.length) return;
  const texts = JSON.parse(
    (await readEntry(ctx, summary.localizationEntry)).toString('utf8'),
  ) as Record<string, Record<string, string>>;
  const r = `/realms/${encodeURIComponent(summary.realm)}/localization`;
  for (const [locale, entries] of Object.entries(texts)) {
    for (const [key, text] of Object.entries(entries)) {
      await admin.call(
        'PUT',
        `${r}/${encodeURIComponent(locale)}/${encodeURIComponent(key)}`,
        text,
        {
          contentType: 'text/plain',
        },
      );
    }
  }
}

/** The imported realm holds what the archive says: users and clients counted again. */
export async function checkCounts(
  admin: Pick<KeycloakAdmin, 'get'>,
  summary: RealmRecord,
): Promise<void> {
  const r = `/realms/${encodeURIComponent(summary.realm)}`;
  const c = summary.counts!;
  const users = await admin.get<number>(`${r}/users/count`);
  const clients = (await admin.get<unknown[]>(`${r}/clients?max=100000`)).length;
  if (users !== c.users - c.serviceAccounts || clients !== c.clients) {
    throw new OperationError(
      `realm ${summary.realm} after the import has ${users} users and ${clients} clients, the archive ${c.users - c.serviceAccounts} and ${c.clients}: run the same restore with --existing update`,
    );
  }
}
