/**
 * Polled every 250 ms for the first 10 s, then every second: the operator (or a deployment) is
 * often done within a few seconds, and a restore waits like this several times (app, each
 * plugin, each scale-down and back): a coarser poll is time added to every wait.
 */
export function pollDelay(started: number, now = Date.now()): number {
  return now - started < 10_000 ? 250 : 1000;
}
