import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { release, type ReleaseResult } from '../../src/release/cli.js';
import { TARGETS } from '../../src/release/targets.js';
import { ROOT } from '../helpers/sandbox.js';

let built: Promise<{ out: string; result: ReleaseResult }> | undefined;

/**
 * One release of every platform per mocha run, shared by the release suites, into a temporary
 * directory (never the developer's release/). Node binary packages come from the cache
 * (${XDG_CACHE_HOME:-~/.cache}/kubectl-entando-release), fetched with `npm pack` the first time.
 */
export function releaseOnce(): Promise<{ out: string; result: ReleaseResult }> {
  built ??= (async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ke-release-'));
    process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
    const result = await release({ root: ROOT, out, targets: TARGETS, log: () => undefined });
    return { out, result };
  })();
  return built;
}

/** kubectl: the sandbox's if it was built, else the one on PATH. */
export function kubectl(): string {
  const sandboxKubectl = path.join(ROOT, '.sandbox/bin/kubectl');
  if (fs.existsSync(sandboxKubectl)) return sandboxKubectl;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (fs.existsSync(path.join(dir, 'kubectl'))) return path.join(dir, 'kubectl');
  }
  throw new Error('kubectl not found');
}

/** A PATH with only the plugin and kubectl in it: no Node anywhere. */
export function nodelessPath(dir: string, binary: string): string {
  const bin = path.join(dir, 'path');
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(binary, path.join(bin, 'kubectl-entando'));
  fs.chmodSync(path.join(bin, 'kubectl-entando'), 0o755);
  fs.symlinkSync(kubectl(), path.join(bin, 'kubectl'));
  expect(fs.readdirSync(bin).sort()).to.deep.equal(['kubectl', 'kubectl-entando']);
  return bin;
}
