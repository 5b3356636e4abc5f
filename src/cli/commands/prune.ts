import type { CommandModule } from 'yargs';
import { decryptionKeys } from '../../archive/encryption.js';
import { OperationError, errorMessage } from '../../errors.js';
import { catalog } from '../../storage/catalog.js';
import { applyRetention, verifiesWhole } from '../../storage/retention.js';
import type { CliContext } from '../context.js';
import { decryptOptions, s3Options, type GlobalArgs, type S3Args } from '../options.js';
import * as retention from '../retention-options.js';
import { rowJson } from './list.js';

interface PruneArgs extends GlobalArgs, S3Args, retention.RetentionArgs {
  location: string;
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
        .options(retention.retentionOptions)
        .option('app', { type: 'string', describe: 'Only prune archives of this app' })
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'Print what would be deleted; delete nothing',
        })
        .options(decryptOptions)
        .options(s3Options)
        .check((a) => retention.checkRetention(a as never))
        .example('$0 prune s3://backups/entando/ --keep-last 7 -i key.txt', 'a week of dailies')
        .example('$0 prune ./backups --keep-within 30d --dry-run', 'what would go') as never,
    handler: async (args) => {
      const output = ctx.output(args.output, args.quiet, args.verbose);
      const keys = decryptionKeys(
        { identity: args.identity, passphraseFile: args['passphrase-file'] },
        ctx.keySources(),
      );
      const folder = ctx.folder(args.location, args, output);
      const rows = await catalog(folder, keys);
      const { decisions, warnings } = await applyRetention(rows, retention.retentionPolicy(args), {
        now: new Date(),
        isWhole: verifiesWhole(keys, (r) => output.progress(`verifying ${r.stored.location.name}`)),
      });
      warnings.forEach((w) => output.warn(w));
      const lines: string[] = [];
      const failed: string[] = [];
      for (const d of decisions) {
        const name = d.row.stored.location.name;
        if (d.action === 'skip') {
          if (!d.row.source) output.warn(`left alone: ${name} (${d.reason})`);
          continue;
        }
        const what = `${name} (${d.row.source!.app}, created ${d.row.createdAt!.toISOString()})`;
        if (d.action === 'keep') {
          if (args['dry-run']) lines.push(`would keep ${what}: ${d.reason}`);
          else output.debug(`keep ${name} (${d.reason})`);
          continue;
        }
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
        warnings,
      });
      if (failed.length > 0)
        throw new OperationError(`prune: could not delete ${failed.join('; ')}`);
    },
  };
}
