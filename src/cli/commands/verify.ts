import type { CommandModule } from 'yargs';
import { decryptionKeys } from '../../archive/encryption.js';
import { verifyArchive } from '../../archive/verify.js';
import type { CliContext } from '../context.js';
import { decryptOptions, s3Options, type GlobalArgs, type S3Args } from '../options.js';

interface VerifyArgs extends GlobalArgs, S3Args {
  archive: string;
  identity?: string[];
  'passphrase-file'?: string;
}

export function verifyCommand(ctx: CliContext): CommandModule<GlobalArgs, VerifyArgs> {
  return {
    command: 'verify <archive>',
    describe: 'Check structure, decryption and every checksum of an archive',
    builder: (y) =>
      y
        .positional('archive', {
          type: 'string',
          demandOption: true,
          describe: 'Archive file or s3://BUCKET/KEY',
        })
        .options(decryptOptions)
        .options(s3Options)
        .example(
          '$0 verify qs.tar.age -i key.txt',
          'exit 0 when intact, non-zero naming the first bad entry',
        ) as never,
    handler: async (args) => {
      const output = ctx.output(args.output, args.quiet, args.verbose);
      const keys = decryptionKeys(
        { identity: args.identity, passphraseFile: args['passphrase-file'] },
        ctx.keySources(),
      );
      const { manifest, encrypted } = await verifyArchive(
        ctx.location(args.archive, args, output),
        keys,
      );
      const bytes = manifest.entries.reduce((n, e) => n + e.size, 0);
      output.result(
        `ok: ${args.archive}: ${manifest.entries.length} entries, ${bytes} bytes verified${encrypted ? '' : ' (not encrypted)'}`,
        {
          file: args.archive,
          ok: true,
          encrypted,
          entries: manifest.entries.length,
          bytes,
        },
      );
    },
  };
}
