import type { BackupContext, Component, PlanContext } from '../component.js';
import { backupFiles, COMPONENT } from './backup.js';
import { backupCds } from './cds-backup.js';
import { planFilesSteps } from './restore-plan.js';
import { planCdsSteps } from './cds-restore.js';
import { TreeHeaderChecks } from './precheck.js';
import { needs, podWorkNeeds } from '../../kube/access.js';
import { mapNamespace } from '../../contract/mapping.js';
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
    return [...(await planFilesSteps(ctx)), ...(await planCdsSteps(ctx))];
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
  // CDS volumes (in the app's namespace, as Entando's samples put them) always through one.
  backupAccess: (ctx) => [
    ...podWorkNeeds(ctx.namespace, { pods: ctx.options.quiesce, scale: ctx.options.quiesce }),
    ...(ctx.options.tenantCdsFiles === false ? [] : cdsBackupNeeds(ctx.namespace)),
  ],
  // Extracted in the app's pod; embedded databases with the deployment at 0 through a volume pod.
  restoreAccess: (ctx) => {
    const metas = ctx.archive.manifest.entries
      .map((e) => metaOf(e, COMPONENT))
      .filter((m) => m !== undefined);
    if (metas.length === 0) return [];
    const embedded = metas.some((m) => m.embedded);
    // A CDS volume is filled through a volume pod, its deployment scaled to 0 if there.
    const cds = [
      ...new Set(
        metas.flatMap((m) => (m.cds ? [mapNamespace(ctx.mapping, m.cds.namespace)!] : [])),
      ),
    ];
    return [
      ...podWorkNeeds(ctx.mapping.targetNamespace, { pods: embedded, scale: embedded }),
      ...cds.flatMap((ns) => [
        ...podWorkNeeds(ns, { pods: true, scale: true }),
        ...needs('PersistentVolumeClaim', ['get'], ns),
      ]),
    ];
  },
};

/** Finding the CDS (Services, Deployments, PVCs, pods) and reading it through a volume pod. */
function cdsBackupNeeds(namespace: string) {
  return [
    ...podWorkNeeds(namespace, { pods: true }),
    ...needs('Service', ['get'], namespace),
    ...needs('PersistentVolumeClaim', ['get'], namespace),
  ];
}
