import { OperationError } from '../../errors.js';
import { catalog } from '../../storage/catalog.js';
import {
  applyRetention,
  deletePruned,
  LAST_GOOD,
  verifiesWhole,
  type PruneDecision,
  type RetentionPolicy,
} from '../../storage/retention.js';
import { BY_NAME_GOOD, catalogByName, parseSeries, startsAsAge } from '../../storage/by-name.js';
import type { DecryptionKeys } from '../../archive/encryption.js';
import type { ArchiveFolder } from '../../storage/location.js';
import { defineCommand } from '../command.js';
import type { Output } from '../../report/output.js';
import { decryptOptions, folderPositional, s3Options } from '../options.js';
import { rowJson } from '../render/catalog.js';
import { checkRetention, retentionOptions, retentionPolicy } from '../retention-options.js';

export const pruneCommand = defineCommand({
  command: 'prune <location>',
  describe:
    'Delete old archives of a directory or s3:// prefix, keeping the newest per app (retention)',
  positionals: { location: folderPositional },
  options: {
    ...retentionOptions,
    app: { type: 'string', describe: 'Only prune archives of this app' },
    'by-name': {
      type: 'string',
      describe:
        'NAMESPACE/APP: without a key, identify archives by their default name APP-NAMESPACE-<time>.tar.age and check only their age header (the in-cluster schedule; docs/schedules.md)',
    },
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
    ['$0 prune ./backups --keep-daily 7 --keep-weekly 4 --keep-monthly 12 -i key.txt', 'GFS'],
    ['$0 prune ./backups --keep-within 30d --dry-run -i key.txt', 'what would go'],
  ],
  validate: (args) => {
    checkRetention(args);
    if (args['by-name']) parseSeries(args['by-name']);
  },
  run: async (args, ctx, output) => {
    const folder = ctx.folder(args.location, args, output);
    const { decisions, warnings } = args['by-name']
      ? await pruneByName(folder, args['by-name'], retentionPolicy(args))
      : await pruneVerified(folder, ctx.decryptionKeys(args), retentionPolicy(args), output);
    warnings.forEach((w) => output.warn(w));
    noteKept(decisions, output, args['dry-run']);
    if (args['dry-run']) return { decisions, warnings, deleted: [], failed: [] };
    return { decisions, warnings, ...(await deletePruned(folder, decisions)) };
  },
  render: ({ decisions, warnings, deleted, failed }, args) => {
    const dryRun = args['dry-run'];
    const deleting = decisions.filter((d) => d.action === 'delete');
    const kept = decisions.filter((d) => d.action === 'keep');
    return {
      text: [
        ...(dryRun ? kept.map((d) => `would keep ${what(d)}: ${d.reason}`) : []),
        ...(dryRun ? deleting : deleted).map(
          (d) => `${dryRun ? 'would delete' : 'deleted'} ${what(d)}`,
        ),
        `${dryRun ? 'dry run: would delete' : 'deleted'} ${deleting.length - failed.length} of ${decisions.length}, kept ${kept.length}, left alone ${decisions.length - deleting.length - kept.length}`,
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
        warnings,
      },
      failure:
        failed.length > 0
          ? new OperationError(`prune: could not delete ${failed.join('; ')}`)
          : undefined,
    };
  },
});

/** prune's own rule: manifests read and the newest of each series verified with the key. */
async function pruneVerified(
  folder: ArchiveFolder,
  keys: DecryptionKeys,
  policy: RetentionPolicy,
  output: Output,
) {
  return applyRetention(await catalog(folder, keys), policy, {
    now: new Date(),
    isWhole: verifiesWhole(keys, (r) => output.progress(`verifying ${r.stored.location.name}`)),
  });
}

/** The schedule's, without a key: by name, the age header checked (docs/schedules.md). */
async function pruneByName(folder: ArchiveFolder, series: string, policy: RetentionPolicy) {
  const result = await applyRetention(await catalogByName(folder, parseSeries(series)), policy, {
    now: new Date(),
    isWhole: startsAsAge,
  });
  for (const d of result.decisions.filter((d) => d.reasons.includes(LAST_GOOD))) {
    d.reasons = d.reasons.map((r) => (r === LAST_GOOD ? BY_NAME_GOOD : r));
    d.reason = d.reasons.join(', ');
  }
  return result;
}

/** Unreadable archives as warnings, kept ones with -v (a dry run lists them). */
function noteKept(decisions: PruneDecision[], output: Output, dryRun: boolean): void {
  for (const d of decisions) {
    const name = d.row.stored.location.name;
    if (d.action === 'skip' && !d.row.source) output.warn(`left alone: ${name} (${d.reason})`);
    if (d.action === 'keep' && !dryRun) output.debug(`keep ${name} (${d.reason})`);
  }
}

function what(d: PruneDecision): string {
  return `${d.row.stored.location.name} (${d.row.source!.app}, created ${d.row.createdAt!.toISOString()})`;
}
