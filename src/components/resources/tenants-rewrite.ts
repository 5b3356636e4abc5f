import { hostChanges, mapNamespace, type RestoreMapping } from '../../contract/mapping.js';
import { serviceOfHost } from '../../kube/service-host.js';
import { parseJdbcUrl } from '../databases/jdbc.js';
import { hostPattern } from './transforms/host.js';

/**
 * The `ENTANDO_TENANTS` array of `entando-tenants-secret` (one flat object per secondary
 * tenant, /work/shared/entando/TENANTS.md §1) rewritten for the restore target. Pure: no
 * cluster, no archive. Change lines name fields and hosts, never a credential's value.
 */
export type Tenant = Record<string, unknown>;

export type TenantsMapping = Pick<
  RestoreMapping,
  | 'sourceNamespace'
  | 'targetNamespace'
  | 'namespaceMap'
  | 'sourceHost'
  | 'targetHost'
  | 'tenantHosts'
  | 'keycloak'
  | 'sourceKeycloakUrl'
>;

export interface TenantsRewrite {
  tenants: Tenant[];
  /** One line per field changed. */
  changes: string[];
  /** What was kept although it may need the user's hand. */
  notes: string[];
}

/** A server the target's operator made anew, with the admin credentials it generated. */
export interface TargetServer {
  username: string;
  password: string;
  /** Its Service, as a tenant URL names it (resolved in the target namespace). */
  service: { name: string; namespace: string };
  /** Its public URL (a Keycloak's), when known; `\0` while planning. */
  publicUrl?: string;
}

/** The target's own Keycloak and in-namespace DBMS admins, when the restore recreates them. */
export interface TargetServers {
  keycloak?: TargetServer;
  dbms?: TargetServer;
}

/** Fields with an in-cluster URL whose `.<ns>` follows the namespace mapping. */
const IN_CLUSTER = ['dbUrl', 'deDbUrl', 'kcInternalAuthUrl', 'cdsPrivateUrl', 'solrAddress'];
/** Fields with a public URL whose host follows --ingress-host or --tenant-host. */
const PUBLIC = ['kcAuthUrl', 'cdsPublicUrl'];
/** With --keycloak keep the source's Keycloak stays in use: its URLs stay. */
const KEYCLOAK_URLS = ['kcAuthUrl', 'kcInternalAuthUrl'];

const URL_HOST = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)(\[[^\]]*\]|[^:/?#]*)/i;
const JDBC_AUTHORITY = /^jdbc:[a-z0-9]+(?::[a-z0-9]+)?:\/\/([^/?#]*)/i;

/** The host names of a URL (a JDBC URL may list several), or none when it has none. */
export function urlHosts(url: string): string[] {
  if (/^jdbc:/i.test(url)) {
    const parsed = parseJdbcUrl(url);
    if (!parsed || parsed.dbms === 'embedded') return [];
    if (parsed.dbms === 'oracle') return parsed.host ? [parsed.host] : [];
    const authority = JDBC_AUTHORITY.exec(url.trim())?.[1] ?? '';
    return authority
      .split(',')
      .map((hp) => hp.replace(/^\[([^\]]*)\].*$/, '$1').split(':')[0])
      .filter(Boolean);
  }
  const host = URL_HOST.exec(url.trim())?.[2];
  return host ? [host] : [];
}

/**
 * `<svc>.<ns>[.svc[.<cluster domain>]]` with the namespace mapped (the app's to the target,
 * a --namespace-map one to its new name); undefined when unchanged. A bare `<svc>` resolves in
 * the pod's own namespace, which moves with the app: it stays.
 */
export function mapServiceHost(host: string, m: TenantsMapping): string | undefined {
  const svc = serviceOfHost(host, m.sourceNamespace);
  const labels = host.split('.');
  if (!svc || labels.length < 2) return undefined;
  const to = mapNamespace(m, svc.namespace)!;
  if (to === svc.namespace) return undefined;
  return [labels[0], to, ...labels.slice(2)].join('.');
}

/**
 * A public host moved the way the app host moves: the app host itself becomes the target
 * host, and a name under it keeps its own labels on the target host (`t1.qs.example.com` with
 * --ingress-host qs2.example.com: `t1.qs2.example.com`). Anything else: undefined.
 */
export function rebaseHost(host: string, m: TenantsMapping): string | undefined {
  if (!hostChanges(m)) return undefined;
  const h = host.toLowerCase();
  const from = m.sourceHost!.toLowerCase();
  if (h === from) return m.targetHost;
  if (h.endsWith(`.${from}`)) return `${h.slice(0, -from.length)}${m.targetHost}`;
  return undefined;
}

function replaceHost(value: string, from: string, to: string): string {
  return value.replace(hostPattern(from), to);
}

const fqdnsOf = (t: Tenant) =>
  typeof t.fqdns === 'string'
    ? t.fqdns
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean)
    : [];

/**
 * The public hosts of a tenant that its rewrite moved, old to new: `fqdns` position by position,
 * an old host beyond the new list to the first new one (as `kcAuthUrl` on a tenant's own host
 * goes with --tenant-host). What a realm restored for the tenant gives its clients beside the
 * old hosts, so that the realm and the rewritten Secret agree.
 */
export function hostMoves(before: Tenant, after: Tenant): [string, string][] {
  const from = fqdnsOf(before);
  const to = fqdnsOf(after);
  const moves: [string, string][] = [];
  for (const [i, h] of from.entries()) {
    const n = to[i] ?? to[0];
    if (n && n.toLowerCase() !== h.toLowerCase()) moves.push([h, n]);
  }
  return moves;
}

/** Rewrites every tenant for the target; `servers`, when known, set the admin credentials. */
export function rewriteTenants(
  tenants: Tenant[],
  m: TenantsMapping,
  servers?: TargetServers,
): TenantsRewrite {
  const changes: string[] = [];
  const notes: string[] = [];
  const out = tenants.map((original) => {
    const t = { ...original };
    const code = typeof t.tenantCode === 'string' ? t.tenantCode : '(no tenantCode)';
    const keep = m.keycloak === 'keep';
    for (const field of IN_CLUSTER) {
      const value = t[field];
      if (typeof value !== 'string') continue;
      if (keep && KEYCLOAK_URLS.includes(field)) continue;
      for (const host of urlHosts(value)) {
        const mapped = mapServiceHost(host, m);
        if (!mapped) continue;
        t[field] = replaceHost(t[field] as string, host, mapped);
        changes.push(`${code}: ${field} host ${host} -> ${mapped}`);
      }
    }
    const oldFqdns = fqdnsOf(t);
    const given = m.tenantHosts?.[code];
    if (given) {
      t.fqdns = given.join(',');
      if (t.fqdns !== original.fqdns)
        changes.push(`${code}: fqdns ${oldFqdns.join(',')} -> ${t.fqdns} (--tenant-host)`);
    } else if (oldFqdns.length > 0) {
      const moved = oldFqdns.map((h) => rebaseHost(h, m) ?? h);
      for (const [i, h] of oldFqdns.entries()) {
        if (moved[i] !== h) continue;
        if (hostChanges(m))
          notes.push(
            `${code}: fqdns host ${h} kept: it is neither ${m.sourceHost} nor under it; map it with --tenant-host ${code}=HOST`,
          );
      }
      if (moved.some((h, i) => h !== oldFqdns[i])) {
        t.fqdns = moved.join(',');
        changes.push(`${code}: fqdns ${oldFqdns.join(',')} -> ${t.fqdns}`);
      }
    }
    for (const field of PUBLIC) {
      const value = t[field];
      if (typeof value !== 'string') continue;
      if (keep && KEYCLOAK_URLS.includes(field)) continue;
      const host = urlHosts(value)[0];
      if (!host) continue;
      const own = given && oldFqdns.some((h) => h.toLowerCase() === host.toLowerCase());
      const to = own ? given[0] : rebaseHost(host, m);
      if (to && to !== host) {
        t[field] = replaceHost(value, host, to);
        changes.push(`${code}: ${field} host ${host} -> ${to}`);
      } else if (field === 'kcAuthUrl' && onKeycloak(value, m.sourceKeycloakUrl)) {
        // The app's own Keycloak, on a host of its own: it follows the target's Keycloak,
        // whose public URL exists once the operator made it (setServerCredentials).
      } else if (!to && hostChanges(m)) {
        notes.push(
          `${code}: ${field} host ${host} kept: it is neither ${m.sourceHost} nor under it${given ? ' nor a host of the tenant' : ''}; if the target serves it elsewhere, edit ENTANDO_TENANTS in entando-tenants-secret after the restore`,
        );
      }
    }
    if (keep && KEYCLOAK_URLS.some((f) => typeof t[f] === 'string')) {
      notes.push(
        `${code}: kcAuthUrl, kcInternalAuthUrl and the Keycloak admin kept (--keycloak keep: the source's Keycloak stays in use)`,
      );
    }
    return t;
  });
  if (!servers) return { tenants: out, changes, notes };
  const set = setServerCredentials(out, m.targetNamespace, servers, m.sourceKeycloakUrl);
  return { tenants: set.tenants, changes: [...changes, ...set.changes], notes };
}

/** The Service a tenant URL names, resolved from `namespace`. */
function serviceOfUrl(url: unknown, namespace: string) {
  if (typeof url !== 'string') return undefined;
  const host = urlHosts(url)[0];
  return host ? serviceOfHost(host, namespace) : undefined;
}

/** Whether a URL is on the Keycloak whose public URL is `base` (`.../auth` and below). */
export function onKeycloak(url: string, base: string | undefined): boolean {
  if (!base) return false;
  const b = base.replace(/\/+$/, '').toLowerCase();
  const u = url.toLowerCase();
  return u === b || u.startsWith(`${b}/`);
}

const sameService = (
  a: { name: string; namespace: string } | undefined,
  b: { name: string; namespace: string },
) => !!a && a.name === b.name.toLowerCase() && a.namespace === b.namespace;

/**
 * What a tenant holds of a server the target's operator made anew: `kcAuthUrl` on the source's
 * Keycloak becomes the target Keycloak's public URL; and the admin credentials (new generated
 * admin secrets): the Keycloak master admin (`kcAdminUsername` and
 * `kcAdminPassword`, read by the 7.3 plugin and link controllers) when `kcInternalAuthUrl`
 * names that Keycloak; `dbPassword`/`deDbPassword` when the URL names the in-namespace DBMS
 * and the user is its admin. Other credentials are the tenant's own: kept.
 */
export function setServerCredentials(
  tenants: Tenant[],
  namespace: string,
  servers: TargetServers,
  sourceKeycloakUrl?: string,
): { tenants: Tenant[]; changes: string[] } {
  const changes: string[] = [];
  const out = tenants.map((original) => {
    const t = { ...original };
    const code = typeof t.tenantCode === 'string' ? t.tenantCode : '(no tenantCode)';
    const kc = servers.keycloak;
    const auth = t.kcAuthUrl;
    if (kc?.publicUrl && typeof auth === 'string' && onKeycloak(auth, sourceKeycloakUrl)) {
      const base = sourceKeycloakUrl!.replace(/\/+$/, '');
      const planning = kc.publicUrl === '\0';
      const to = planning ? '' : kc.publicUrl.replace(/\/+$/, '') + auth.slice(base.length);
      if (to !== auth) {
        if (!planning) t.kcAuthUrl = to;
        changes.push(
          `${code}: kcAuthUrl: the app's Keycloak ${base}: set to the target Keycloak's public URL${planning ? '' : ` ${to}`}`,
        );
      }
    }
    if (
      kc &&
      (t.kcAdminUsername !== undefined || t.kcAdminPassword !== undefined) &&
      sameService(serviceOfUrl(t.kcInternalAuthUrl, namespace), kc.service) &&
      (t.kcAdminUsername !== kc.username || t.kcAdminPassword !== kc.password)
    ) {
      t.kcAdminUsername = kc.username;
      t.kcAdminPassword = kc.password;
      changes.push(`${code}: kcAdminUsername, kcAdminPassword: set to the target Keycloak admin's`);
    }
    const db = servers.dbms;
    for (const prefix of ['db', 'deDb']) {
      if (!db || t[`${prefix}Username`] !== db.username) continue;
      if (!sameService(serviceOfUrl(t[`${prefix}Url`], namespace), db.service)) continue;
      if (t[`${prefix}Password`] === db.password) continue;
      t[`${prefix}Password`] = db.password;
      changes.push(
        `${code}: ${prefix}Password: set to the target DBMS admin's (${prefix}Username ${db.username})`,
      );
    }
    return t;
  });
  return { tenants: out, changes };
}
