import './snapshot-guard.js';
import v8 from 'node:v8';
import { runProcess } from '../cli/process-run.js';

/**
 * The entry of the single executable (bundled to one CommonJS file by esbuild; src/cli/entry.ts
 * has a top-level await, which CommonJS cannot have).
 *
 * When Node builds a startup snapshot from this bundle (the host platform's executable, see
 * `usesStartupSnapshot`), the top level of every module loaded so far (yargs, the commands'
 * definitions) runs at build time and `runProcess` is what the executable runs once the heap is
 * deserialized; otherwise it runs now.
 */
const main = (): void => void runProcess();

if (v8.startupSnapshot.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(main);
else main();
