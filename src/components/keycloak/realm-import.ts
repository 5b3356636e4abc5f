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
    const rep = JSON.parse((await readEntry(ctx, summary.realmEntry!)).toString('utf8')) as {
      realm: string;
      clients?: (RealmClient & { id: string; secret?: string; publicClient?: boolean })[];
      [key: string]: unknown;
    };
    if (hostChanges(ctx.mapping)) {
      addHostToClients(rep.clients ?? [], ctx.mapping.sourceHost!, ctx.mapping.targetHost!);
    }
    s.progress(`keycloak: importing realm ${realm} into ${session.namespace}/${session.pod}`);
    const started = Date.now();
    await importRealmInPod(s.target.config, session, rep, realm, {
      signal: s.signal,
      results: s.results,
    }).catch((err: Error) => {
      throw new OperationError(
        `${err.message}; run the same restore with --existing update to import it again`,
      );
    });
    s.progress(
      `keycloak: realm ${realm} imported in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    await restoreLocalization(ctx, session.admin, summary);
    await checkCounts(session.admin, summary);
    await syncSecrets(s, session.admin, ns, realm, rep.clients ?? []);
  } finally {
    await session.close();
  }
}

/**
 * Keycloak's migration import in a side server in the Keycloak pod (pages of users, one
 * transaction each): the realm (and every ID in it) replaces the one there; then the running
 * server's caches are cleared so that it serves the imported realm.
 */
export async function importRealmInPod(
  config: KubeConfig,
  session: KeycloakSession,
  rep: Record<string, unknown>,
  realm: string,
  opts: { signal?: AbortSignal; results: Results; timeoutSeconds?: number },
): Promise<void> {
  await runSideServer({
    config,
    target: { namespace: session.namespace, pod: session.pod, container: session.container },
    what: 'import',
    command: (runId) =>
      importCommand({
        realm,
        portOffset: sidePortOffset(),
        heap: '512m',
        timeoutSeconds: opts.timeoutSeconds ?? 1800,
        runId,
      }),
    stdin: () => realmTar(rep, realm),
    signal: opts.signal,
    label: `keycloak realm ${realm}`,
    results: opts.results,
  });
  // Through master: the running server's cached permissions on the replaced realm are stale
  // (403) until cleared, and these caches are server-wide whichever realm is named.
  void realm;
  for (const cache of ['clear-realm-cache', 'clear-user-cache', 'clear-keys-cache']) {
    await session.admin.call('POST', `/realms/master/${cache}`);
  }
}

/**
 * The realm as a `dir` export lays it out, as a tar: `<realm>-realm.json` without users, then
 * `<realm>-users-<n>.json` pages (and federated users), ready for a migration import.
 */
export function* realmTar(rep: Record<string, unknown>, realm: string): Generator<Buffer> {
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
  yield END_OF_ARCHIVE;
}

async function restoreLocalization(
  ctx: PlanContext,
  admin: KeycloakAdmin,
  summary: KeycloakSummary,
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
async function checkCounts(admin: KeycloakAdmin, summary: KeycloakSummary): Promise<void> {
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
