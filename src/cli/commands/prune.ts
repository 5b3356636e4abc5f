import type { CommandModule } from 'yargs';
import { decryptionKeys } from '../../archive/encryption.js';
import { OperationError, UserError, errorMessage } from '../../errors.js';
import { catalog } from '../../storage/catalog.js';
import { decidePrune, parseDuration } from '../../storage/retention.js';
import type { CliContext } from '../context.js';
import { decryptOptions, s3Options, type GlobalArgs, type S3Args } from '../options.js';
import { rowJson } from './list.js';

interface PruneArgs extends GlobalArgs, S3Args {
  location: string;
  'keep-last'?: number;
  'keep-within'?: string;
  app?: string;
  'dry-run': boolean;
  identity?: string[];
  'passphrase-file'?: string;
}

export function pruneCommand(ctx: CliContext): CommandModule<GlobalArgs, PruneArgs> {
  return {
    command: 'prune <location>',
    describe:
      'Delete old archives of a directory or s3:// prefix, keeping the newest per app (retention)',
    builder: (y) =>
      y
        .positional('location', {
          type: 'string',
          demandOption: true,
          describe: 'A directory or s3://BUCKET/PREFIX/',
        })
        .option('keep-last', {
          type: 'number',
          describe: 'Keep the N newest archives of each app (per context and namespace)',
        })
        .option('keep-within', {
          type: 'string',
          describe: 'Keep archives created within this long, e.g. 30d, 12h, 2w, 1d12h',
        })
        .option('app', { type: 'string', describe: 'Only prune archives of this app' })
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'Print what would be deleted; delete nothing',
        })
        .options(decryptOptions)
        .options(s3Options)
        .check((a) => {
          if (a['keep-last'] === undefined && a['keep-within'] === undefined) {
            throw new UserError('say what to keep: --keep-last N or --keep-within DURATION');
          }
          const n = a['keep-last'];
          if (n !== undefined && (!Number.isInteger(n) || (n as number) < 1)) {
            throw new UserError('--keep-last must be a whole number of at least 1');
          }
          return true;
        })
        .example('$0 prune s3://backups/entando/ --keep-last 7 -i key.txt', 'a week of dailies')
        .example('$0 prune ./backups --keep-within 30d --dry-run', 'what would go') as never,
    handler: async (args) => {
      const output = ctx.output(args.output, args.quiet, args.verbose);
      const keepWithinMs =
        args['keep-within'] !== undefined ? parseDuration(args['keep-within']) : undefined;
      const keys = decryptionKeys(
        { identity: args.identity, passphraseFile: args['passphrase-file'] },
        ctx.keySources(),
      );
      const folder = ctx.folder(args.location, args, output);
      const rows = await catalog(folder, keys);
      const decisions = decidePrune(
        rows,
        { keepLast: args['keep-last'], keepWithinMs, app: args.app },
        new Date(),
      );
      const lines: string[] = [];
      const failed: string[] = [];
      for (const d of decisions) {
        const name = d.row.stored.location.name;
        if (d.action === 'skip') {
          if (!d.row.source) output.warn(`left alone: ${name} (${d.reason})`);
          continue;
        }
        if (d.action === 'keep') {
          output.debug(`keep ${name} (${d.reason})`);
          continue;
        }
        const what = `${name} (${d.row.source!.app}, created ${d.row.createdAt!.toISOString()})`;
        if (args['dry-run']) {
          lines.push(`would delete ${what}`);
          continue;
        }
        try {
          await folder.remove(d.row.stored);
          lines.push(`deleted ${what}`);
        } catch (err) {
          failed.push(`${name}: ${errorMessage(err)}`);
        }
      }
      const deleting = decisions.filter((d) => d.action === 'delete').length;
      const kept = decisions.filter((d) => d.action === 'keep').length;
      lines.push(
        `${args['dry-run'] ? 'dry run: would delete' : 'deleted'} ${deleting - failed.length} of ${decisions.length}, kept ${kept}, left alone ${decisions.length - deleting - kept}`,
      );
      output.result(lines, {
        location: args.location,
        dryRun: args['dry-run'],
        decisions: decisions.map((d) => ({
          ...rowJson(d.row),
          action: d.action,
          reason: d.reason,
        })),
        failed,
      });
      if (failed.length > 0)
        throw new OperationError(`prune: could not delete ${failed.join('; ')}`);
    },
  };
}
