/**
 * Which secondary tenants' realms a backup carries. Entando 7.2/7.3 tenants each name a realm
 * (`kcRealm` in ENTANDO_TENANTS), made by hand as a copy of the app's, "in the standard
 * Entando-deployed Keycloak instance" by default, though `kcAuthUrl` may name another Keycloak
 * (/work/shared/entando/TENANTS.md §1, §3). A realm in the app's in-namespace Keycloak is
 * exported with the app's realm, in the same side-server run; any other is recorded as not
 * carried, with why, and named by the multi-tenant refusal.
 */
import { serverStatuses } from '../../entando/kinds.js';
import type { TenantConfig } from '../../entando/tenants.js';
import type { KubeClient } from '../../kube/client.js';
import { serviceOfHost } from '../../kube/service-host.js';
import type { TenantRealmSummary } from '../../contract/manifest.js';
import { urlHosts } from '../resources/tenants-rewrite.js';

import { frontEndUrl, locateKeycloak, realmOf } from './locate.js';

/** The app's in-namespace Keycloak as a tenant's URLs name it. */
export interface AppKeycloak {
  /** Its Service: what `kcInternalAuthUrl` names (7.3). */
  service: { name: string; namespace: string };
  /** Its public URL: what `kcAuthUrl` names, when known. */
  frontEndUrl?: string;
}

const MASTER = 'master';

/**
 * Undefined when the tenant's realm lives in `kc`, else why not. `kcInternalAuthUrl` naming a
 * Service decides; else `kcAuthUrl`'s host against the Keycloak's public one; a tenant naming
 * neither uses Entando's default, the app's Keycloak.
 */
export function otherKeycloak(
  fields: Record<string, string>,
  kc: AppKeycloak,
  namespace: string,
): string | undefined {
  const internal = fields.kcInternalAuthUrl?.trim();
  const svc = internal ? serviceOfHost(urlHosts(internal)[0] ?? '', namespace) : undefined;
  if (svc) {
    if (svc.name === kc.service.name.toLowerCase() && svc.namespace === kc.service.namespace) {
      return undefined;
    }
    return `kcInternalAuthUrl names Service ${svc.namespace}/${svc.name}, not the app's Keycloak ${kc.service.namespace}/${kc.service.name}`;
  }
  const auth = fields.kcAuthUrl?.trim() || internal;
  if (!auth) return undefined;
  const host = urlHosts(auth)[0]?.toLowerCase();
  const own = kc.frontEndUrl ? urlHosts(kc.frontEndUrl)[0]?.toLowerCase() : undefined;
  if (!own) {
    return `cannot tell whether ${auth} is the app's Keycloak (its public URL is not known, and no kcInternalAuthUrl names its Service)`;
  }
  if (host === own) return undefined;
  return `${auth} is another Keycloak than the app's (${kc.frontEndUrl})`;
}

/**
 * The tenants' realms, one summary per distinct realm and fate: `realm` (to export from the
 * app's Keycloak; counts filled by the export), `app-realm` (the app's own) or `not-carried`.
 * `keycloak` is the app's in-namespace Keycloak, or why none is exported from.
 */
export function classifyTenantRealms(
  configs: TenantConfig[],
  appRealm: string,
  keycloak: AppKeycloak | { unavailable: string },
  namespace: string,
): TenantRealmSummary[] {
  const out = new Map<string, TenantRealmSummary>();
  const add = (
    tenant: string,
    realm: string,
    mode: TenantRealmSummary['mode'],
    reason?: string,
  ) => {
    const key = `${mode}\0${realm}\0${reason ?? ''}`;
    const found = out.get(key);
    if (found) found.tenants.push(tenant);
    else out.set(key, { tenants: [tenant], realm, mode, ...(reason ? { reason } : {}) });
  };
  for (const t of configs) {
    const realm = t.fields.kcRealm?.trim() ?? '';
    if (!realm) {
      add(t.code, '', 'not-carried', 'no kcRealm in its ENTANDO_TENANTS object');
      continue;
    }
    if ('unavailable' in keycloak) {
      add(t.code, realm, 'not-carried', keycloak.unavailable);
      continue;
    }
    const other = otherKeycloak(t.fields, keycloak, namespace);
    if (other) add(t.code, realm, 'not-carried', other);
    else if (realm === appRealm) add(t.code, realm, 'app-realm');
    else if (realm === MASTER)
      add(t.code, realm, 'not-carried', "the master realm is Keycloak's own: never exported");
    else add(t.code, realm, 'realm');
  }
  return [...out.values()];
}

/** The tenants' realms of `app` for a backup with `--keycloak mode` (reads the cluster only). */
export async function discoverTenantRealms(
  kube: KubeClient,
  app: KubeObjectLike,
  configs: TenantConfig[],
  mode: 'realm' | 'skip',
): Promise<TenantRealmSummary[]> {
  if (configs.length === 0) return [];
  const ns = app.metadata.namespace!;
  if (mode === 'skip') {
    return classifyTenantRealms(configs, realmOf(app), { unavailable: '--keycloak skip' }, ns);
  }
  const where = await locateKeycloak(kube, app);
  if (where.kind !== 'in-namespace') {
    const unavailable = `${where.reason}: no Keycloak pod to export it from`;
    return classifyTenantRealms(configs, realmOf(app), { unavailable }, ns);
  }
  const main = serverStatuses(where.server).server ?? serverStatuses(where.server).main ?? {};
  const keycloak: AppKeycloak = {
    service: {
      name: main.serviceName ?? `${where.server.metadata.name}-service`,
      namespace: where.server.metadata.namespace!,
    },
    frontEndUrl: frontEndUrl(where.server),
  };
  return classifyTenantRealms(configs, realmOf(app), keycloak, ns);
}

type KubeObjectLike = Parameters<typeof realmOf>[0];

/** The realms to export (distinct, in tenant order). */
export const realmsToExport = (t: TenantRealmSummary[] | undefined) =>
  (t ?? []).filter((r) => r.mode === 'realm').map((r) => r.realm);

/** One line per tenant realm not carried, for the multi-tenant refusal. */
export function tenantRealmsLost(t: TenantRealmSummary[]): string[] {
  return t
    .filter((r) => r.mode === 'not-carried')
    .map(
      (r) =>
        `${r.realm ? `realm ${r.realm}` : 'the realm'} of ${r.tenants.length > 1 ? 'tenants' : 'tenant'} ${r.tenants.join(', ')} (${r.reason})`,
    );
}
