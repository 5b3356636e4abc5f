import { run } from './main.js';

/**
 * The process entry: Ctrl-C (or SIGTERM) aborts the run, which removes any partial archive
 * and undoes any scale-down before exiting non-zero; a second Ctrl-C exits at once (the
 * partial archive is still removed by the writer's exit hook).
 */
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

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = interrupted > 0 && code === 0 ? 130 : interrupted > 0 ? 130 : code;
