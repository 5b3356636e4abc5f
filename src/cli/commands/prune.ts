import { OperationError, UserError } from '../../errors.js';
import { catalog } from '../../storage/catalog.js';
import {
  decidePrune,
  deletePruned,
  parseDuration,
  type PruneDecision,
} from '../../storage/retention.js';
import { defineCommand } from '../command.js';
import type { Output } from '../../report/output.js';
import { decryptOptions, folderPositional, s3Options } from '../options.js';
import { rowJson } from '../render/catalog.js';

export const pruneCommand = defineCommand({
  command: 'prune <location>',
  describe:
    'Delete old archives of a directory or s3:// prefix, keeping the newest per app (retention)',
  positionals: { location: folderPositional },
  options: {
    'keep-last': {
      type: 'number',
      describe: 'Keep the N newest archives of each app (per context and namespace)',
    },
    'keep-within': {
      type: 'string',
      describe: 'Keep archives created within this long, e.g. 30d, 12h, 2w, 1d12h',
    },
    app: { type: 'string', describe: 'Only prune archives of this app' },
    'dry-run': {
      type: 'boolean',
      default: false,
      describe: 'Print what would be deleted; delete nothing',
    },
    ...decryptOptions,
    ...s3Options,
  },
  examples: [
    ['$0 prune s3://backups/entando/ --keep-last 7 -i key.txt', 'a week of dailies'],
    ['$0 prune ./backups --keep-within 30d --dry-run', 'what would go'],
  ],
  validate: (args) => {
    if (args['keep-last'] === undefined && args['keep-within'] === undefined) {
      throw new UserError('say what to keep: --keep-last N or --keep-within DURATION');
    }
    const n = args['keep-last'];
    if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
      throw new UserError('--keep-last must be a whole number of at least 1');
    }
  },
  run: async (args, ctx, output) => {
    const keepWithin = args['keep-within'];
    const keepWithinMs = keepWithin !== undefined ? parseDuration(keepWithin) : undefined;
    const keys = ctx.decryptionKeys(args);
    const folder = ctx.folder(args.location, args, output);
    const policy = { keepLast: args['keep-last'], keepWithinMs, app: args.app };
    const decisions = decidePrune(await catalog(folder, keys), policy, new Date());
    noteKept(decisions, output);
    if (args['dry-run']) return { decisions, deleted: [], failed: [] };
    return { decisions, ...(await deletePruned(folder, decisions)) };
  },
  render: ({ decisions, deleted, failed }, args) => {
    const dryRun = args['dry-run'];
    const deleting = decisions.filter((d) => d.action === 'delete');
    const kept = decisions.filter((d) => d.action === 'keep').length;
    return {
      text: [
        ...(dryRun ? deleting : deleted).map(
          (d) => `${dryRun ? 'would delete' : 'deleted'} ${what(d)}`,
        ),
        `${dryRun ? 'dry run: would delete' : 'deleted'} ${deleting.length - failed.length} of ${decisions.length}, kept ${kept}, left alone ${decisions.length - deleting.length - kept}`,
      ],
      json: {
        location: args.location,
        dryRun,
        decisions: decisions.map((d) => ({
          ...rowJson(d.row),
          action: d.action,
          reason: d.reason,
        })),
        failed,
      },
      failure:
        failed.length > 0
          ? new OperationError(`prune: could not delete ${failed.join('; ')}`)
          : undefined,
    };
  },
});

/** Unreadable archives as warnings, kept ones with -v. */
function noteKept(decisions: PruneDecision[], output: Output): void {
  for (const d of decisions) {
    const name = d.row.stored.location.name;
    if (d.action === 'skip' && !d.row.source) output.warn(`left alone: ${name} (${d.reason})`);
    if (d.action === 'keep') output.debug(`keep ${name} (${d.reason})`);
  }
}

function what(d: PruneDecision): string {
  return `${d.row.stored.location.name} (${d.row.source!.app}, created ${d.row.createdAt!.toISOString()})`;
}
