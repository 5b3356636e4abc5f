import { entryStream } from '../../archive/entry-stream.js';
import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { readTenants, type TenantConfig } from '../../entando/tenants.js';
import { OperationError } from '../../errors.js';
import type { KubeObject, ObjectRef } from '../../kube/object.js';
import { serviceOfHost } from '../../kube/service-host.js';
import { formatBytes } from '../../report/progress.js';
import { timed, type PlanStep, type StepContext } from '../../contract/plan.js';
import { mapNamespace, type RestoreMapping } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { ScaleWindow } from '../../contract/scale-window.js';
import type { DatabaseEntryMeta } from '../../contract/manifest.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import { mapLimit } from '../../util/limit.js';
import type { LoadedArchive, PlanContext } from '../component.js';
import type { Datasource } from './discovery.js';
import { ClientPods, executorFor, type DbExecutor } from './executor.js';
import { loadDump } from './load.js';
import { dbmsAdmin, ensureTenantSchema, requireTenantSchema } from './tenant-admin.js';
import { TENANT_DATASOURCES, tenantQualifier } from './tenants.js';

interface Archived {
  entry: ManifestEntry;
  meta: DatabaseEntryMeta;
}

/**
 * The host a tenant's schema is loaded into: a Service of the source's namespace (or of a
 * --namespace-map one) names the target's; a bare service name is resolved from the target
 * namespace anyway; an external host stays.
 */
export function targetHost(host: string, mapping: RestoreMapping): string {
  const svc = serviceOfHost(host, mapping.sourceNamespace);
  const labels = host.split('.');
  if (!svc || labels.length === 1) return host;
  labels[1] = mapNamespace(mapping, svc.namespace) ?? labels[1];
  return labels.join('.');
}

/**
 * The tenants' JSON objects as the archive holds them (the passwords are in the archived
 * Secret, never in the manifest): read as at backup, from the archived Secrets, ConfigMaps and
 * EntandoApp, and the recorded hand-added env of the app engine standing in for its deployment.
 */
export async function archivedTenants(archive: LoadedArchive): Promise<TenantConfig[]> {
  const { namespace, app: appName } = archive.manifest.source;
  const app = archive.objects.find(
    (o) => o.kind === EntandoKind.App && o.metadata.name === appName,
  );
  if (!app) return [];
  const objects: KubeObject[] = [...archive.objects];
  const main = archive.manifest.components.resources?.handAddedEnv?.find(
    (h) => h.qualifier === 'main',
  );
  if (main) {
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${appName}-deployment`, namespace },
      spec: {
        template: {
          spec: { containers: [{ name: main.container, env: main.env, envFrom: main.envFrom }] },
        },
      },
    });
  }
  const reader = {
    get: async (ref: ObjectRef) =>
      objects.find(
        (o) =>
          o.kind === ref.kind &&
          o.metadata.name === ref.name &&
          (o.metadata.namespace ?? namespace) === (ref.namespace ?? namespace),
      ),
  };
  const source = { ...app, metadata: { ...app.metadata, namespace } };
  return (await readTenants(reader, source)).configs;
}

/**
 * One step per secondary tenant, in the tenant-databases phase: its schemas are loaded in a
 * scale-down of the app of their own, after the plugins' (a tenant may live in the in-namespace
 * DBMS the operator makes for a plugin) and before app-env gives the app engine ENTANDO_TENANTS,
 * each user and schema made first in the in-namespace DBMS.
 */
export async function planTenantSteps(
  ctx: PlanContext,
  groups: Map<string, Archived[]>,
): Promise<PlanStep[]> {
  const ns = ctx.mapping.targetNamespace;
  const shared = ctx.archive.manifest.components.databases?.shared ?? [];
  const tenants = new Set([
    ...groups.keys(),
    ...shared.flatMap((s) => (s.owner.tenant ? [s.owner.tenant] : [])),
  ]);
  const steps: PlanStep[] = [];
  for (const tenant of [...tenants].sort()) {
    const group = groups.get(tenant) ?? [];
    const sharedHere = shared.filter((s) => s.owner.tenant === tenant);
    const owner = group[0]?.meta.owner ?? sharedHere[0].owner;
    const ref: ObjectRef = {
      apiVersion: ENTANDO_API,
      kind: owner.kind,
      namespace: ns,
      name: owner.name,
    };
    const changes = [
      ...group.map(
        (a) =>
          `load ${a.meta.qualifier}: ${a.meta.dbms} ${a.meta.dbms === 'postgresql' ? 'schema' : 'database'} ${a.meta.schema} (${formatBytes(a.entry.size)}) on ${targetHost(a.meta.host, ctx.mapping)}, as ${a.meta.username}`,
      ),
      ...sharedHere.map(
        (s) => `${s.qualifier}: the schema of ${s.sameAs}, loaded with it (dumped once)`,
      ),
    ];
    const base = {
      priority: phase('tenant-databases').priority,
      phase: 'databases',
      component: 'databases',
      object: ref,
      changes,
    };
    if (group.length === 0) {
      steps.push({
        ...base,
        action: 'skip',
        reason: `tenant ${tenant}: every schema of it is another datasource's, loaded with that one`,
      });
      continue;
    }
    if (ctx.existing === 'skip' && (await ctx.target.get(ref))) {
      steps.push({
        ...base,
        action: 'skip',
        reason: `${owner.kind} ${owner.name} exists in the target: tenant ${tenant}'s databases are left as they are (--existing skip)`,
      });
      continue;
    }
    const window = ctx.windows.of({ kind: owner.kind, name: owner.name, namespace: ns }, 'tenants');
    window.join();
    steps.push({
      ...base,
      action: 'run',
      group: window.group,
      reason: `tenant ${tenant}: in the in-namespace DBMS its user (archived password) and schema are made when missing (the operator does not make a tenant's), on an external DBMS they must exist; then, with the app scaled to 0, each schema emptied and loaded as its own user`,
      run: (c) => window.run(c, () => restoreTenant(c, ctx, ref, tenant, group, window)),
    });
  }
  return steps;
}

/** The archived datasource as the target gets it: its host mapped, its password the JSON's. */
export function tenantTarget(
  meta: DatabaseEntryMeta,
  config: TenantConfig | undefined,
  mapping: RestoreMapping,
): Datasource {
  const tenant = meta.owner.tenant!;
  const field = TENANT_DATASOURCES.find(
    (f) => tenantQualifier(tenant, f.suffix) === meta.qualifier,
  );
  const password = field && config?.fields[field.password];
  if (password === undefined) {
    throw new OperationError(
      `tenant ${tenant}: the archive holds no ${field?.password ?? 'password'} for user ${meta.username} (ENTANDO_TENANTS not found as at backup, in ${meta.secret ? `Secret ${meta.secret}` : 'the archived objects'}): its ${meta.qualifier} schema cannot be loaded`,
    );
  }
  return {
    owner: meta.owner,
    qualifier: meta.qualifier,
    dbms: meta.dbms,
    url: '',
    host: targetHost(meta.host, mapping),
    port: meta.port,
    database: meta.database,
    schema: meta.schema,
    username: meta.username,
    password,
    credentials: meta.credentials,
  };
}

async function restoreTenant(
  c: StepContext,
  ctx: PlanContext,
  ref: ObjectRef,
  tenant: string,
  group: Archived[],
  window: ScaleWindow,
): Promise<void> {
  // The in-namespace DBMS (and its admin secret) is the operator's, made for the app.
  await timed(c, `wait for the operator: ${ref.kind} ${ref.name}`, () =>
    waitForEntandoReady(c.target, ref, ctx.waitTimeoutMs ?? 600_000, c.progress),
  );
  const app = await c.target.get(ref);
  if (!app) throw new OperationError(`${ref.kind} ${ref.name} is not in the target`);
  const config = (await archivedTenants(ctx.archive)).find((t) => t.code === tenant);
  const pairs = group.map((a) => ({ ...a, ds: tenantTarget(a.meta, config, ctx.mapping) }));
  const clients = new ClientPods(
    c.target,
    `${app.metadata.name}-${tenant}`,
    ctx.dbClientImage,
    c.progress,
  );
  try {
    const execs: DbExecutor[] = [];
    for (const p of pairs) {
      const exec = await executorFor(c.target, ref.namespace!, p.ds, clients);
      if (exec.kind === 'dbms-pod') {
        const admin = await dbmsAdmin(c.target, ref.namespace!, p.ds.host);
        if (!admin) {
          throw new OperationError(
            `tenant ${tenant}: no admin secret of the in-namespace DBMS ${p.ds.host} (username, password) to make user ${p.ds.username} and schema ${p.ds.schema} with`,
          );
        }
        if (admin.username === p.ds.username && admin.password !== p.ds.password) {
          // The tenant logs in as the DBMS admin (Entando's sample): the target's password, which
          // the tenants-credentials step has set in the restored ENTANDO_TENANTS.
          c.progress(
            `tenant ${tenant}: ${p.meta.qualifier} loaded as the target's DBMS admin ${admin.username} (secret ${admin.secret})`,
          );
          p.ds.password = admin.password;
        }
        await timed(c, `make user and schema of tenant ${tenant} (${p.meta.qualifier})`, () =>
          ensureTenantSchema(exec, p.ds, admin, tenant, c.signal),
        );
      } else {
        await requireTenantSchema(exec, p.ds, tenant, c.signal);
      }
      execs.push(exec);
    }
    await window.enter(c, app);
    await mapLimit(
      pairs.map((p, i) => ({ ...p, exec: execs[i] })),
      ctx.parallel,
      async ({ entry, meta, ds, exec }) => {
        if (c.signal.aborted) throw new OperationError('interrupted');
        const dump = entryStream(ctx.archive, entry);
        try {
          await timed(c, `load ${ds.dbms} ${meta.qualifier} (tenant ${tenant})`, () =>
            loadDump(exec, ds, dump, { signal: c.signal }),
          );
        } catch (err) {
          if (c.signal.aborted) throw new OperationError(`interrupted while loading ${ds.schema}`);
          throw new OperationError(`tenant ${tenant}: ${(err as Error).message}`, { cause: err });
        } finally {
          dump.destroy();
        }
        c.progress(`loaded ${meta.qualifier} of tenant ${tenant} into ${ds.dbms} ${ds.schema}`);
      },
    );
  } finally {
    await clients.dispose();
  }
}
