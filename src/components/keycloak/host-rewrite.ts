import { keycloakBasis } from '../../entando/release-versions.js';
import { compareVersions } from '../../util/version-tag.js';

/**
 * A realm restored under another host: every redirect URI and web origin (and post-logout
 * redirect URI) of every client that names the old host gets the same one with the new host
 * beside it, as Entando's operator appends and never removes (REFERENCE.md, Keycloak).
 */
export interface RealmClient {
  clientId: string;
  redirectUris?: string[];
  webOrigins?: string[];
  attributes?: Record<string, string>;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `uri` with `from` as its host replaced by `to`, or undefined when it does not name `from`. */
export function withHost(uri: string, from: string, to: string): string | undefined {
  const re = new RegExp(`^([a-z][a-z0-9+.-]*://)${escape(from)}(?=[:/?#*]|$)`, 'i');
  return re.test(uri) ? uri.replace(re, `$1${to}`) : undefined;
}

function addBeside(list: string[], from: string, to: string): string[] {
  const out = [...list];
  for (const u of list) {
    const v = withHost(u, from, to);
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

const POST_LOGOUT = 'post.logout.redirect.uris';

/** Adds the new host beside the old one in every client; returns one line per changed client. */
export function addHostToClients(clients: RealmClient[], from: string, to: string): string[] {
  const changes: string[] = [];
  for (const c of clients) {
    const before = JSON.stringify([c.redirectUris, c.webOrigins, c.attributes?.[POST_LOGOUT]]);
    if (c.redirectUris) c.redirectUris = addBeside(c.redirectUris, from, to);
    if (c.webOrigins) c.webOrigins = addBeside(c.webOrigins, from, to);
    const logout = c.attributes?.[POST_LOGOUT];
    if (logout) c.attributes![POST_LOGOUT] = addBeside(logout.split('##'), from, to).join('##');
    if (JSON.stringify([c.redirectUris, c.webOrigins, c.attributes?.[POST_LOGOUT]]) !== before) {
      changes.push(`client ${c.clientId}: redirect URIs and web origins for ${to} beside ${from}`);
    }
  }
  return changes;
}

/**
 * Whether a realm exported by Keycloak `from` can be imported into Keycloak `to`: same or newer
 * major (an import upgrades a representation, never downgrades it); RH-SSO's product versions
 * count as the Keycloak they are based on. Undefined when it can (or either is not known);
 * else why not. Checked again here, against the running server, after the plan's check.
 */
export function importRefusal(
  from: string | undefined,
  to: string | undefined,
): string | undefined {
  if (!from || !to) return undefined;
  if (compareVersions(keycloakBasis(to), keycloakBasis(from), 1) === -1) {
    return `the realm was exported by Keycloak ${from} and the target runs ${to}: Keycloak imports realms of its own or an older version only; upgrade the target's Keycloak, or restore with --keycloak keep or --keycloak skip`;
  }
  return undefined;
}
