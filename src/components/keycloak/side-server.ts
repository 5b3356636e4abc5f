import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { OperationError } from '../../errors.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { podExec } from '../../kube/pod-exec.js';
import type { Results } from '../../report/results.js';
import { cleanupCommand, reapCommand, STALE_SIDE_SERVER_SECONDS } from './side-server-scripts.js';

export interface SideServerRun {
  config: KubeConfig;
  target: { namespace: string; pod: string; container: string };
  /** export or import: named in messages. */
  what: 'export' | 'import';
  /** The command of this run, given its run id (names its directory for a cleanup). */
  command: (runId: string) => string[];
  /** A fresh stdin per attempt. */
  stdin?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
  stdout?: Writable;
  signal?: AbortSignal;
  /** Prefix of messages, e.g. "keycloak realm entando". */
  label: string;
  results: Results;
}

/**
 * Runs a side-server script (side-server-scripts.ts) by exec in the Keycloak pod. An exec that
 * breaks or is interrupted is followed by a cleanup exec that stops this run's server and removes
 * its files (the script also stops by itself within its time limit); a non-zero exit is an error
 * with the script's last stderr lines.
 */
export async function runSideServer(run: SideServerRun): Promise<void> {
  // A server that could not bind its ports (another process holds one) is started once more,
  // with other ports: nothing was exported or imported by it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(run);
    } catch (err) {
      if (attempt >= 2 || !(err instanceof OperationError) || !BOOT_FAILURE.test(err.message)) {
        throw err;
      }
    }
  }
}

const BOOT_FAILURE = /WFLYSRV0026|Address already in use|BindException|WFLYCTL0013/;

async function runOnce(run: SideServerRun): Promise<void> {
  const runId = randomBytes(6).toString('hex');
  const { namespace, pod } = run.target;
  await reap(run);
  let ran;
  try {
    ran = await podExec(run.config, {
      ...run.target,
      command: run.command(runId),
      stdin: run.stdin?.(),
      stdout: run.stdout,
      signal: run.signal,
    });
  } catch (err) {
    await cleanup(run, runId);
    if (run.signal?.aborted) throw new OperationError(`${run.label}: interrupted`);
    throw new OperationError(`${run.label}: ${(err as Error).message}`, { cause: err });
  }
  if (ran.exitCode !== 0) {
    const stderr = ran.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new OperationError(
      `${run.label}: the ${run.what} server failed in pod ${namespace}/${pod} (exit code ${ran.exitCode})${stderr ? `: ${stderr}` : ''}`,
    );
  }
}

/** Best effort: a leftover of a killed run must not stop this one. */
async function reap(run: SideServerRun): Promise<void> {
  const ran = await podExec(run.config, {
    ...run.target,
    command: reapCommand(STALE_SIDE_SERVER_SECONDS),
  }).catch(() => undefined);
  for (const line of ran?.stderr.split('\n') ?? []) {
    if (line.trim()) run.results.warn('keycloak', line.trim());
  }
}

async function cleanup(run: SideServerRun, runId: string): Promise<void> {
  try {
    await podExec(run.config, { ...run.target, command: cleanupCommand(runId) });
  } catch (err) {
    run.results.warn(
      'keycloak',
      `could not stop the ${run.what} server in ${run.target.namespace}/${run.target.pod} (${(err as Error).message}): it stops by itself within its time limit`,
    );
  }
}
