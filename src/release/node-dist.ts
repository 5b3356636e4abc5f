import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';

const exec = promisify(execFile);

/** `${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-entando-release`, or KUBECTL_ENTANDO_RELEASE_CACHE. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUBECTL_ENTANDO_RELEASE_CACHE) return env.KUBECTL_ENTANDO_RELEASE_CACHE;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kubectl-entando-release');
}

/**
 * The Node executable of `pkg@version` from the npm registry, fetched once with `npm pack` (the
 * ordinary client, so the user's registry, proxy and auth settings apply) and extracted into the
 * cache. Returns its path.
 */
export async function nodeBinary(
  pkg: string,
  version: string,
  cache = cacheDir(),
): Promise<string> {
  const dir = path.join(cache, 'node', `${pkg}-${version}`);
  for (const name of ['node', 'node.exe']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  const packs = path.join(cache, 'npm');
  fs.mkdirSync(packs, { recursive: true });
  const tgz = path.join(packs, `${pkg}-${version}.tgz`);
  if (!fs.existsSync(tgz)) {
    await exec('npm', ['pack', `${pkg}@${version}`, '--silent', '--pack-destination', packs], {
      maxBuffer: 16 * 1024 * 1024,
    });
    if (!fs.existsSync(tgz)) throw new Error(`npm pack ${pkg}@${version} did not write ${tgz}`);
  }
  const tmp = `${dir}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let found = '';
  await tar.x({
    file: tgz,
    cwd: tmp,
    strip: 2,
    filter: (p) => p === 'package/bin/node' || p === 'package/bin/node.exe',
    onentry: (e) => {
      found = path.basename(e.path);
    },
  });
  const file = path.join(tmp, found);
  if (!fs.existsSync(file)) throw new Error(`${tgz} has no Node executable`);
  fs.chmodSync(file, 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return path.join(dir, found);
}
