import type { TenantRealmSummary } from '../../contract/manifest.js';
import type { KeycloakSummary } from './backup.js';

/** One line about the archive's Keycloak part, for backup and inspect. */
export function describeKeycloak(k: KeycloakSummary): string {
  if (k.mode !== 'realm' || !k.counts) {
    return `realm ${k.realm} not carried (${k.mode}${k.reason ? `: ${k.reason}` : ''})`;
  }
  return `realm ${k.realm} (Keycloak ${k.keycloakVersion ?? k.counts.keycloakVersion ?? '?'}): ${describeCounts(k)}`;
}

/** One line per secondary tenants' realm (none for a single-tenant app or an older archive). */
export function describeTenantRealms(k: KeycloakSummary): string[] {
  return (k.tenantRealms ?? []).map((t) => {
    const who = `tenant${t.tenants.length > 1 ? 's' : ''} ${t.tenants.join(', ')}`;
    return `${who}: ${describeTenantRealm(t)}`;
  });
}

/** One tenants' realm: the app's, carried with its counts, or why not carried. */
export function describeTenantRealm(t: TenantRealmSummary): string {
  if (t.mode === 'app-realm') return `the app's realm ${t.realm}`;
  if (t.mode !== 'realm' || !t.counts) {
    return `realm ${t.realm || '(none)'} not carried (${t.reason ?? t.mode})`;
  }
  return `realm ${t.realm}: ${describeCounts(t)}`;
}

function describeCounts(k: Pick<KeycloakSummary, 'counts' | 'locales'>): string {
  const c = k.counts!;
  return (
    `${c.users - c.serviceAccounts} users (+${c.serviceAccounts} service accounts), ${c.clients} clients, ` +
    `${c.realmRoles} realm roles, ${c.clientRoles} client roles, ${c.groups} groups, ` +
    `${c.keyProviders} key providers, localization: ${k.locales?.length ? k.locales.join(' ') : 'none'}`
  );
}
