import { entryStream } from '../../archive/entry-stream.js';
import { OperationError } from '../../errors.js';
import { podExec, type PodExecRequest } from '../../kube/pod-exec.js';
import { timed, type StepContext } from '../../contract/plan.js';
import { mapLimit } from '../../util/limit.js';
import type { PlanContext } from '../component.js';
import type { ArchivedFiles } from './archived-files.js';
import type { PodExecFn, PodTarget } from './backup.js';
import { EXTRACT_SCRIPT, STAGE_SCRIPT, STAGING_PREFIX, SWAP_SCRIPT } from './pod-scripts.js';

/** Runs a command in the pod through `exec`; a non-zero exit is an error with its stderr. */
async function execOk(
  exec: PodExecFn,
  c: StepContext,
  req: PodExecRequest,
  what: string,
): Promise<void> {
  const result = await exec(c.target.config, req);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new OperationError(
      `${what} failed in pod ${req.namespace}/${req.pod} (exit code ${result.exitCode})${detail ? `: ${detail}` : ''}`,
    );
  }
}

async function* counted(
  source: AsyncIterable<Buffer>,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/**
 * Streams a directory's tar (or every stream of a split tree: 2..N at once, then 1) into
 * `tar -x` in the pod, into a staging directory; only once every stream went in whole and
 * matched its sha256 is the directory swapped in for the old one. An interrupted extraction
 * leaves the old directory in place and the staging one is started over by the next run.
 */
export async function extractTree(
  c: StepContext,
  ctx: PlanContext,
  target: PodTarget,
  tree: ArchivedFiles[],
  exec: PodExecFn = podExec,
): Promise<void> {
  const { mountPath, dir } = tree[0].meta;
  if (tree.length === 1) {
    await extractEntry(c, ctx, target, tree[0], false, exec);
  } else {
    await execOk(
      exec,
      c,
      { ...target, command: ['sh', '-c', STAGE_SCRIPT, 'sh', mountPath, dir], signal: c.signal },
      `preparing ${mountPath}/${STAGING_PREFIX}${dir}`,
    );
    const last = tree[tree.length - 1];
    await mapLimit(tree.slice(0, -1), ctx.parallel, (a) =>
      extractEntry(c, ctx, target, a, true, exec),
    );
    await extractEntry(c, ctx, target, last, true, exec);
  }
  await timed(c, 'swap the extracted directory in', () =>
    execOk(
      exec,
      c,
      {
        namespace: target.namespace,
        pod: target.pod,
        container: target.container,
        command: ['sh', '-c', SWAP_SCRIPT, 'sh', mountPath, dir, expectedEntries(tree)],
        signal: c.signal,
      },
      `swapping ${mountPath}/${dir} in`,
    ),
  );
}

/** The entries of a tree's tars together ('' when a count is unknown: no check). */
function expectedEntries(tree: ArchivedFiles[]): string {
  if (tree.some((a) => a.entries === undefined)) return '';
  return String(tree.reduce((n, a) => n + a.entries!, 0));
}

/** One tar into the staging directory (made fresh unless `keep`: a split tree's). */
async function extractEntry(
  c: StepContext,
  ctx: PlanContext,
  target: PodTarget,
  a: ArchivedFiles,
  keep: boolean,
  exec: PodExecFn,
): Promise<void> {
  const mountPath = a.meta.mountPath;
  const dir = a.meta.dir;
  const stream = entryStream(ctx.archive, a.entry);
  let sent = 0;
  try {
    await execOk(
      exec,
      c,
      {
        namespace: target.namespace,
        pod: target.pod,
        container: target.container,
        command: [
          'sh',
          '-c',
          EXTRACT_SCRIPT,
          'sh',
          mountPath,
          dir,
          a.sparse ? 'sparse' : '',
          keep ? 'keep' : '',
        ],
        stdin: counted(stream, (n) => (sent += n)),
        signal: c.signal,
      },
      `tar -x into ${mountPath}/${STAGING_PREFIX}${dir}`,
    );
  } catch (err) {
    if (c.signal.aborted) {
      throw new OperationError(
        `${a.entry.path}: interrupted while extracting; ${mountPath}/${dir} was left as it was`,
      );
    }
    throw err;
  } finally {
    stream.destroy();
  }
  if (sent !== a.entry.size) {
    throw new OperationError(
      `${a.entry.path}: only ${sent} of ${a.entry.size} bytes were sent to tar -x; nothing swapped in`,
    );
  }
}
