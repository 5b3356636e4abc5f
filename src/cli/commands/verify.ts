import { verifyArchive } from '../../archive/verify.js';
import { defineCommand } from '../command.js';
import { archivePositional, decryptOptions, s3Options } from '../options.js';

export const verifyCommand = defineCommand({
  command: 'verify <archive>',
  describe: 'Check structure, decryption and every checksum of an archive',
  positionals: { archive: archivePositional },
  options: { ...decryptOptions, ...s3Options },
  examples: [
    ['$0 verify qs.tar.age -i key.txt', 'exit 0 when intact, non-zero naming the first bad entry'],
  ],
  run: async (args, ctx, output) => {
    const location = ctx.location(args.archive, args, output);
    const { manifest, encrypted } = await verifyArchive(location, ctx.decryptionKeys(args));
    const bytes = manifest.entries.reduce((n, e) => n + e.size, 0);
    return { file: args.archive, ok: true, encrypted, entries: manifest.entries.length, bytes };
  },
  render: (v) => ({
    text: `ok: ${v.file}: ${v.entries} entries, ${v.bytes} bytes verified${v.encrypted ? '' : ' (not encrypted)'}`,
    json: v,
  }),
});
