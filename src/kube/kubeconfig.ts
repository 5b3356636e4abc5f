import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import net from 'node:net';
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

/**
 * Resolves context, namespace and server for one cluster, as kubectl would: the kubeconfig
 * files, else, when none exists and the process runs in a pod (KUBERNETES_SERVICE_HOST and
 * _PORT set), the pod's service account (inClusterConfig).
 */
export function resolveKube(opts: KubeconfigOptions, env = process.env): ResolvedKube {
  const files = kubeconfigFiles(opts.kubeconfig, env);
  if (!opts.kubeconfig && !opts.context && inPod(env) && !files.some((f) => fs.existsSync(f))) {
    return inClusterKube(env, opts.namespace);
  }
  const config = loadMergedKubeConfig(files, !!opts.kubeconfig);
  return selectContext(config, opts.context, opts.namespace);
}

/** Where a pod finds its service account's token, CA and namespace (kubelet's mount). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Overrides SERVICE_ACCOUNT_DIR, for a node that mounts the token elsewhere (the sandbox). */
export const SERVICE_ACCOUNT_DIR_ENV = 'KUBECTL_ENTANDO_SERVICEACCOUNT_DIR';

export const IN_CLUSTER_CONTEXT = 'in-cluster';

function inPod(env: NodeJS.ProcessEnv): boolean {
  return !!env.KUBERNETES_SERVICE_HOST && !!env.KUBERNETES_SERVICE_PORT;
}

/**
 * The pod's service account, as client-go's rest.InClusterConfig: the API server at
 * KUBERNETES_SERVICE_HOST:PORT, verified with the mounted ca.crt, authenticated with the
 * mounted token (re-read as the kubelet rotates it), the namespace from the mounted file.
 */
export function inClusterKube(env: NodeJS.ProcessEnv, namespace?: string): ResolvedKube {
  const dir = env[SERVICE_ACCOUNT_DIR_ENV] || SERVICE_ACCOUNT_DIR;
  const token = path.join(dir, 'token');
  const ca = path.join(dir, 'ca.crt');
  for (const f of [token, ca]) {
    if (!fs.existsSync(f)) {
      throw new UserError(
        `no kubeconfig found, and this pod has no service account token (${f} is missing): mount one (automountServiceAccountToken: true) or pass --kubeconfig`,
      );
    }
  }
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT!;
  const server = `https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const nsFile = path.join(dir, 'namespace');
  const podNamespace = fs.existsSync(nsFile) ? fs.readFileSync(nsFile, 'utf8').trim() : '';
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: IN_CLUSTER_CONTEXT, server, caFile: ca, skipTLSVerify: false }],
    users: [
      {
        name: IN_CLUSTER_CONTEXT,
        authProvider: { name: 'tokenFile', config: { tokenFile: token } },
      },
    ],
    contexts: [
      {
        name: IN_CLUSTER_CONTEXT,
        cluster: IN_CLUSTER_CONTEXT,
        user: IN_CLUSTER_CONTEXT,
        namespace: podNamespace || undefined,
      },
    ],
    currentContext: IN_CLUSTER_CONTEXT,
  });
  return {
    config,
    contextName: IN_CLUSTER_CONTEXT,
    namespace: namespace || podNamespace || 'default',
    server,
  };
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
