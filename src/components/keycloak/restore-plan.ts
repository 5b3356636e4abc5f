import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import type { ObjectRef } from '../../kube/object.js';
import type { PlanStep } from '../../contract/plan.js';
import { hostChanges } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { PlanContext } from '../component.js';
import { COMPONENT, type KeycloakSummary } from './backup.js';
import { keepSteps } from './keep.js';
import { restoreRealm } from './realm-import.js';
import {
  carriedTenantRealms,
  tenantRealmChanges,
  tenantRealmsNamed,
} from './tenant-realms-restore.js';

/** The realm goes after the links: see the keycloak phase of src/restore/order.ts. */
const PHASE = 'keycloak';

export function keycloakSummary(ctx: PlanContext): KeycloakSummary | undefined {
  return ctx.archive.manifest.components[COMPONENT];
}

/**
 * The steps --keycloak makes of the archived realm: skip and keep (of an external Keycloak)
 * leave the realm alone; keep of an in-namespace Keycloak declares it as external
 * (keep.ts); realm imports the archived realm into the target's Keycloak (realm-import.ts).
 */
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
  const tenants = tenantRealmsNamed(summary.tenantRealms);
  if (mode === 'skip') {
    return [
      {
        ...base,
        action: 'skip',
        reason: `realm ${summary.realm} not restored (--keycloak skip): the target's operator makes new clients in its own realm; the archive's SSO client secrets are left out so that they match${tenants ? `; the tenants' realms ${tenants} are not restored either: their tenants cannot log in until those realms are made in the target's Keycloak with the clients and secrets of ENTANDO_TENANTS` : ''}`,
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
    const steps = keepSteps(ctx, summary, original, base);
    const kept = tenantRealmsNamed(carriedTenantRealms(summary.tenantRealms));
    if (!kept) return steps;
    // The tenants Secret's rewrite keeps their Keycloak URLs with keep: they stay on the source's.
    return [
      ...steps,
      {
        ...base,
        action: 'skip',
        reason: `the tenants' realms ${kept} are not restored (--keycloak keep): the restored tenants keep using the source's Keycloak (kcAuthUrl and kcInternalAuthUrl kept); their clients are not given the tenants' new hosts there`,
        changes: [],
      },
    ];
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
  changes.push(...tenantRealmChanges(ctx.archive, ctx.mapping, summary.tenantRealms));
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
