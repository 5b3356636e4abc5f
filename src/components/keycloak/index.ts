import type { BackupContext, Component, PlanContext } from '../component.js';
import { backupKeycloak, COMPONENT } from './backup.js';
import { planKeycloakSteps } from './restore-plan.js';
import { keycloakMapping } from './mode.js';
import { needs, podWorkNeeds, streamNeeds, type AccessNeed } from '../../kube/access.js';
import { EntandoKind } from '../../entando/kinds.js';
import { spec } from '../../kube/object.js';

/** The realm is exported or imported by a server started in the Keycloak pod; the admin API
 * is reached through a port-forward to it. */
function realmWorkNeeds(ns: string): AccessNeed[] {
  return [
    ...podWorkNeeds(ns),
    ...streamNeeds('portforward', ns),
    ...needs(EntandoKind.KeycloakServer, ['get'], ns),
    ...needs('Secret', ['get'], ns),
  ];
}

/**
 * The app's Keycloak realm: exported with full fidelity in the Keycloak pod (users with their
 * password hashes and OTP secrets, clients with secrets, realm keys, roles, groups, flows...),
 * localization texts over REST; restored by replacing the target operator's fresh realm with it.
 */
export const keycloakComponent: Component = {
  name: COMPONENT,
  async backup(ctx: BackupContext) {
    await backupKeycloak(ctx);
  },
  async plan(ctx: PlanContext) {
    return planKeycloakSteps(ctx);
  },
  restoreMapping: (archive, choices) => keycloakMapping(archive, choices.keycloak),
  backupAccess: (ctx) => {
    if (ctx.options.keycloak !== 'realm') return [];
    const ref = spec(ctx.app).keycloakToUse as { namespace?: string } | undefined;
    return realmWorkNeeds(ref?.namespace || ctx.namespace);
  },
  restoreAccess: (ctx) => {
    const summary = ctx.archive.manifest.components[COMPONENT];
    const ns = ctx.mapping.targetNamespace;
    if (!summary) return [];
    if (ctx.mapping.keycloak === 'realm') {
      // Secrets set from the realm, and the deployments reading them restarted.
      return [
        ...realmWorkNeeds(ns),
        ...needs('Secret', ['patch'], ns),
        ...needs('Deployment', ['patch'], ns),
      ];
    }
    if (ctx.mapping.originalKeycloak) {
      // The source's Keycloak declared as an external one, with its admin secret.
      return [
        ...needs(EntandoKind.KeycloakServer, ['get', 'create', 'patch'], ns),
        ...needs('Secret', ['get', 'create', 'patch'], ns),
      ];
    }
    return [];
  },
};
