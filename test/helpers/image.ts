import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './sandbox.js';

const run = promisify(execFile);

/**
 * The sandbox's stand-in for the release image: this checkout's CLI bundled
 * (dist/kubectl-entando.cjs, as the single executable embeds it) and put where the sandbox node
 * finds a container's `kubectl-entando` command (`scripts/sandbox image`).
 */
export async function installSandboxImage(): Promise<string> {
  const node = path.join(ROOT, 'node_modules/.bin/node');
  await run(node, [path.join(ROOT, 'dist/src/release/bundle-main.js')], { cwd: ROOT });
  const { stdout } = await run('bash', [path.join(ROOT, 'scripts/sandbox'), 'image'], {
    cwd: ROOT,
  });
  return stdout.trim();
}
