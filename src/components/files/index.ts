import type { BackupContext, Component, PlanContext } from '../component.js';
import { backupFiles, COMPONENT } from './backup.js';
import { planFilesSteps } from './restore.js';

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
  },

  async plan(ctx: PlanContext) {
    return planFilesSteps(ctx);
  },
};
