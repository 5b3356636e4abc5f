import { runProcess } from './process-run.js';

/** The process entry of the built modules (bin/kubectl-entando runs the bundle when built). */
await runProcess();
