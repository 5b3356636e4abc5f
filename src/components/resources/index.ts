import { resourcePath } from '../../archive/layout.js';
import { describeRef, refOf, type KubeObject } from '../../kube/object.js';
import type { BackupContext, Component, PlanContext } from '../component.js';
import type { ResourcesSummary } from '../../contract/manifest.js';
import { captureAppObjects } from './capture.js';
import { planObjectSteps } from './plan.js';
import { resourcesBackupAccess, resourcesRestoreAccess } from './access.js';
import { recordHandAddedEnv } from './hand-env.js';
import { planHandEnvSteps } from './hand-env-restore.js';
import { planTenantsSteps, tenantsRestoreMapping } from './tenants-restore.js';
import { readTenants } from '../../entando/tenants.js';
import { tenancyRecord } from '../../entando/tenancy-record.js';
import { spec } from '../../kube/object.js';
import { planLeftToYouSteps } from './left-to-you.js';

export type { ResourcesSummary } from '../../contract/manifest.js';

/** The app's Kubernetes objects: custom resources, secrets, config maps, service accounts. */
export const resourcesComponent: Component = {
  name: 'resources',

  async backup(ctx: BackupContext) {
    const captured = await captureAppObjects(ctx.kube, ctx.app, ctx.results);
    const summary: ResourcesSummary = { counts: {}, objects: [] };
    for (const { object, why } of captured) {
      const ref = refOf(object);
      await ctx.archive.addBuffer(resourcePath(ref), Buffer.from(JSON.stringify(object, null, 2)));
      summary.counts[object.kind] = (summary.counts[object.kind] ?? 0) + 1;
      summary.objects.push({ ref, why });
      ctx.output.debug(`captured ${describeRef(ref)} (${why})`);
    }
    const handAddedEnv = await recordHandAddedEnv(ctx.kube, ctx.app);
    if (handAddedEnv.length > 0) summary.handAddedEnv = handAddedEnv;
    // What the restore leaves to the user (Solr, Redis) is read from config, never from Solr.
    const { facts, configs } = await readTenants(ctx.kube, ctx.app);
    const host = spec(ctx.app).ingressHostName as string | undefined;
    const tenancy = tenancyRecord(facts, configs, host);
    if (tenancy) summary.tenancy = tenancy;
    ctx.archive.manifest.components.resources = summary;
  },

  async plan(ctx: PlanContext) {
    return [
      ...(await planObjectSteps(ctx, ctx.archive.objects as KubeObject[])),
      ...(await planHandEnvSteps(ctx)),
      ...(await planTenantsSteps(ctx)),
      ...planLeftToYouSteps(ctx),
    ];
  },
  restoreMapping: tenantsRestoreMapping,
  backupAccess: resourcesBackupAccess,
  restoreAccess: resourcesRestoreAccess,
};
