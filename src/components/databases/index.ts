import { dataPath } from '../../archive/layout.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { OperationError } from '../../errors.js';
import type { BackupContext, Component, PlanContext } from '../component.js';
import type { DatabaseEntryMeta, DatabasesSummary } from '../../contract/manifest.js';
import { discoverDatasources, entryName, type Datasource } from './discovery.js';
import { streamDump } from './dump.js';
import { ClientPods, executorFor } from './executor.js';
import { oracleError } from './oracle.js';
import { planDatabaseSteps } from './restore.js';
import { needs, podWorkNeeds } from '../../kube/access.js';
import type { DbmsVersionFact } from '../../contract/manifest.js';
import { versionsOf } from '../../archive/manifest.js';
import type { DbExecutor } from './executor.js';
import { dbmsImage, readDbmsVersion, serverOf } from './version.js';

export const COMPONENT = 'databases';

export type { DatabaseEntryMeta, DatabasesSummary } from '../../contract/manifest.js';

export function entryMeta(
  ds: Datasource,
  location: DatabaseEntryMeta['location'],
): DatabaseEntryMeta {
  if (ds.dbms === 'oracle') throw new OperationError('Oracle is not dumped');
  const meta: DatabaseEntryMeta = {
    component: 'databases',
    owner: ds.owner,
    qualifier: ds.qualifier,
    dbms: ds.dbms,
    database: ds.database,
    schema: ds.schema,
    username: ds.username,
    credentials: ds.credentials,
    host: ds.host,
    port: ds.port,
    location,
    format: ds.dbms === 'postgresql' ? 'pg_dump-plain' : 'mysqldump',
  };
  if (ds.secretName) meta.secret = ds.secretName;
  if (ds.deployment) meta.deployment = ds.deployment;
  if (ds.envPrefix) meta.envPrefix = ds.envPrefix;
  return meta;
}

/**
 * The app's databases: every datasource (app engine portdb/servdb, component manager dedb,
 * plugins' plugindb, Keycloak's when in the same DBMS), each dumped by its DBMS's own tool
 * inside the cluster and streamed into the archive.
 */
export const databasesComponent: Component = {
  name: COMPONENT,

  async backup(ctx: BackupContext) {
    const found = await discoverDatasources(ctx.kube, ctx.app, {
      tenants: ctx.options.tenantSchemas !== false,
    });
    if (found.problems.length > 0) {
      throw new OperationError(
        `databases: cannot read ${found.problems.length === 1 ? 'a datasource' : 'datasources'}: ${found.problems.join('; ')}`,
      );
    }
    const oracle = found.datasources.filter((d) => d.dbms === 'oracle');
    if (oracle.length > 0) throw oracleError(oracle);
    const summary: DatabasesSummary = { datasources: [], embedded: found.embedded };
    if (found.shared?.length) summary.shared = found.shared;
    ctx.archive.manifest.components.databases = summary;
    for (const ds of found.datasources) {
      ctx.output.debug(
        `database ${ownerLabel(ds.owner)} ${ds.qualifier}: ${ds.dbms} ${ds.schema} on ${ds.host}:${ds.port} (${ds.credentials})`,
      );
    }
    for (const s of found.shared ?? []) {
      ctx.output.debug(
        `database ${ownerLabel(s.owner)} ${s.qualifier}: the schema of ${s.sameAs}, dumped once`,
      );
    }
    const clients = new ClientPods(
      ctx.kube,
      ctx.app.metadata.name,
      ctx.options.dbClientImage,
      (m) => ctx.output.progress(m),
    );
    // One version read per server, by the first of its dumps to finish.
    const versions = new Map<string, Promise<DbmsVersionFact>>();
    const versionOf = (exec: DbExecutor, ds: Datasource) => {
      if (!versions.has(serverOf(ds))) {
        const read = dbmsImage(ctx.kube, exec).then((image) =>
          readDbmsVersion(exec, ds, image, ctx.signal),
        );
        versions.set(serverOf(ds), read);
      }
      return versions.get(serverOf(ds))!;
    };
    try {
      const settled = await Promise.allSettled(
        found.datasources.map((ds) =>
          ctx.streams.run(() => backupOne(ctx, ds, clients, versionOf)),
        ),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      for (const s of settled) {
        const { meta, entry } = (
          s as PromiseFulfilledResult<{ meta: DatabaseEntryMeta; entry: ManifestEntry }>
        ).value;
        const rest: Partial<DatabaseEntryMeta> = { ...meta };
        delete rest.component;
        summary.datasources.push({
          ...(rest as Omit<DatabaseEntryMeta, 'component'>),
          entry: entry.path,
          bytes: entry.size,
        });
      }
      versionsOf(ctx.archive.manifest).dbms = await Promise.all(versions.values());
    } finally {
      await clients.dispose();
    }
  },

  async plan(ctx: PlanContext) {
    return planDatabaseSteps(ctx);
  },
  // Datasources are found from deployments' env and secrets, dumped by exec in the DBMS pod.
  backupAccess: (ctx) => [
    ...podWorkNeeds(ctx.namespace),
    ...needs('Secret', ['get'], ctx.namespace),
    ...needs('Service', ['get'], ctx.namespace),
  ],
  // Loaded with the owner's deployments at 0; an external DBMS from a short-lived client pod.
  restoreAccess: (ctx) => {
    const summary = ctx.archive.manifest.components[COMPONENT];
    const sources = summary?.datasources ?? [];
    if (sources.length === 0) return [];
    const ns = ctx.mapping.targetNamespace;
    const clientPods = sources.some((d) => d.location === 'client-pod');
    return [
      ...podWorkNeeds(ns, { scale: true, pods: clientPods }),
      ...needs('Secret', ['get'], ns),
      ...needs('Service', ['get'], ns),
    ];
  },
};

/** `EntandoApp quickstart`, `EntandoApp quickstart tenant t1`: for messages. */
export function ownerLabel(owner: DatabaseEntryMeta['owner']): string {
  return `${owner.kind} ${owner.name}${owner.tenant ? ` tenant ${owner.tenant}` : ''}`;
}

/**
 * One dump. A tenant's failure names the tenant first (its schema is made by hand and may be
 * anywhere: the one line must say whose it is).
 */
async function backupOne(
  ctx: BackupContext,
  ds: Datasource,
  clients: ClientPods,
  versionOf: (exec: DbExecutor, ds: Datasource) => Promise<DbmsVersionFact>,
): Promise<{ meta: DatabaseEntryMeta; entry: ManifestEntry }> {
  const tenant = ds.owner.tenant;
  if (!tenant || ctx.signal.aborted) return dumpOne(ctx, ds, clients, versionOf);
  return dumpOne(ctx, ds, clients, versionOf).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    throw new OperationError(
      `databases: tenant ${tenant} (${ds.qualifier}: ${ds.dbms} schema ${ds.schema} on ${ds.host}:${ds.port}) cannot be dumped: ${message.replace(/\s*\n\s*/g, ' ')}`,
      { cause: err },
    );
  });
}

async function dumpOne(
  ctx: BackupContext,
  ds: Datasource,
  clients: ClientPods,
  versionOf: (exec: DbExecutor, ds: Datasource) => Promise<DbmsVersionFact>,
): Promise<{ meta: DatabaseEntryMeta; entry: ManifestEntry }> {
  if (ctx.signal.aborted) throw new OperationError('interrupted');
  const exec = await executorFor(ctx.kube, ctx.namespace, ds, clients);
  const name = entryName(ds);
  const label = `database ${name}`;
  const meta = entryMeta(ds, exec.kind);
  ctx.output.debug(`dumping ${ds.schema} in ${exec.where}`);
  const entry = await streamDump(
    exec,
    ds,
    (stream) => ctx.archive.addStream(dataPath(COMPONENT, name), stream, meta),
    { signal: ctx.signal, onBytes: (n) => ctx.progress.add(label, n) },
  ).catch((err: unknown) => {
    if (ctx.signal.aborted) throw new OperationError(`interrupted while dumping ${ds.schema}`);
    throw err;
  });
  ctx.progress.finish(label);
  // Before the client pod is disposed of: the query runs where the dump did.
  await versionOf(exec, ds);
  return { meta, entry };
}
