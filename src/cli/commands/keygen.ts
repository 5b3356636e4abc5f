import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { generateIdentity } from '../../archive/age/index.js';
import { UserError } from '../../errors.js';
import type { CliContext } from '../context.js';
import type { GlobalArgs } from '../options.js';

interface KeygenArgs extends GlobalArgs {
  file: string;
}

export function keygenCommand(ctx: CliContext): CommandModule<GlobalArgs, KeygenArgs> {
  return {
    command: 'keygen',
    describe: 'Create an age identity file (like age-keygen) and print its recipient',
    builder: (y) =>
      y
        .option('file', {
          alias: 'f',
          type: 'string',
          demandOption: true,
          describe: 'Identity file to create (mode 0600; never overwritten)',
        })
        .example(
          '$0 keygen -f backup-key.txt',
          'then: backup -r <printed recipient>, restore -i backup-key.txt',
        ) as never,
    handler: (args) => {
      const { identity, recipient } = generateIdentity();
      const text = `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`;
      try {
        fs.writeFileSync(args.file, text, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UserError(
          `cannot create ${args.file} (${code}): ${code === 'EEXIST' ? 'it exists; keys are never overwritten' : 'check the path'}`,
        );
      }
      ctx
        .output(args.output, args.quiet, args.verbose)
        .result(recipient, { file: args.file, recipient });
    },
  };
}
