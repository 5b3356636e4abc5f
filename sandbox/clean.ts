// Deletes what test runs left in the sandbox: their namespaces in both clusters (found by
// sandbox/test-runs.ts) and, with --all, the databases of namespaces that are gone (the
// operator stand-in does that too, every resync, while it runs).
//
//   node dist/sandbox/clean.js [--all] [--root DIR]
//     without --all: only runs whose process is gone; with --all: every test run (stop them first)
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadSandboxDbms, sweepOrphans } from './operator/dbms.js';
import { namespacesOfRuns, readRuns, runAlive, TEST_RUN_LABEL } from './test-runs.js';

const CLUSTERS = ['source', 'target'];

function core(kubeconfig: string, context: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(context);
  return kc.makeApiClient(CoreV1Api);
}

const isNotFound = (err: unknown) => (err as { code?: number }).code === 404;

/**
 * Deletes the namespaces of test runs (only those whose process is gone, or every one with
 * `all`) in both clusters and forgets those runs. Returns "context/namespace" of each deleted.
 */
export async function cleanTestRuns(opts: {
  root: string;
  kubeconfig: string;
  all?: boolean;
}): Promise<string[]> {
  const runs = readRuns(opts.root).filter(({ run }) => opts.all || !runAlive(run));
  if (runs.length === 0 && !opts.all) return [];
  const ids = runs.map((r) => r.run);
  const deleted: string[] = [];
  for (const c of CLUSTERS) {
    const context = `sandbox-${c}`;
    const api = core(opts.kubeconfig, context);
    const list = await api.listNamespace();
    const infos = list.items.map((n) => ({ name: n.metadata!.name!, labels: n.metadata?.labels }));
    const names = new Set(namespacesOfRuns(ids, infos));
    if (opts.all) {
      for (const n of infos) if (n.labels?.[TEST_RUN_LABEL] !== undefined) names.add(n.name);
    }
    for (const name of names) {
      await api.deleteNamespace({ name }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      deleted.push(`${context}/${name}`);
    }
  }
  for (const { file } of runs) fs.rmSync(file, { force: true });
  return deleted;
}

/** Drops the databases whose namespaces are gone or going, in each cluster's sandbox DBMS. */
export async function sweepDatabases(opts: { root: string; kubeconfig: string }) {
  const dropped: string[] = [];
  for (const c of CLUSTERS) {
    const dbmsFile = path.join(opts.root, '.sandbox', 'clusters', c, 'dbms.json');
    if (!fs.existsSync(dbmsFile)) continue;
    const list = await core(opts.kubeconfig, `sandbox-${c}`).listNamespace();
    const live = new Set(
      list.items
        .filter((n) => !n.metadata?.deletionTimestamp && n.status?.phase !== 'Terminating')
        .map((n) => n.metadata!.name!),
    );
    for (const d of await sweepOrphans(loadSandboxDbms(dbmsFile), live)) dropped.push(`${c}: ${d}`);
  }
  return dropped;
}

async function main() {
  const { values } = parseArgs({
    options: { all: { type: 'boolean', default: false }, root: { type: 'string' } },
  });
  const root = path.resolve(values.root ?? path.join(import.meta.dirname, '..', '..'));
  const kubeconfig = process.env.SANDBOX_KUBECONFIG ?? path.join(root, '.sandbox', 'kubeconfig');
  const deleted = await cleanTestRuns({ root, kubeconfig, all: values.all });
  for (const d of deleted) process.stdout.write(`deleted namespace ${d}\n`);
  const dropped = await sweepDatabases({ root, kubeconfig });
  for (const d of dropped) process.stdout.write(`dropped ${d}\n`);
  if (deleted.length + dropped.length === 0) process.stdout.write('nothing to clean\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`clean: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
