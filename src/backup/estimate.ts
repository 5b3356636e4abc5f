import { collector } from '../util/collect.js';
import type { BackupOptions } from '../components/component.js';
import { discoverDatasources, entryName } from '../components/databases/discovery.js';
import { PodExecutor, locateDbmsPod } from '../components/databases/executor.js';
import { querySql } from '../components/databases/query.js';
import { pgLiteral } from '../components/databases/postgresql.js';
import { discoverVolumes, runningPod } from '../components/files/discover.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { podExecOk } from '../kube/pod-exec.js';
import type { StreamProgress } from '../report/progress.js';

/**
 * Sizes of a tree in the pod: apparent bytes (GNU du -b), else KiB (busybox du -k), with the
 * unit on the first line.
 */
export const DU_SCRIPT = [
  'cd "$1" || exit 3',
  'shift',
  // Only the directories that exist (for's list is read once, before the set).
  'for d do shift; [ -e "$d" ] && set -- "$@" "$d"; done',
  '[ $# -gt 0 ] || { echo B; exit 0; }',
  'if out=$(du -sb "$@" 2>/dev/null); then echo B; else echo K; out=$(du -sk "$@") || exit 4; fi',
  'printf "%s\\n" "$out"',
].join('\n');

/** Bytes per top-level directory, from du in the pod (tar adds its headers on top). */
async function duSizes(
  kube: KubeClient,
  target: { namespace: string; pod: string; container: string },
  mountPath: string,
  dirs: string[],
  signal?: AbortSignal,
): Promise<Map<string, number>> {
  const du = collector();
  const stdout = du.stream;
  await podExecOk(
    kube.config,
    {
      ...target,
      command: ['sh', '-c', DU_SCRIPT, 'kubectl-entando-du', mountPath, ...dirs],
      stdout,
      signal,
    },
    'du',
  );
  const [unit, ...rows] = du.text().split('\n').filter(Boolean);
  const out = new Map<string, number>();
  for (const r of rows) {
    const m = /^(\d+)\s+(.*)$/.exec(r);
    if (m) out.set(m[2], Number(m[1]) * (unit === 'K' ? 1024 : 1));
  }
  return out;
}

const PG_SIZE = (schema: string) =>
  `SELECT coalesce(sum(pg_table_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${pgLiteral(schema)} AND c.relkind IN ('r', 'p', 'm');\n`;
const MY_SIZE =
  'SELECT COALESCE(SUM(data_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE();\n';

/**
 * Estimates each stream of a backup before it starts, cheaply: a files tree's size by `du` in
 * the running server pod, a schema's by its DBMS's catalog (PostgreSQL pg_table_size, MySQL
 * information_schema data_length; a dump is usually of that order). Whatever cannot be
 * estimated (no running pod, an external DBMS, an error) stays unknown: the progress then
 * shows bytes and rate without a percent. Never fails the backup.
 */
export async function estimateStreams(
  kube: KubeClient,
  app: KubeObject,
  options: BackupOptions,
  progress: StreamProgress,
  signal?: AbortSignal,
): Promise<void> {
  const namespace = app.metadata.namespace!;
  const tasks: Promise<void>[] = [];
  const found = await discoverDatasources(kube, app, {
    tenants: options.tenantSchemas !== false,
  }).catch(() => undefined);
  for (const ds of found?.datasources ?? []) {
    if (ds.dbms === 'oracle') continue;
    const label = `database ${entryName(ds)}`;
    tasks.push(
      (async () => {
        const local = await locateDbmsPod(kube, namespace, ds);
        if (!local) return progress.expect(label, undefined);
        const exec = new PodExecutor(
          kube.config,
          local.namespace,
          local.pod,
          local.container,
          'dbms-pod',
        );
        const sql = ds.dbms === 'postgresql' ? PG_SIZE(ds.schema) : MY_SIZE;
        const out = await querySql(exec, ds, sql, `sizing ${ds.schema}`, signal);
        progress.expect(label, Number(out.trim()) || undefined);
      })().catch(() => progress.expect(label, undefined)),
    );
  }
  const volumes = await discoverVolumes(kube, app, options.includeIndices).catch(() => undefined);
  for (const v of volumes?.volumes ?? []) {
    const label = (dir: string) => `files ${v.owner.name} ${v.qualifier}/${dir}`;
    tasks.push(
      (async () => {
        const pod = await runningPod(kube, namespace, v.deployment);
        if (!pod) return;
        const target = { namespace, pod: pod.metadata.name, container: v.container };
        const sizes = await duSizes(kube, target, v.mountPath, v.dirs, signal);
        for (const dir of v.dirs) if (sizes.has(dir)) progress.expect(label(dir), sizes.get(dir));
      })().catch(() => undefined),
    );
  }
  await Promise.all(tasks);
}
