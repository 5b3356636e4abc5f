import path from 'node:path';
import os from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError, errorMessage } from '../errors.js';

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface ResolvedKube {
  config: KubeConfig;
  contextName: string;
  namespace: string;
  server: string;
}

/**
 * Lists the kubeconfig files kubectl would read: `--kubeconfig`, else every entry of
 * `KUBECONFIG` (path-list separated, empty entries ignored), else ~/.kube/config.
 */
export function kubeconfigFiles(explicit: string | undefined, env = process.env): string[] {
  if (explicit) return [explicit];
  const fromEnv = (env.KUBECONFIG ?? '').split(path.delimiter).filter((p) => p.length > 0);
  if (fromEnv.length > 0) return [...new Set(fromEnv)];
  return [path.join(env.HOME ?? os.homedir(), '.kube', 'config')];
}

/**
 * Merges kubeconfig files the way kubectl does: the first file to set a current-context wins,
 * and for clusters, users and contexts of the same name the first file wins. Missing files in
 * KUBECONFIG are skipped (as kubectl does); an explicit --kubeconfig must exist.
 * (client-node's own multi-file loading lets later files override earlier ones.)
 */
export function loadMergedKubeConfig(files: string[], explicit: boolean): KubeConfig {
  const merged = {
    clusters: new Map<string, KubeConfig['clusters'][number]>(),
    users: new Map<string, KubeConfig['users'][number]>(),
    contexts: new Map<string, KubeConfig['contexts'][number]>(),
    currentContext: '',
  };
  let loaded = 0;
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (missing && !explicit) continue;
      if (missing) throw new UserError(`kubeconfig ${file} does not exist: check --kubeconfig`);
      throw new UserError(`cannot read kubeconfig ${file}: ${errorMessage(err)}`);
    }
    loaded++;
    for (const c of one.clusters) if (!merged.clusters.has(c.name)) merged.clusters.set(c.name, c);
    for (const u of one.users) if (!merged.users.has(u.name)) merged.users.set(u.name, u);
    for (const c of one.contexts) if (!merged.contexts.has(c.name)) merged.contexts.set(c.name, c);
    if (!merged.currentContext && one.currentContext) merged.currentContext = one.currentContext;
  }
  if (loaded === 0) {
    throw new UserError(
      `no kubeconfig found (looked at ${files.join(', ')}): pass --kubeconfig or set KUBECONFIG`,
    );
  }
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [...merged.clusters.values()],
    users: [...merged.users.values()],
    contexts: [...merged.contexts.values()],
    currentContext: merged.currentContext,
  });
  return config;
}

/** Resolves context, namespace and server for one cluster, as kubectl would. */
export function resolveKube(opts: KubeconfigOptions, env = process.env): ResolvedKube {
  const config = loadMergedKubeConfig(kubeconfigFiles(opts.kubeconfig, env), !!opts.kubeconfig);
  return selectContext(config, opts.context, opts.namespace);
}

export function selectContext(
  base: KubeConfig,
  contextName: string | undefined,
  namespace: string | undefined,
): ResolvedKube {
  const name = contextName || base.getCurrentContext();
  if (!name) {
    throw new UserError('no current context in kubeconfig: pass --context NAME');
  }
  const context = base.getContextObject(name);
  if (!context) {
    const known = base.contexts.map((c) => c.name).join(', ') || 'none';
    throw new UserError(`context "${name}" not found in kubeconfig (known: ${known})`);
  }
  const cluster = base.getCluster(context.cluster);
  if (!cluster) {
    throw new UserError(
      `context "${name}" refers to cluster "${context.cluster}", not in kubeconfig`,
    );
  }
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: base.clusters,
    users: base.users,
    contexts: base.contexts,
    currentContext: name,
  });
  return {
    config,
    contextName: name,
    namespace: namespace || context.namespace || 'default',
    server: cluster.server,
  };
}
