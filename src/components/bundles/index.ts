import type { BackupContext, Component, PlanContext } from '../component.js';
import { needs, streamNeeds, type AccessNeed } from '../../kube/access.js';
import { EntandoKind } from '../../entando/kinds.js';
import { spec } from '../../kube/object.js';
import { backupBundles, COMPONENT } from './backup.js';
import { bundlesSummary, planBundleSteps } from './restore.js';
import { bundlesModeFor } from './mode.js';

/** The CM and Keycloak are reached through port-forwards to their pods; secrets give the token. */
function cmNeeds(ns: string, keycloakNs: string): AccessNeed[] {
  const forward = (n: string): AccessNeed[] => [
    { verb: 'list', group: '', resource: 'pods', namespace: n },
    ...streamNeeds('portforward', n),
  ];
  return [
    ...forward(ns),
    ...(keycloakNs !== ns ? forward(keycloakNs) : []),
    ...needs('Secret', ['get'], ns),
    ...needs('Deployment', ['get'], ns),
    ...needs(EntandoKind.KeycloakServer, ['get'], keycloakNs),
  ];
}

/**
 * Bundles installed through the component manager: recorded at backup (code, CR namespace,
 * repo URL, installed version, last job, plugins) while the app runs, and reinstalled at
 * restore through the CM's API, one at a time, once its post-init is over.
 */
export const bundlesComponent: Component = {
  name: COMPONENT,
  async beforeQuiesce(ctx: BackupContext) {
    await backupBundles(ctx);
  },
  async backup() {
    // Everything is read in beforeQuiesce, while the component manager runs.
  },
  async plan(ctx: PlanContext) {
    return planBundleSteps(ctx);
  },
  restoreMapping: (archive, choices) => ({ bundles: bundlesModeFor(archive, choices.bundles) }),
  backupAccess: (ctx) => {
    const ref = spec(ctx.app).keycloakToUse as { namespace?: string } | undefined;
    return cmNeeds(ctx.namespace, ref?.namespace || ctx.namespace);
  },
  restoreAccess: (ctx) => {
    if (ctx.mapping.bundles?.mode !== 'reinstall' || !bundlesSummary(ctx)?.recorded) return [];
    const ns = ctx.mapping.targetNamespace;
    return cmNeeds(ns, ns);
  },
};
