import './snapshot-guard.js';
import v8 from 'node:v8';
import { run } from '../cli/main.js';

/**
 * The entry of the single executable (bundled to one CommonJS file by esbuild). Same behaviour
 * as src/cli/entry.ts, without its top-level await, which CommonJS cannot have: Ctrl-C (or
 * SIGTERM) aborts the run, which cleans up before exiting non-zero; a second one exits at once.
 *
 * When Node builds a startup snapshot from this bundle (the host platform's executable, see
 * `usesStartupSnapshot`), the top level of every module loaded so far (yargs, the commands'
 * definitions) runs at build time and `main` is what the executable runs once the heap is
 * deserialized; otherwise `main` runs now.
 */
function main(): void {
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

  void run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
  }).then(
    (code) => {
      process.exitCode = interrupted > 0 ? 130 : code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (v8.startupSnapshot.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(main);
else main();
