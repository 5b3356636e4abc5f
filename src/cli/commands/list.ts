import { catalog } from '../../storage/catalog.js';
import { defineCommand } from '../command.js';
import { decryptOptions, folderPositional, s3Options } from '../options.js';
import { listText, rowJson } from '../render/catalog.js';

export const listCommand = defineCommand({
  command: 'list <location>',
  describe: 'List the archives in a directory or under s3://BUCKET/PREFIX/ (from their manifests)',
  positionals: { location: folderPositional },
  options: { ...decryptOptions, ...s3Options },
  examples: [
    ['$0 list s3://backups/entando/ -i key.txt', 'one row per archive'],
    ['$0 list ./backups -o json', 'as JSON'],
  ],
  run: async (args, ctx, output) => {
    const keys = ctx.decryptionKeys(args);
    return await catalog(ctx.folder(args.location, args, output), keys);
  },
  render: (rows, args) => ({
    text: listText(rows),
    json: { location: args.location, archives: rows.map(rowJson) },
  }),
});
