import type { CommandModule } from 'yargs';
import { decryptionKeys } from '../../archive/encryption.js';
import { formatBytes } from '../../report/progress.js';
import { formatTable } from '../../report/table.js';
import { catalog, type CatalogRow } from '../../storage/catalog.js';
import type { CliContext } from '../context.js';
import { decryptOptions, s3Options, type GlobalArgs, type S3Args } from '../options.js';

interface ListArgs extends GlobalArgs, S3Args {
  location: string;
  identity?: string[];
  'passphrase-file'?: string;
}

export function listCommand(ctx: CliContext): CommandModule<GlobalArgs, ListArgs> {
  return {
    command: 'list <location>',
    describe:
      'List the archives in a directory or under s3://BUCKET/PREFIX/ (from their manifests)',
    builder: (y) =>
      y
        .positional('location', {
          type: 'string',
          demandOption: true,
          describe: 'A directory or s3://BUCKET/PREFIX/',
        })
        .options(decryptOptions)
        .options(s3Options)
        .example('$0 list s3://backups/entando/ -i key.txt', 'one row per archive')
        .example('$0 list ./backups -o json', 'as JSON') as never,
    handler: async (args) => {
      const output = ctx.output(args.output, args.quiet, args.verbose);
      const keys = decryptionKeys(
        { identity: args.identity, passphraseFile: args['passphrase-file'] },
        ctx.keySources(),
      );
      const rows = await catalog(ctx.folder(args.location, args, output), keys);
      output.result(listText(rows), { location: args.location, archives: rows.map(rowJson) });
    },
  };
}

export function rowJson(row: CatalogRow) {
  return {
    location: row.stored.location.name,
    size: row.stored.size,
    modified: row.stored.modified.toISOString(),
    ...(row.source
      ? {
          app: row.source.app,
          namespace: row.source.namespace,
          context: row.source.context,
          server: row.source.server,
          createdAt: row.createdAt!.toISOString(),
          encryption: row.encrypted ? 'age' : 'none',
        }
      : { problem: row.problem }),
  };
}

function listText(rows: CatalogRow[]): string[] {
  if (rows.length === 0) return ['no archives'];
  const table = rows.map((r) =>
    r.source
      ? [
          r.createdAt!.toISOString().replace(/\.\d+Z$/, 'Z'),
          r.source.app,
          r.source.namespace,
          r.source.context,
          formatBytes(r.stored.size),
          r.encrypted ? 'age' : 'none',
          r.stored.location.name,
        ]
      : [
          '?',
          '?',
          '?',
          '?',
          formatBytes(r.stored.size),
          '?',
          `${r.stored.location.name} (${r.problem})`,
        ],
  );
  return formatTable(
    ['CREATED', 'APP', 'NAMESPACE', 'CONTEXT', 'SIZE', 'ENCRYPTION', 'LOCATION'],
    table,
  );
}
