/**
 * One bundle reinstalled through the component manager: `POST /components/{id}/install`
 * `{version, conflictStrategy: SKIP}`, then `GET /components/{id}/install` polled to a terminal
 * state. The CM runs one bundle operation at a time (a global lock: 409), so a 409 is retried
 * with back-off until the deadline; an unfinished job of the same bundle (an earlier run cut
 * short) is followed instead of started again.
 */
import { OperationError } from '../../errors.js';
import {
  CmHttpError,
  INSTALL_FAILED_STATUSES,
  type CmJob,
  type ComponentManagerClient,
} from './cm-client.js';

export interface InstallTiming {
  /** Absolute time (ms) after which a busy CM or a running job is given up on. */
  deadline: number;
  pollMs: number;
  /** First back-off after a 409; doubled up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_TIMING = { pollMs: 3000, backoffMs: 2000, maxBackoffMs: 30_000 };

export interface InstallTarget {
  code: string;
  version: string;
  /** For messages: whose token the CM sees. */
  clientId: string;
  secretName: string;
  /** The app's client (its superuser role is what the CM's permission check wants). */
  appClient: string;
}

/** What the poller does with a job it read. */
export type PollVerdict = 'wait' | 'completed' | 'failed';

export function pollVerdict(job: CmJob | undefined, jobId: string): PollVerdict {
  // GET .../install returns the bundle's latest install job: until ours shows, keep waiting.
  if (!job || job.id !== jobId) return 'wait';
  if (job.status === 'INSTALL_COMPLETED') return 'completed';
  if (INSTALL_FAILED_STATUSES.includes(job.status)) return 'failed';
  return 'wait';
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The job id in a CM 409 "Conflict with another job for the component X - JOB ID: uuid". */
export function conflictingJobId(detail: string): string | undefined {
  return /JOB ID:\s*([0-9a-zA-Z-]+)/.exec(detail)?.[1];
}

/** Installs and waits; resolves with the completed job, rejects with one line naming the bundle. */
export async function reinstallBundle(
  cm: ComponentManagerClient,
  target: InstallTarget,
  timing: InstallTiming,
  progress: (m: string) => void = () => undefined,
): Promise<CmJob> {
  const jobId = await startInstall(cm, target, timing, progress);
  return waitForJob(cm, target, jobId, timing, progress);
}

async function startInstall(
  cm: ComponentManagerClient,
  t: InstallTarget,
  timing: InstallTiming,
  progress: (m: string) => void,
): Promise<string> {
  const sleep = timing.sleep ?? defaultSleep;
  let backoff = timing.backoffMs;
  for (;;) {
    checkAborted(timing, t);
    try {
      const job = await cm.install(t.code, t.version);
      progress(`bundle ${t.code}: install of ${t.version} started (job ${job.id})`);
      return job.id;
    } catch (err) {
      if (!(err instanceof CmHttpError) || err.status !== 409) throw callError(err, t);
      const running = conflictingJobId(err.detail);
      if (running) {
        const job = await cm.installJob(t.code).catch(() => undefined);
        if (job?.id === running) {
          progress(`bundle ${t.code}: following its unfinished job ${running} (${job.status})`);
          return running;
        }
        // An unfinished uninstall, or a job we cannot see: it blocks this bundle.
        if (Date.now() + backoff > timing.deadline) {
          throw new OperationError(
            `bundle ${t.code}: an unfinished job blocks its install (HTTP 409 ${err.detail}): let it finish (or restart the component manager, which ends jobs in progress) and run the restore again with --existing update`,
          );
        }
      } else if (Date.now() + backoff > timing.deadline) {
        throw new OperationError(
          `bundle ${t.code}: the component manager stayed busy with another bundle operation until the wait timeout (HTTP 409 ${err.detail}): wait for it to finish, then run the restore again with --existing update`,
        );
      }
      progress(`bundle ${t.code}: component manager busy (409), retrying in ${backoff / 1000} s`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, timing.maxBackoffMs);
    }
  }
}

async function waitForJob(
  cm: ComponentManagerClient,
  t: InstallTarget,
  jobId: string,
  timing: InstallTiming,
  progress: (m: string) => void,
): Promise<CmJob> {
  const sleep = timing.sleep ?? defaultSleep;
  let last = '';
  for (;;) {
    checkAborted(timing, t);
    let job: CmJob | undefined;
    try {
      job = await cm.installJob(t.code);
    } catch (err) {
      // A job not visible yet is a 404; a dropped connection may heal: both wait.
      if (err instanceof CmHttpError && (err.status === 401 || err.status === 403)) {
        throw callError(err, t);
      }
      if (Date.now() > timing.deadline) throw callError(err, t);
    }
    const verdict = pollVerdict(job, jobId);
    if (verdict === 'completed') return job!;
    if (verdict === 'failed') {
      const why = job!.installErrorMessage ?? job!.rollbackErrorMessage;
      throw new OperationError(
        `bundle ${t.code} version ${t.version}: install ended ${job!.status}${why ? `: ${why.replace(/\s+/g, ' ')}` : ''} (see the component manager's log; run the restore again with --existing update once fixed)`,
      );
    }
    const now =
      job && job.id === jobId
        ? `${job.status}${job.progress !== undefined ? ` ${Math.round(job.progress * 100)}%` : ''}`
        : 'waiting for the job';
    if (now !== last) progress(`bundle ${t.code}: ${now}`);
    last = now;
    if (Date.now() > timing.deadline) {
      throw new OperationError(
        `bundle ${t.code}: install job ${jobId} not finished before the wait timeout (${now}): raise --wait-timeout or run the restore again with --existing update`,
      );
    }
    await sleep(timing.pollMs);
  }
}

function checkAborted(timing: InstallTiming, t: InstallTarget): void {
  if (timing.signal?.aborted) {
    throw new OperationError(
      `bundle ${t.code}: interrupted; run the same restore with --existing update to finish`,
    );
  }
}

/** A refused call, said with the bundle and what to fix. */
export function callError(err: unknown, t: InstallTarget): Error {
  if (!(err instanceof CmHttpError)) {
    return new OperationError(`bundle ${t.code}: ${(err as Error).message}`);
  }
  const msg = `HTTP ${err.status}${err.detail ? ` ${err.detail}` : ''}`;
  switch (err.status) {
    case 401:
      return new OperationError(
        `bundle ${t.code}: the component manager refused the token of client ${t.clientId} (${msg}): the token must come from the app's realm; check that secret ${t.secretName} matches client ${t.clientId} there`,
      );
    case 403:
      return new OperationError(
        `bundle ${t.code}: client ${t.clientId} may not install bundles (${msg}): its service account needs role superuser of client ${t.appClient} (the operator grants it; a restored realm must still have it)`,
      );
    case 404:
      return new OperationError(
        `bundle ${t.code}: the component manager does not find it (${msg}): its EntandoDeBundle must be in the app's namespace or a componentRepositoryNamespace, with its annotations`,
      );
    default:
      return new OperationError(`bundle ${t.code} version ${t.version}: install refused (${msg})`);
  }
}
