import path from 'node:path';
import { build, type Plugin } from 'esbuild';

/**
 * Bundles the CLI into one CommonJS file for the single executable (SEA runs CommonJS only).
 * The entry is src/release/sea-entry.ts (src/cli/entry.ts has a top-level await). Packages that
 * are ESM read `import.meta.url` (yargs' locale directory, createRequire): it is defined as the
 * file URL of `__filename`, which in a single executable is the executable itself.
 */
/** Every `string-width` import (yargs, cliui, wrap-ansi) goes to src/release/string-width-ascii.ts. */
function asciiStringWidth(root: string): Plugin {
  const wrapper = path.join(root, 'src/release/string-width-ascii.ts');
  return {
    name: 'ascii-string-width',
    setup(b) {
      b.onResolve({ filter: /^string-width$/ }, (args) =>
        args.importer === wrapper ? undefined : { path: wrapper },
      );
    },
  };
}

export async function bundle(
  root: string,
  outfile: string,
  /** Packages left out (scripts/bench-s3 measures what the AWS SDK adds this way). */
  external: string[] = [],
): Promise<void> {
  const result = await build({
    entryPoints: [path.join(root, 'src/release/sea-entry.ts')],
    outfile,
    bundle: true,
    external,
    plugins: [asciiStringWidth(root)],
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    // Whitespace and syntax only: identifiers (error and class names, stack traces) stay as
    // written. A third of the bytes V8 has to scan at every start (scripts/bench-startup).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'import.meta.url': '__kubectl_entando_import_meta_url' },
    banner: {
      js: "var __kubectl_entando_import_meta_url = require('node:url').pathToFileURL(__filename).href;",
    },
  });
  if (result.errors.length > 0) {
    throw new Error(`esbuild: ${result.errors.map((e) => e.text).join('; ')}`);
  }
}
