import { errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import type { ClientRepresentation } from '../components/keycloak/admin.js';
import { connectKeycloak, locateKeycloak, realmOf } from '../components/keycloak/locate.js';
import { ABSENT, digest, row, type CompareRow } from './rows.js';

/** What is compared of a realm: counts, digests of ids, and per client its secret's digest. */
export interface RealmState {
  realm: string;
  /** Why there is no realm to compare (external or absent Keycloak, an error). */
  unavailable?: string;
  facts?: Record<string, string>;
  /** clientId -> digest of its secret in the realm (confidential clients only). */
  clientSecrets?: Record<string, string>;
  /** clientId -> whether the namespace's `<clientId>-secret` holds the realm's secret. */
  k8sSecretsMatch?: Record<string, boolean>;
}

const lines = (xs: string[]) => digest([...xs].sort().join('\n'));

/**
 * The app's realm (or another of its Keycloak: a tenant's) through the admin API of the
 * namespace's Keycloak (a port-forward to its pod; read-only calls). Secrets are digested at
 * once: no value leaves this function. `k8sSecrets`: check the namespace's `<clientId>-secret`
 * Secrets, which hold the app realm's clients only (a tenant realm's `<app>` client has the
 * same clientId, and another secret).
 */
export async function collectRealm(
  kube: KubeClient,
  app: KubeObject,
  realm = realmOf(app),
  k8sSecrets = realm === realmOf(app),
): Promise<RealmState> {
  const where = await locateKeycloak(kube, app);
  if (where.kind !== 'in-namespace') return { realm, unavailable: where.reason };
  let session;
  try {
    session = await connectKeycloak(kube, where);
  } catch (err) {
    return { realm, unavailable: errorMessage(err) };
  }
  try {
    const { admin } = session;
    const r = `/realms/${encodeURIComponent(realm)}`;
    if (!(await admin.realmExists(realm))) return { realm, unavailable: `no realm ${realm}` };
    const count = async (path: string) => String(await admin.get<number>(path));
    const users = await admin.get<{ id: string; username: string }[]>(
      `${r}/users?first=0&max=1000000&briefRepresentation=true`,
    );
    const clients = await admin.get<ClientRepresentation[]>(`${r}/clients?max=100000`);
    const groups = await admin.get<unknown[]>(`${r}/groups?max=100000`);
    const roles = await admin.get<{ name: string }[]>(`${r}/roles?max=100000`);
    const keys = await admin.get<{ keys?: { kid: string }[] }>(`${r}/keys`);
    const facts: Record<string, string> = {
      'users (count)': await count(`${r}/users/count`),
      'user ids and names': lines(users.map((u) => `${u.id} ${u.username}`)),
      'clients (count)': String(clients.length),
      'client ids': lines(clients.map((c) => `${c.id} ${c.clientId}`)),
      'groups (count)': String(groups.length),
      'realm roles (count)': String(roles.length),
      'realm roles': lines(roles.map((x) => x.name)),
      'key ids': lines((keys.keys ?? []).map((k) => k.kid)),
    };
    const clientSecrets: Record<string, string> = {};
    const k8sSecretsMatch: Record<string, boolean> = {};
    const ns = app.metadata.namespace!;
    for (const c of clients) {
      if (c.publicClient || !c.id || c.bearerOnly) continue;
      const value = (await admin.clientSecret(realm, c.id).catch(() => undefined)) ?? c.secret;
      if (!value) continue;
      clientSecrets[c.clientId] = digest(value);
      if (!k8sSecrets) continue;
      const s = await kube.get({
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: ns,
        name: `${c.clientId}-secret`,
      });
      const held = (s?.data as Record<string, string> | undefined)?.clientSecret;
      if (held !== undefined) {
        k8sSecretsMatch[c.clientId] = Buffer.from(held, 'base64').toString('utf8') === value;
      }
    }
    return { realm, facts, clientSecrets, k8sSecretsMatch };
  } catch (err) {
    return { realm, unavailable: errorMessage(err) };
  } finally {
    await session.close();
  }
}

/**
 * Realm facts side by side, each client's secret, and per side whether the k8s SSO secrets
 * hold their client's secret (a mismatch there breaks the app's login whatever the other side).
 */
export function compareRealms(
  source: RealmState,
  target: RealmState,
  label = `realm ${target.realm}`,
): CompareRow[] {
  const name = (what: string) => `${label} ${what}`;
  if (source.unavailable && target.unavailable) {
    return [
      {
        section: 'keycloak',
        name: name('(not compared)'),
        source: ABSENT,
        target: ABSENT,
        verdict: 'same',
        why: `no realm on either side: ${source.unavailable}`,
      },
    ];
  }
  if (source.unavailable || target.unavailable) {
    return [
      {
        section: 'keycloak',
        name: name('(realm)'),
        source: source.unavailable ? ABSENT : 'present',
        target: target.unavailable ? ABSENT : 'present',
        verdict: 'unchecked',
        why: (source.unavailable
          ? `source: ${source.unavailable}`
          : `target: ${target.unavailable}`)!,
      },
    ];
  }
  const rows: CompareRow[] = [];
  const keys = [...new Set([...Object.keys(source.facts!), ...Object.keys(target.facts!)])];
  for (const k of keys)
    rows.push(row('keycloak', name(k), source.facts![k] ?? ABSENT, target.facts![k] ?? ABSENT));
  const clients = [
    ...new Set([...Object.keys(source.clientSecrets!), ...Object.keys(target.clientSecrets!)]),
  ].sort();
  for (const c of clients) {
    rows.push(
      row(
        'keycloak',
        name(`client ${c} secret`),
        source.clientSecrets![c] ?? ABSENT,
        target.clientSecrets![c] ?? ABSENT,
      ),
    );
  }
  const sides = [
    ['source', source],
    ['target', target],
  ] as const;
  for (const c of [
    ...new Set([...Object.keys(source.k8sSecretsMatch!), ...Object.keys(target.k8sSecretsMatch!)]),
  ].sort()) {
    const show = (s: RealmState) =>
      s.k8sSecretsMatch![c] === undefined ? ABSENT : s.k8sSecretsMatch![c] ? 'matches' : 'MISMATCH';
    const bad = sides.filter(([, s]) => s.k8sSecretsMatch![c] === false).map(([w]) => w);
    rows.push({
      section: 'keycloak',
      name: `Secret ${c}-secret vs realm client ${c}`,
      source: show(source),
      target: show(target),
      verdict: bad.length ? 'differs' : 'same',
      ...(bad.length
        ? { why: `clientSecret does not match the realm in the ${bad.join(' and ')}` }
        : {}),
    });
  }
  return rows;
}
