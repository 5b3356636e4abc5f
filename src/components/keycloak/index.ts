import type { BackupContext, Component, PlanContext } from '../component.js';
import { backupKeycloak, COMPONENT } from './backup.js';
import { planKeycloakSteps } from './restore.js';

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
};
