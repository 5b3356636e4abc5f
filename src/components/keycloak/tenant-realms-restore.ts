/**
 * The restore's side of the secondary tenants' realms: which hosts their clients get (the moves
 * the tenants Secret's rewrite makes, so that realm and Secret agree), what the plan says of
 * each, and the check that their clients' secrets are those of the restored ENTANDO_TENANTS.
 */
import { hostChanges, type RestoreMapping } from '../../contract/mapping.js';
import type { TenantRealmSummary } from '../../contract/manifest.js';
import type { LoadedArchive } from '../../contract/component.js';
import { archivedTenantsSecret } from '../resources/tenants-restore.js';
import { hostMoves, rewriteTenants, type Tenant } from '../resources/tenants-rewrite.js';
import { tenantsOf } from '../resources/transforms/tenants-secret.js';
import type { KeycloakAdmin } from './admin.js';

/** The tenant realms an archive carries. */
export const carriedTenantRealms = (t: TenantRealmSummary[] | undefined) =>
  (t ?? []).filter((r) => r.mode === 'realm');

/**
 * Old host to new for the clients of a tenant realm: the app's host (a realm copied from the
 * app's names it), then each of its tenants' `fqdns` as the Secret's rewrite moves them.
 */
export function tenantRealmMoves(
  archive: LoadedArchive,
  mapping: RestoreMapping,
  t: TenantRealmSummary,
): [string, string][] {
  const moves: [string, string][] = hostChanges(mapping)
    ? [[mapping.sourceHost!, mapping.targetHost!]]
    : [];
  const secret = archivedTenantsSecret(archive);
  const before = (secret && tenantsOf(secret)) ?? [];
  const after = rewriteTenants(before, mapping).tenants;
  for (const [i, tenant] of before.entries()) {
    if (!t.tenants.includes(String(tenant.tenantCode))) continue;
    for (const m of hostMoves(tenant, after[i])) {
      if (!moves.some(([f, to]) => f === m[0] && to === m[1])) moves.push(m);
    }
  }
  return moves;
}

const userCountOf = (t: TenantRealmSummary) => t.counts!.users - t.counts!.serviceAccounts;

/** The plan's lines about the tenants' realms for --keycloak realm. */
export function tenantRealmChanges(
  archive: LoadedArchive,
  mapping: RestoreMapping,
  tenantRealms: TenantRealmSummary[] | undefined,
): string[] {
  const lines: string[] = [];
  for (const t of tenantRealms ?? []) {
    const who = `tenant${t.tenants.length > 1 ? 's' : ''} ${t.tenants.join(', ')}`;
    if (t.mode === 'app-realm') {
      lines.push(`${who}: the app's realm ${t.realm}`);
    } else if (t.mode === 'not-carried') {
      lines.push(
        `${who}: realm ${t.realm || '(none)'} not in the archive (${t.reason}): left as it is`,
      );
    } else {
      const c = t.counts!;
      lines.push(
        `${who}: realm ${t.realm} imported in the same run: ${userCountOf(t)} users, ${c.clients} clients, ${c.groups} groups, ${c.realmRoles + c.clientRoles} roles`,
      );
      const moves = tenantRealmMoves(archive, mapping, t);
      if (moves.length > 0) {
        lines.push(
          `realm ${t.realm}: redirect URIs and web origins naming ${moves.map(([f, to]) => `${f} get ${to}`).join(', ')} beside them`,
        );
      }
      lines.push(
        `realm ${t.realm}: the secrets of the clients kcClientId and deKcClientId of ${who} checked against kcClientSecret and deKcClientSecret of the restored ENTANDO_TENANTS (the import keeps the archived secrets, which the source's JSON held)`,
      );
    }
  }
  return lines;
}

/** Tenants' realms not carried or not imported, as a plan names them. */
export function tenantRealmsNamed(tenantRealms: TenantRealmSummary[] | undefined): string {
  return (tenantRealms ?? [])
    .filter((t) => t.mode !== 'app-realm' && t.realm)
    .map((t) => `${t.realm} (${t.tenants.join(', ')})`)
    .join(', ');
}

const CLIENT_FIELDS = [
  ['kcClientId', 'kcClientSecret'],
  ['deKcClientId', 'deKcClientSecret'],
] as const;

/**
 * Whether each tenant's clients in `realm` hold the secrets its ENTANDO_TENANTS object names;
 * `ok` and `problems` name clients and fields, never a secret.
 */
export async function checkTenantClientSecrets(
  admin: Pick<KeycloakAdmin, 'findClient' | 'clientSecret'>,
  realm: string,
  tenants: Tenant[],
  codes: string[],
): Promise<{ ok: string[]; problems: string[] }> {
  const ok: string[] = [];
  const problems: string[] = [];
  for (const code of codes) {
    const tenant = tenants.find((t) => t.tenantCode === code);
    if (!tenant) {
      problems.push(`tenant ${code}: not in the target's ENTANDO_TENANTS`);
      continue;
    }
    for (const [idField, secretField] of CLIENT_FIELDS) {
      const clientId = tenant[idField];
      const want = tenant[secretField];
      if (typeof clientId !== 'string' || typeof want !== 'string') continue;
      const client = await admin.findClient(realm, clientId);
      const have = client?.id ? await admin.clientSecret(realm, client.id) : undefined;
      if (!client) {
        problems.push(`tenant ${code}: no client ${clientId} (${idField}) in realm ${realm}`);
      } else if (have !== want) {
        problems.push(
          `tenant ${code}: client ${clientId} of realm ${realm} does not hold ${secretField} (as in the source: the import keeps the archived secret); set one to the other, or the tenant's ${idField === 'kcClientId' ? 'app engine' : 'component manager'} cannot authenticate`,
        );
      } else {
        ok.push(`tenant ${code}: client ${clientId} holds ${secretField}`);
      }
    }
  }
  return { ok, problems };
}
