import { entryStream } from '../../archive/entry-stream.js';
import { ArchiveError } from '../../archive/errors.js';
import { OperationError } from '../../errors.js';
import type { Timings } from '../../report/timings.js';
import { mapLimit } from '../../util/limit.js';
import type { PlanContext } from '../component.js';
import { filesTrees, type ArchivedFiles } from './archived-files.js';
import { checkTarStream, UnsafeEntryError } from './tar-check.js';

/**
 * Refuses the whole step if any header is unsafe: from the check the verifying pass made
 * (LoadedArchive.headerChecks), else by reading each entry once.
 */
export async function checkEntries(
  ctx: PlanContext,
  group: ArchivedFiles[],
  signal: AbortSignal,
  timings?: Timings,
): Promise<void> {
  filesTrees(group);
  await mapLimit(group, ctx.parallel, async (a) => {
    if (signal.aborted) throw new OperationError('interrupted');
    const pre = ctx.archive.headerChecks?.get(a.entry.path);
    try {
      let checked = pre && pre.root === a.meta.dir ? pre.result : undefined;
      if (pre && pre.root === a.meta.dir && pre.error) throw pre.error;
      if (!checked) {
        const stream = entryStream(ctx.archive, a.entry, 'check');
        try {
          const check = () => checkTarStream(stream, a.meta.dir);
          checked = await (timings
            ? timings.time(`check tar headers of ${a.meta.dir} (${a.meta.owner.name})`, check)
            : check());
        } finally {
          stream.destroy();
        }
      }
      a.sparse = checked.sparse > 0;
      a.entries = checked.entries;
      // Streams 2..N of a split tree are extracted first, beside each other: no links there
      // for another stream to write through (see split.ts).
      if ((a.meta.stream ?? 1) > 1 && checked.symlinks > 0) {
        throw new ArchiveError(
          'tampered',
          `${a.entry.path}: stream ${a.meta.stream} of ${a.meta.mountPath}/${a.meta.dir} holds symlinks (only stream 1 may); nothing was extracted`,
        );
      }
    } catch (err) {
      if (err instanceof UnsafeEntryError) {
        throw new ArchiveError(
          'tampered',
          `${a.entry.path}: ${err.message}; nothing was extracted`,
        );
      }
      throw err;
    }
  });
}
