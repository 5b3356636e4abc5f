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
import { entryStream } from '../../archive/entry-stream.js';
import { realmPieces } from './realm-stream.js';
import { UserMeter } from './user-meter.js';
import {
  carriedTenantRealms,
  checkTenantClientSecrets,
  tenantRealmMoves,
} from './tenant-realms-restore.js';
import { TENANTS_SECRET } from '../../entando/kinds.js';
import { tenantsOf } from '../resources/transforms/tenants-secret.js';
import type { TenantRealmSummary } from '../../contract/manifest.js';
import { importCommand, importUsersPerFile, sidePortOffset } from './side-server-scripts.js';
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
    // Each realm is streamed from the archive into the pod's import (never held whole); its
    // clients get the target's hosts as they pass, and are kept for the checks after.
    const heads = new Map<string, RealmRep>();
    const source = (name: string, entry: string, moves: [string, string][]): RealmSource => ({
      realm: name,
      chunks: () => entryChunks(ctx, entry),
      head: (rep) => {
        for (const [from, to] of moves) addHostToClients(rep.clients ?? [], from, to);
        heads.set(name, rep);
      },
    });
    const appMoves: [string, string][] = hostChanges(ctx.mapping)
      ? [[ctx.mapping.sourceHost!, ctx.mapping.targetHost!]]
      : [];
    // The tenants' realms go in the same run: one side server imports every realm it is sent.
    const tenants = carriedTenantRealms(summary.tenantRealms);
    const realms = [source(realm, summary.realmEntry!, appMoves)];
    for (const t of tenants) {
      realms.push(source(t.realm, t.realmEntry!, tenantRealmMoves(ctx.archive, ctx.mapping, t)));
    }
    const names = realms.map((r) => r.realm).join(', ');
    s.progress(
      `keycloak: importing realm${realms.length > 1 ? 's' : ''} ${names} into ${session.namespace}/${session.pod}`,
    );
    const started = Date.now();
    await importRealmInPod(s.target.config, session, realms, {
      signal: s.signal,
      results: s.results,
      progress: s.progress,
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
    await syncSecrets(s, session.admin, ns, realm, heads.get(realm)?.clients ?? []);
    if (tenants.length > 0) await checkTenantSecrets(s, session.admin, ns, tenants);
  } finally {
    await session.close();
  }
}

export type RealmRep = {
  realm: string;
  clients?: (RealmClient & { id: string; secret?: string; publicClient?: boolean })[];
  [key: string]: unknown;
};

async function* entryChunks(ctx: PlanContext, path: string): AsyncGenerator<Buffer> {
  const entry = ctx.archive.manifest.entries.find((e) => e.path === path);
  if (!entry) throw new OperationError(`the archive has no ${path}`);
  for await (const chunk of entryStream(ctx.archive, entry)) yield chunk as Buffer;
}

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
  realms: RealmSource[],
  opts: {
    signal?: AbortSignal;
    results: Results;
    timeoutSeconds?: number;
    progress?: (line: string) => void;
  },
): Promise<void> {
  const names = realms.map((r) => r.realm);
  const meter = new UserMeter(
    `keycloak: realm${names.length > 1 ? 's' : ''} ${names.join(', ')}`,
    'imported',
    opts.progress,
  );
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
    stdin: () => realmsTar(realms, meter),
    stdout: meter.stdout(),
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

/** A realm to import: its archived JSON, read afresh per attempt, and what to do to its head. */
export interface RealmSource {
  realm: string;
  chunks: () => AsyncIterable<Buffer>;
  /** Sees (and may change) the realm without its users before it is sent. */
  head?: (rep: RealmRep) => void;
}

/** A source over a realm in memory, as an object or its JSON text (tests, the bench). */
export function realmInMemory(realm: string, rep: Record<string, unknown> | string): RealmSource {
  const json = Buffer.from(typeof rep === 'string' ? rep : JSON.stringify(rep));
  return {
    realm,
    chunks: async function* () {
      yield json;
    },
  };
}

/**
 * Several realms as a `dir` export lays them out, in one tar: `<realm>-users-<n>.json` pages
 * (and federated users) as the users stream by, then `<realm>-realm.json` without them (the
 * import unpacks the whole tar before it starts, so the order does not matter to it).
 */
export async function* realmsTar(realms: RealmSource[], meter?: UserMeter): AsyncGenerator<Buffer> {
  for (const src of realms) yield* realmMembers(src, importUsersPerFile(), meter);
  yield END_OF_ARCHIVE;
}

const STREAMED = new Set(['users', 'federatedUsers']);

async function* realmMembers(
  src: RealmSource,
  per: number,
  meter?: UserMeter,
): AsyncGenerator<Buffer> {
  const now = new Date();
  const head: Record<string, unknown> = {};
  const pages: Record<string, Buffer[]> = { users: [], federatedUsers: [] };
  const numbers: Record<string, number> = { users: 0, federatedUsers: 0 };
  const file = { users: 'users', federatedUsers: 'federated-users' } as Record<string, string>;
  function* page(key: string): Generator<Buffer> {
    const elements = pages[key];
    if (elements.length === 0) return;
    const name = `${src.realm}-${file[key]}-${numbers[key]++}.json`;
    const parts: Buffer[] = [Buffer.from(`{"realm":${JSON.stringify(src.realm)},"${key}":[`)];
    elements.forEach((e, i) => parts.push(i === 0 ? e : Buffer.concat([COMMA, e])));
    parts.push(Buffer.from(']}'));
    pages[key] = [];
    yield* member(name, Buffer.concat(parts), now);
  }
  for await (const piece of realmPieces(src.chunks(), STREAMED)) {
    if (piece.kind === 'field') {
      head[piece.key] = JSON.parse(piece.json.toString('utf8'));
      continue;
    }
    pages[piece.key].push(piece.json);
    if (piece.key === 'users') meter?.sent();
    if (pages[piece.key].length === per) yield* page(piece.key);
  }
  yield* page('users');
  yield* page('federatedUsers');
  delete head.users;
  delete head.federatedUsers;
  src.head?.(head as RealmRep);
  yield* member(`${src.realm}-realm.json`, Buffer.from(JSON.stringify(head)), now);
}

const COMMA = Buffer.from(',');

function* member(name: string, body: Buffer, now: Date): Generator<Buffer> {
  yield memberHeader(name, body.length, now);
  yield body;
  yield memberPadding(body.length);
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
