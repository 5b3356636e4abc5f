import { entryStream } from '../../archive/entry-stream.js';
import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from '../../kube/client.js';
import type { Results } from '../../report/results.js';
import type { KubeObject, ObjectRef } from '../../kube/object.js';
import type { PlanStep, StepContext } from '../../contract/plan.js';
import { hostChanges, pluginDataPlacement } from '../../contract/mapping.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import { phase } from '../../contract/order.js';
import type { PlanContext } from '../component.js';
import { KeycloakAdmin } from './admin.js';
import { COMPONENT, type KeycloakSummary } from './backup.js';
import { addHostToClients, importRefusal, type RealmClient } from './host-rewrite.js';
import { connectKeycloak, locateKeycloak, type KeycloakSession } from './locate.js';
import { IMPORT_USERS_PER_FILE, importCommand, sidePortOffset } from './side-server-scripts.js';
import { runSideServer } from './side-server.js';
import { END_OF_ARCHIVE, memberHeader, memberPadding } from '../../archive/tar-member.js';

/** The realm goes after the links: see the keycloak phase of src/restore/order.ts. */
const PHASE = 'keycloak';

export function keycloakSummary(ctx: PlanContext): KeycloakSummary | undefined {
  return ctx.archive.manifest.components[COMPONENT];
}

export async function planKeycloakSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const summary = keycloakSummary(ctx);
  const mode = ctx.mapping.keycloak;
  if (!summary || !mode) return [];
  const app: ObjectRef = {
    apiVersion: ENTANDO_API,
    kind: EntandoKind.App,
    namespace: ctx.mapping.targetNamespace,
    name: ctx.archive.manifest.source.app,
  };
  const base = { priority: phase(PHASE).priority, phase: PHASE, component: COMPONENT, object: app };
  if (mode === 'skip') {
    return [
      {
        ...base,
        action: 'skip',
        reason: `realm ${summary.realm} not restored (--keycloak skip): the target's operator makes new clients in its own realm; the archive's SSO client secrets are left out so that they match`,
        changes: [],
      },
    ];
  }
  if (mode === 'keep') {
    const original = ctx.mapping.originalKeycloak;
    if (!original) {
      return [
        {
          ...base,
          action: 'skip',
          reason: `realm ${summary.realm} not restored (--keycloak keep): the restored app keeps using the external Keycloak its restored objects name, whose clients match the restored SSO secrets`,
          changes: [],
        },
      ];
    }
    return keepSteps(ctx, summary, original, base);
  }
  const c = summary.counts!;
  const changes = [
    `replace the target operator's realm ${summary.realm} with the archived one: ${c.users - c.serviceAccounts} users, ${c.clients} clients, ${c.groups} groups, ${c.realmRoles + c.clientRoles} roles (Keycloak ${summary.keycloakVersion ?? '?'})`,
  ];
  if (hostChanges(ctx.mapping)) {
    changes.push(
      `redirect URIs and web origins naming ${ctx.mapping.sourceHost} get ${ctx.mapping.targetHost} beside them`,
    );
  }
  if (summary.locales?.length) changes.push(`localization texts: ${summary.locales.join(', ')}`);
  return [
    {
      ...base,
      action: 'run',
      reason:
        "once the operator has made the target's Keycloak, realm and clients for the app and its plugins: the fresh realm is deleted and the archived one imported (IDs, keys, password hashes, OTP and client secrets kept); each k8s SSO secret is then checked against its client",
      changes,
      run: (s) => restoreRealm(s, ctx, summary, app),
    },
  ];
}

/**
 * --keycloak keep of an app whose Keycloak was in its namespace: that Keycloak, declared in the
 * target as an external EntandoKeycloakServer (with the source's admin credentials, from the
 * archive), and the new host added to its clients: Entando's operator does not add hosts to
 * an external Keycloak's clients.
 */
function keepSteps(
  ctx: PlanContext,
  summary: KeycloakSummary,
  original: NonNullable<PlanContext['mapping']['originalKeycloak']>,
  base: Pick<PlanStep, 'priority' | 'phase' | 'component' | 'object'>,
): PlanStep[] {
  const ns = ctx.mapping.targetNamespace;
  const server: ObjectRef = {
    apiVersion: ENTANDO_API,
    kind: EntandoKind.KeycloakServer,
    namespace: ns,
    name: original.name,
  };
  const adminSecret = `${original.name}-admin-secret`;
  const steps: PlanStep[] = [
    {
      priority: phase('external-services').priority,
      phase: 'external-services',
      component: COMPONENT,
      object: server,
      action: 'run',
      reason: `the source's Keycloak ${original.frontEndUrl} is declared as external before the app that uses it (server-side apply: converges)`,
      changes: [
        `EntandoKeycloakServer ${original.name} (UseExternal, frontEndUrl ${original.frontEndUrl}) and Secret ${adminSecret}`,
      ],
      run: async (s) => {
        const admin = JSON.parse((await readEntry(ctx, summary.adminEntry!)).toString('utf8')) as {
          username: string;
          password: string;
        };
        await s.target.apply({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: adminSecret, namespace: ns },
          type: 'Opaque',
          data: Object.fromEntries(
            Object.entries({ ...admin, url: original.frontEndUrl }).map(([k, v]) => [
              k,
              Buffer.from(v).toString('base64'),
            ]),
          ),
        });
        await s.target.apply({
          apiVersion: ENTANDO_API,
          kind: EntandoKind.KeycloakServer,
          metadata: { name: original.name, namespace: ns },
          spec: {
            provisioningStrategy: 'UseExternal',
            frontEndUrl: original.frontEndUrl,
            adminSecretName: adminSecret,
            defaultRealm: original.realm,
          },
        });
      },
    },
  ];
  if (hostChanges(ctx.mapping)) {
    const url = ctx.keycloakUrl ?? original.frontEndUrl;
    steps.push({
      ...base,
      action: 'run',
      reason: `the source's Keycloak (${url}) gets the new host beside the old one in its clients' redirect URIs and web origins (nothing else in it changes)`,
      changes: [
        `clients of realm ${original.realm}: ${ctx.mapping.targetHost} beside ${ctx.mapping.sourceHost}`,
      ],
      run: async (s) => {
        const creds = JSON.parse((await readEntry(ctx, summary.adminEntry!)).toString('utf8')) as {
          username: string;
          password: string;
        };
        const admin = new KeycloakAdmin(url, creds);
        const r = `/realms/${encodeURIComponent(original.realm)}`;
        let clients: (RealmClient & { id: string })[];
        try {
          clients = await admin.get<(RealmClient & { id: string })[]>(`${r}/clients?max=100000`);
        } catch (err) {
          throw new OperationError(
            `the source's Keycloak at ${url} cannot be reached (${(err as Error).message}): pass --keycloak-url with an address this machine reaches, and run the same restore with --existing update`,
          );
        }
        for (const client of clients) {
          if (
            addHostToClients([client], ctx.mapping.sourceHost!, ctx.mapping.targetHost!).length ===
            0
          )
            continue;
          await admin.call('PUT', `${r}/clients/${client.id}`, client);
          s.progress(`keycloak: ${client.clientId} also serves ${ctx.mapping.targetHost}`);
        }
      },
    });
  }
  return steps;
}

async function readEntry(ctx: PlanContext, path: string): Promise<Buffer> {
  const entry = ctx.archive.manifest.entries.find((e) => e.path === path);
  if (!entry) throw new OperationError(`the archive has no ${path}`);
  const chunks: Buffer[] = [];
  for await (const chunk of entryStream(ctx.archive, entry)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function restoreRealm(
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

/**
 * Every `<clientId>-secret` of the target namespace must equal its client's secret in the
 * restored realm: one that differs (not restored, or --existing skip kept an older one) is set
 * from the realm, and the deployments whose env reads it are restarted (env is read at start).
 */
async function syncSecrets(
  s: StepContext,
  admin: KeycloakAdmin,
  ns: string,
  realm: string,
  clients: (RealmClient & { id: string; secret?: string; publicClient?: boolean })[],
): Promise<void> {
  const changed: string[] = [];
  for (const client of clients) {
    if (client.publicClient) continue;
    const name = `${client.clientId}-secret`;
    const secret = await s.target.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
    if (!secret) continue;
    const data = (secret.data ?? {}) as Record<string, string>;
    if (data.clientSecret === undefined) continue;
    const value = (await admin.clientSecret(realm, client.id)) ?? client.secret;
    if (!value || Buffer.from(data.clientSecret, 'base64').toString('utf8') === value) continue;
    await s.target.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns, name },
      { data: { clientSecret: Buffer.from(value).toString('base64') } },
    );
    changed.push(name);
  }
  if (changed.length === 0) return;
  s.results.warn(
    'keycloak',
    `${changed.join(', ')} did not match the restored realm: set from it, and the deployments that read ${changed.length === 1 ? 'it' : 'them'} restarted`,
  );
  await restartReaders(s.target, ns, new Set(changed));
}

async function restartReaders(kube: KubeClient, ns: string, secrets: Set<string>): Promise<void> {
  const deployments = await kube.list('apps/v1', 'Deployment', ns);
  const now = new Date().toISOString();
  for (const d of deployments) {
    if (!readsSecret(d, secrets)) continue;
    await kube.mergePatch(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: d.metadata.name },
      {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now } } },
        },
      },
    );
  }
}

function readsSecret(d: KubeObject, secrets: Set<string>): boolean {
  const containers =
    (
      d.spec as {
        template?: {
          spec?: {
            containers?: { env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[] }[];
          };
        };
      }
    )?.template?.spec?.containers ?? [];
  return containers.some((c) =>
    (c.env ?? []).some(
      (e) => !!e.valueFrom?.secretKeyRef?.name && secrets.has(e.valueFrom.secretKeyRef.name),
    ),
  );
}
