import fs from 'node:fs';
import { currentRun, processStart } from '../../sandbox/test-runs.js';

/**
 * Held by the suites that start Keycloak realm exports (keycloak, bundles), so that two test
 * runs on one machine do not count each other's export servers as leftovers. In /tmp: the
 * sandbox's pods are host processes, shared by every checkout.
 */
export const KEYCLOAK_SUITE_LOCK = '/tmp/keycloak-suite.lock';

/** Who holds a suite lock: written into the lock file. */
export interface LockHolder {
  pid: number;
  /** The holder's process start time (a reused pid has another). */
  start: string;
  suite: string;
  since: string;
}

export type LockState =
  { state: 'free' } | { state: 'held'; holder: LockHolder } | { state: 'stale'; why: string };

/** Whether the lock at `file` is free, held by a live process, or left by a gone one. */
export function lockState(file: string): LockState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { state: 'free' };
  }
  let holder: LockHolder;
  try {
    holder = JSON.parse(text) as LockHolder;
  } catch {
    return { state: 'stale', why: `it names no holder (${JSON.stringify(text.trim())})` };
  }
  if (processStart(holder.pid) !== holder.start) {
    return { state: 'stale', why: `its holder (${holder.suite}, pid ${holder.pid}) is gone` };
  }
  return { state: 'held', holder };
}

/**
 * Takes the lock at `file` for `suite`, waiting while a live process holds it and taking it
 * over from one that is gone (an interrupted run). Says why it waits and what it took over.
 * Returns the release function.
 */
export async function takeSuiteLock(
  file: string,
  suite: string,
  opts: { timeoutMs: number; say?: (m: string) => void; pollMs?: number },
): Promise<() => void> {
  const say = opts.say ?? ((m: string) => process.stderr.write(`${m}\n`));
  const me = currentRun();
  const mine: LockHolder = { pid: me.pid, start: me.start, suite, since: new Date().toISOString() };
  const deadline = Date.now() + opts.timeoutMs;
  let told = 0;
  for (;;) {
    try {
      fs.writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
      return () => {
        const s = lockState(file);
        if (s.state === 'held' && s.holder.pid === me.pid) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const s = lockState(file);
    if (s.state === 'stale') {
      say(`${file}: taking it over: ${s.why}`);
      fs.rmSync(file, { force: true });
      continue;
    }
    if (s.state === 'free') continue;
    if (s.state === 'held') {
      if (Date.now() > deadline) {
        throw new Error(
          `${file} is held by ${s.holder.suite} (pid ${s.holder.pid}) since ${s.holder.since}: gave up waiting`,
        );
      }
      if (Date.now() - told > 30_000) {
        say(
          `waiting for ${file}: held by ${s.holder.suite} (pid ${s.holder.pid}) since ${s.holder.since}`,
        );
        told = Date.now();
      }
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}
