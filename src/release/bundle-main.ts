import path from 'node:path';
import { bundle } from './bundle.js';

/**
 * `npm run build` ends here: the CLI as the one CommonJS file the single binary embeds,
 * dist/kubectl-entando.cjs, which bin/kubectl-entando runs. Measured against the unbundled
 * ESM modules: ~30 MB less RSS (the modules' records and source text) and 0.35 s less to start.
 */
const root = path.resolve(import.meta.dirname, '../../..');
await bundle(root, path.join(root, 'dist/kubectl-entando.cjs'));
