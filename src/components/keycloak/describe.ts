import type { KeycloakSummary } from './backup.js';

/** One line about the archive's Keycloak part, for backup and inspect. */
export function describeKeycloak(k: KeycloakSummary): string {
  if (k.mode !== 'realm' || !k.counts) {
    return `realm ${k.realm} not carried (${k.mode}${k.reason ? `: ${k.reason}` : ''})`;
  }
  const c = k.counts;
  return (
    `realm ${k.realm} (Keycloak ${k.keycloakVersion ?? c.keycloakVersion ?? '?'}): ` +
    `${c.users - c.serviceAccounts} users (+${c.serviceAccounts} service accounts), ${c.clients} clients, ` +
    `${c.realmRoles} realm roles, ${c.clientRoles} client roles, ${c.groups} groups, ` +
    `${c.keyProviders} key providers, localization: ${k.locales?.length ? k.locales.join(' ') : 'none'}`
  );
}
