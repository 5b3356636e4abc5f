import type { DbmsVersionFact } from '../../contract/manifest.js';
import { parseDbmsBanner } from '../../entando/release-versions.js';
import type { KubeClient } from '../../kube/client.js';
import type { Datasource } from './discovery.js';
import { PodExecutor, type DbExecutor } from './executor.js';
import { querySql } from './query.js';

/** The server a datasource names, as the manifest's versions list it. */
export const serverOf = (ds: Pick<Datasource, 'host' | 'port'>) => `${ds.host}:${ds.port}`;

/**
 * What the datasource's server runs, asked through the dump's own path (same executor, same
 * user): one short query per server. A failure is recorded as unknown, never thrown: a backup
 * does not fail for want of a version.
 */
export async function readDbmsVersion(
  exec: DbExecutor,
  ds: Datasource,
  image: string | undefined,
  signal?: AbortSignal,
): Promise<DbmsVersionFact> {
  const dbms: DbmsVersionFact['dbms'] = ds.dbms === 'mysql' ? 'mysql' : 'postgresql';
  const base = { server: serverOf(ds), dbms, location: exec.kind, ...(image ? { image } : {}) };
  const sql = dbms === 'postgresql' ? 'SELECT version();' : 'SELECT VERSION();';
  const from = `${sql} in ${exec.where}`;
  try {
    const out = await querySql(exec, ds, sql, `reading the version of ${base.server}`, signal);
    const parsed = parseDbmsBanner(out);
    if (parsed) return { ...base, version: parsed.version, product: parsed.product, from };
    return { ...base, version: 'unknown', why: `${from} answered ${JSON.stringify(out.trim())}` };
  } catch (err) {
    return { ...base, version: 'unknown', why: (err as Error).message };
  }
}

/** The image of the DBMS container an in-cluster executor runs in (undefined otherwise). */
export async function dbmsImage(kube: KubeClient, exec: DbExecutor): Promise<string | undefined> {
  if (!(exec instanceof PodExecutor) || exec.kind !== 'dbms-pod') return undefined;
  try {
    const pod = await kube.get({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: exec.namespace,
      name: exec.pod,
    });
    const containers =
      (pod?.spec as { containers?: { name: string; image?: string }[] } | undefined)?.containers ??
      [];
    return (containers.find((c) => c.name === exec.container) ?? containers[0])?.image;
  } catch {
    return undefined;
  }
}
