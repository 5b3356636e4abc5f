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
