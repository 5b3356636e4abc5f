import type { BackupContext, Component, PlanContext } from '../component.js';
import { backupFiles, COMPONENT } from './backup.js';
import { backupCds } from './cds-backup.js';
import { planFilesSteps } from './restore-plan.js';
import { TreeHeaderChecks } from './precheck.js';
import { podWorkNeeds } from '../../kube/access.js';
import { metaOf } from '../../contract/manifest.js';

export type { FilesEntryMeta, FilesSummary } from './backup.js';

/**
 * /entando-data of the app engine (protected/, resources/; entando-indices/ on request) and
 * databases/ of every server with embedded databases (app engine, component manager,
 * plugins), each directory one tar streamed from the pod straight into the archive, and
 * restored by streaming it into tar -x in the target after every header was checked.
 */
export const filesComponent: Component = {
  name: COMPONENT,

  async backup(ctx: BackupContext) {
    await backupFiles(ctx);
    // Then the tenants' CDS volumes (files of the primary too with CDS_ENABLED=true).
    await backupCds(ctx);
  },

  async plan(ctx: PlanContext) {
    return planFilesSteps(ctx);
  },
  // The tar headers of every tree, checked while the verifying pass reads it.
  archivePass: () => {
    const trees = new TreeHeaderChecks();
    return {
      visit: (path, body) => trees.visit(path, body),
      finish: async () => ({ headerChecks: await trees.finish() }),
    };
  },
  // Read in the app's pod (exec tar); with --quiesce through a short-lived pod on the volume.
  backupAccess: (ctx) =>
    podWorkNeeds(ctx.namespace, { pods: ctx.options.quiesce, scale: ctx.options.quiesce }),
  // Extracted in the app's pod; embedded databases with the deployment at 0 through a volume pod.
  restoreAccess: (ctx) => {
    const metas = ctx.archive.manifest.entries
      .map((e) => metaOf(e, COMPONENT))
      .filter((m) => m !== undefined);
    if (metas.length === 0) return [];
    const embedded = metas.some((m) => m.embedded);
    return podWorkNeeds(ctx.mapping.targetNamespace, { pods: embedded, scale: embedded });
  },
};
