import { EntandoKind, serverStatuses } from './kinds.js';
import type { KubeObject } from '../kube/object.js';

/** Servers the operator regenerates with their own secrets: never quiesced, never followed. */
const INFRASTRUCTURE = new Set(['db', 'sso']);

/** Deployment names of an Entando CR's own servers (app engine, cm, ab; a plugin's server). */
export function serverDeploymentNames(owner: KubeObject): string[] {
  return Object.entries(serverStatuses(owner))
    .filter(([qualifier, s]) => !INFRASTRUCTURE.has(qualifier) && s.deploymentName)
    .map(([, s]) => s.deploymentName!);
}

/**
 * The deployments that use an owner's datasources (never the DBMS's own): an app's or
 * plugin's own servers; a Keycloak's servers but its database. Their env declares the
 * datasources (discovery); they are scaled to 0 while the owner's data is restored.
 */
export function dataDeploymentNames(owner: KubeObject): string[] {
  if (owner.kind !== EntandoKind.KeycloakServer) return serverDeploymentNames(owner);
  return Object.entries(serverStatuses(owner))
    .filter(([q, s]) => q !== 'db' && s.deploymentName)
    .map(([, s]) => s.deploymentName!);
}
