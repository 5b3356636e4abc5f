import { entryStream } from '../../archive/entry-stream.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { ObjectRef } from '../../kube/object.js';
import { formatBytes } from '../../report/progress.js';
import { timed, type PlanStep, type StepContext } from '../../contract/plan.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import { mapLimit } from '../../util/limit.js';
import type { PlanContext } from '../component.js';
import { discoverOwner, type Datasource, type Discovery } from './discovery.js';
import { ClientPods, executorFor } from './executor.js';
import { metaOf, type DatabaseEntryMeta } from '../../contract/manifest.js';
import { loadDump } from './load.js';
import { planTenantSteps } from './tenant-restore.js';
import { pluginDataPlacement, type PluginPlacement } from '../../contract/mapping.js';
import { phase, type PhaseName } from '../../contract/order.js';
import type { ScaleWindow } from '../../contract/scale-window.js';

/**
 * Where an owner's database step goes in the restore order (src/restore/order.ts): a plugin's
 * in plugin-databases, or after the reinstall of its bundle when that makes the plugin; any
 * other owner's (the app's, Keycloak's first) in app-databases.
 */
export function databasesPhase(ownerKind: string, at: PluginPlacement): PhaseName {
  if (at.afterReinstall) {
    return at.tenantReinstall
      ? 'reinstalled-tenant-plugin-databases'
      : 'reinstalled-plugin-databases';
  }
  return ownerKind === EntandoKind.Plugin ? 'plugin-databases' : 'app-databases';
}

const PHASE = 'databases';

interface Archived {
  entry: ManifestEntry;
  meta: DatabaseEntryMeta;
}

export function archivedDatabases(entries: ManifestEntry[]): Archived[] {
  return entries
    .map((entry) => ({ entry, meta: metaOf(entry, 'databases') }))
    .filter((a): a is Archived => a.meta !== undefined);
}

/** One step per owner (app, plugin, Keycloak): wait, scale to 0, load its schemas, scale back. */
export async function planDatabaseSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const byOwner = new Map<string, Archived[]>();
  const byTenant = new Map<string, Archived[]>();
  for (const a of archivedDatabases(ctx.archive.manifest.entries)) {
    const tenant = a.meta.owner.tenant;
    const [map, key] = tenant
      ? [byTenant, tenant]
      : [byOwner, `${a.meta.owner.kind}/${a.meta.owner.name}`];
    map.set(key, [...(map.get(key) ?? []), a]);
  }
  // The app's step joins its scale window first: tenants' steps run in the same one.
  const steps: PlanStep[] = [];
  const ns = ctx.mapping.targetNamespace;
  for (const group of byOwner.values()) {
    const owner = group[0].meta.owner;
    const ref: ObjectRef = {
      apiVersion: ENTANDO_API,
      kind: owner.kind,
      namespace: ns,
      name: owner.name,
    };
    const what = group
      .map(
        (a) =>
          `${a.meta.qualifier}: ${a.meta.dbms} ${a.meta.dbms === 'postgresql' ? 'schema' : 'database'} ${a.meta.schema} (${formatBytes(a.entry.size)})`,
      )
      .sort();
    const placement =
      owner.kind === EntandoKind.Plugin
        ? pluginDataPlacement(ctx.mapping, owner.name)
        : { afterReinstall: false };
    const base = {
      priority: phase(databasesPhase(owner.kind, placement)).priority,
      phase: PHASE,
      component: 'databases',
      object: ref,
      changes: what.map((w) => `load ${w}`),
    };
    if (placement.skip) {
      steps.push({ ...base, action: 'skip', reason: placement.skip });
      continue;
    }
    if (ctx.existing === 'skip' && (await ctx.target.get(ref))) {
      steps.push({
        ...base,
        action: 'skip',
        reason: `${owner.kind} ${owner.name} exists in the target: its databases are left as they are (--existing skip)`,
      });
      continue;
    }
    const window = ctx.windows.of({ kind: owner.kind, name: owner.name, namespace: ns });
    window.join();
    steps.push({
      ...base,
      action: 'run',
      group: window.group,
      reason: `${placement.afterReinstall ? 'after the reinstall of its bundle made the plugin, ' : ''}once the operator has made the roles and schemas from the restored secrets: deployments scaled to 0, each schema emptied and loaded as its own user, Liquibase lock cleared, deployments scaled back`,
      run: (c) => window.run(c, () => restoreOwner(c, ctx, ref, group, window)),
    });
  }
  steps.push(...(await planTenantSteps(ctx, byTenant)));
  return steps;
}

async function restoreOwner(
  c: StepContext,
  ctx: PlanContext,
  ref: ObjectRef,
  group: Archived[],
  window: ScaleWindow,
): Promise<void> {
  // Keycloak is the operator's own (not restored): its database is loaded only into a
  // Keycloak of the same name that uses the same user; otherwise it stays in the archive.
  const keycloak = ref.kind === EntandoKind.KeycloakServer;
  if (keycloak && !(await c.target.get(ref))) {
    c.results.warn(
      `${ref.kind} ${ref.namespace}/${ref.name}`,
      'not in the target: its database (in the archive) was not loaded',
    );
    return;
  }
  await timed(c, `wait for the operator: ${ref.kind} ${ref.name}`, () =>
    waitForEntandoReady(c.target, ref, ctx.waitTimeoutMs ?? 600_000, c.progress),
  );
  const owner = await c.target.get(ref);
  if (!owner) throw new OperationError(`${ref.kind} ${ref.name} is not in the target`);
  const found: Discovery = { datasources: [], embedded: [], problems: [] };
  await discoverOwner(c.target, owner, found);
  if (found.problems.length > 0) throw new OperationError(found.problems.join('; '));
  let pairs: (Archived & { ds: Datasource })[];
  try {
    pairs = group.map((a) => ({ ...a, ds: matchTarget(a.meta, found.datasources, ref) }));
  } catch (err) {
    if (!keycloak) throw err;
    c.results.warn(
      `${ref.kind} ${ref.namespace}/${ref.name}`,
      `database not loaded: ${(err as Error).message}`,
    );
    return;
  }
  const clients = new ClientPods(c.target, owner.metadata.name, ctx.dbClientImage, c.progress);
  try {
    await window.enter(c, owner);
    await mapLimit(pairs, ctx.parallel, async ({ entry, meta, ds }) => {
      if (c.signal.aborted) throw new OperationError('interrupted');
      const exec = await executorFor(c.target, ref.namespace!, ds, clients);
      const started = Date.now();
      const dump = entryStream(ctx.archive, entry);
      try {
        await timed(c, `load ${ds.dbms} ${meta.qualifier} (${ref.name})`, () =>
          loadDump(exec, ds, dump, { signal: c.signal }),
        );
      } catch (err) {
        // A cut connection reports itself in many ways: say what happened.
        if (c.signal.aborted) throw new OperationError(`interrupted while loading ${ds.schema}`);
        throw err;
      } finally {
        dump.destroy();
      }
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      c.progress(
        `loaded ${meta.qualifier} of ${ref.name} into ${ds.dbms} ${ds.schema}: ${formatBytes(entry.size)} in ${seconds.toFixed(1)} s (${(entry.size / seconds / 1e6).toFixed(1)} MB/s)`,
      );
    });
  } finally {
    await clients.dispose();
  }
}

/**
 * The target's datasource for an archived one: same qualifier, same DBMS, same user (the
 * restored secret), so the dump's schema names and its objects' owner are right.
 */
export function matchTarget(
  meta: DatabaseEntryMeta,
  targets: Datasource[],
  ref: ObjectRef,
): Datasource {
  const ds = targets.find((d) => d.qualifier === meta.qualifier);
  const where = `${ref.kind} ${ref.name} ${meta.qualifier}`;
  if (!ds) {
    throw new OperationError(
      `${where}: the restored ${ref.kind} has no ${meta.qualifier} datasource in the target (its dbms or environment variables differ from the archived ones)`,
    );
  }
  if (ds.dbms !== meta.dbms) {
    throw new OperationError(`${where}: archived from ${meta.dbms}, the target uses ${ds.dbms}`);
  }
  if (ds.username !== meta.username || ds.schema !== meta.schema) {
    throw new OperationError(
      `${where}: the target uses user ${ds.username} (schema ${ds.schema}) but the archive holds ${meta.username}'s schema ${meta.schema}: restore the credential secret${meta.secret ? ` ${meta.secret}` : ''} from the archive before the app (run the restore with --existing update)`,
    );
  }
  return ds;
}
