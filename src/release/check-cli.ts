import path from 'node:path';
import { checkRelease, krewTools } from './krew-check.js';

/**
 * scripts/check-krew [MANIFEST [ARCHIVE_DIR]]: a built release checked with Krew itself
 * (validate-krew-manifest, `krew install --archive` of every platform; see krew-check.ts).
 */
async function main(argv: string[]): Promise<number> {
  const root = path.resolve(import.meta.dirname, '../../..');
  const manifest = path.resolve(argv[0] ?? path.join(root, 'release/plugin.yaml'));
  const dir = path.resolve(argv[1] ?? path.dirname(manifest));
  const { problems, checked } = await checkRelease(manifest, dir, await krewTools(root));
  for (const p of problems) process.stderr.write(`check-krew: ${p}\n`);
  if (problems.length > 0) return 1;
  process.stdout.write(
    `check-krew: ${manifest} valid (validate-krew-manifest); installed with krew: ${checked.join(', ')}\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`check-krew: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
