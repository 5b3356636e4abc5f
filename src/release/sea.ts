import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import postject from 'postject';

const exec = promisify(execFile);

/**
 * V8 flags the binary starts with (as bin/kubectl-entando does): a 1 MiB young generation keeps
 * the peak RSS of a streaming backup under 200 MB (V8 grows it under the allocation rate of
 * socket chunks otherwise) at no measured cost in speed. V8 reads it only at start-up.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1'];

/** The fuse Node looks for to know that a SEA blob was injected. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

/**
 * What a SEA blob holds: the bundle (`portable`: the same blob serves every platform of that
 * Node version), or a startup snapshot (`snapshot`), the heap once the bundle's top level has
 * run (src/release/sea-entry.ts), which the executable deserializes instead of compiling and
 * running it, and which only the very Node binary that made it accepts: it goes into the
 * executable built from that binary (the host platform's, see `usesStartupSnapshot`). A V8 code
 * cache (`useCodeCache`), measured slower to start than the snapshot (docs/performance-log.md),
 * is not used.
 */
export type BlobKind = 'portable' | 'snapshot';

/**
 * Generates the SEA preparation blob for `main` with `node` (a Node runnable on this machine,
 * of the same version as the binaries the blob goes into).
 */
export async function seaBlob(
  node: string,
  main: string,
  out: string,
  kind: BlobKind = 'portable',
): Promise<void> {
  const config = `${out}.json`;
  fs.writeFileSync(
    config,
    JSON.stringify({
      main,
      output: out,
      disableExperimentalSEAWarning: true,
      useSnapshot: kind === 'snapshot',
      useCodeCache: false,
      execArgv: NODE_FLAGS,
    }),
  );
  await exec(node, ['--experimental-sea-config', config], { env: { PATH: process.env.PATH } });
  if (!fs.existsSync(out)) throw new Error(`${node} --experimental-sea-config wrote no blob`);
}

/** Injects the blob into a copy of a Node executable (ELF, PE or Mach-O). */
export async function injectBlob(executable: string, blob: string, macho: boolean): Promise<void> {
  await postject.inject(executable, SEA_RESOURCE, fs.readFileSync(blob), {
    sentinelFuse: SEA_FUSE,
    ...(macho ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
}

export function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return path.resolve(dir);
}
