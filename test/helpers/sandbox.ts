import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  connectKeycloak,
  locateKeycloak,
  type KeycloakSession,
} from '../../src/components/keycloak/locate.js';
import { KubeClient } from '../../src/kube/client.js';
import { cleanTestRuns } from '../../sandbox/clean.js';
import { currentRun, registerSuffix } from '../../sandbox/test-runs.js';

const run = promisify(execFile);
export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const KUBECONFIG = process.env.SANDBOX_KUBECONFIG ?? path.join(ROOT, '.sandbox/kubeconfig');
export const SOURCE = 'sandbox-source';
export const TARGET = 'sandbox-target';

let cleaned: Promise<void> | undefined;

/**
 * Fails loudly when the sandbox is not up (`npm test` brings it up before the suites run);
 * the first call of a run deletes the namespaces that interrupted runs left behind.
 */
export async function requireSandbox(): Promise<void> {
  if (!fs.existsSync(KUBECONFIG)) {
    throw new Error(
      `sandbox kubeconfig ${KUBECONFIG} missing: run 'bash scripts/sandbox up' (npm test does)`,
    );
  }
  cleaned ??= cleanTestRuns({ root: ROOT, kubeconfig: KUBECONFIG }).then((deleted) => {
    if (deleted.length > 0) {
      process.stderr.write(`left by interrupted test runs, deleted: ${deleted.join(', ')}\n`);
    }
  });
  await cleaned;
}

export function client(context: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  kc.setCurrentContext(context);
  return new KubeClient(kc);
}

/**
 * Applies a fixture file to a cluster, into `namespace`. Without `keycloak: true` the app gets
 * no real Keycloak (a JVM per namespace and cluster costs ~20 s and ~600 MB): only the suites
 * about the realm ask for one.
 */
export async function applyFixture(
  file: string,
  context: string,
  namespace: string,
  opts: { keycloak?: boolean } = {},
): Promise<void> {
  await run(
    'bash',
    [
      path.join(ROOT, 'scripts/sandbox'),
      'fixture',
      'apply',
      path.join(ROOT, file),
      '--context',
      context,
      '-n',
      namespace,
      ...(opts.keycloak ? [] : ['--no-keycloak']),
    ],
    {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, SANDBOX_KUBECONFIG: KUBECONFIG, SANDBOX_TEST_RUN: currentRun().id },
    },
  );
}

/** Deletes a fixture namespace and its component repository namespace `<ns>-ecr` if any. */
export async function deleteNamespace(context: string, namespace: string): Promise<void> {
  await client(context)
    .delete({ apiVersion: 'v1', kind: 'Namespace', name: `${namespace}-ecr` })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 404) throw err;
    });
  await client(context).delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
}

/**
 * A random suffix for this suite's namespace names, recorded as this run's (sandbox/test-runs.ts)
 * so that the next run deletes them if this one is interrupted.
 */
export function randomSuffix(): string {
  const suffix = Math.random().toString(36).slice(2, 7).padEnd(5, '0');
  registerSuffix(ROOT, suffix);
  return suffix;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An admin session of the in-namespace Keycloak of EntandoApp `app` (close it after). */
export async function appKeycloak(
  context: string,
  ns: string,
  app: string,
): Promise<KeycloakSession> {
  const kube = client(context);
  const cr = await kube.get({
    apiVersion: 'entando.org/v1',
    kind: 'EntandoApp',
    namespace: ns,
    name: app,
  });
  if (!cr) throw new Error(`no EntandoApp ${ns}/${app} in ${context}`);
  const where = await locateKeycloak(kube, cr);
  if (where.kind !== 'in-namespace') throw new Error(where.reason);
  return connectKeycloak(kube, where);
}
