import { run } from './main.js';

/**
 * Runs the CLI as this process (both entries: src/cli/entry.ts and the single executable's
 * src/release/sea-entry.ts). Ctrl-C (or SIGTERM) aborts the run, which removes any partial
 * archive and undoes any scale-down before exiting non-zero (130); a second one exits at once
 * (the partial archive is still removed by the writer's exit hook).
 */
export async function runProcess(): Promise<void> {
  const controller = new AbortController();
  let interrupted = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted++;
      if (interrupted > 1) process.exit(130);
      process.stderr.write(`\n${signal}: stopping and cleaning up (again to force)...\n`);
      controller.abort();
    });
  }
  try {
    const code = await run(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
      signal: controller.signal,
    });
    process.exitCode = interrupted > 0 ? 130 : code;
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
