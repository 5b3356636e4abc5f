import fs from 'node:fs';
import { generateIdentity } from '../../archive/age/index.js';
import { UserError } from '../../errors.js';
import { defineCommand } from '../command.js';

export const keygenCommand = defineCommand({
  command: 'keygen',
  describe: 'Create an age identity file (like age-keygen) and print its recipient',
  options: {
    file: {
      alias: 'f',
      type: 'string',
      demandOption: true,
      describe: 'Identity file to create (mode 0600; never overwritten)',
    },
  },
  examples: [
    [
      '$0 keygen -f backup-key.txt',
      'then: backup -r <printed recipient>, restore -i backup-key.txt',
    ],
  ],
  run: (args) => {
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
    return { file: args.file, recipient };
  },
  render: (key) => ({ text: key.recipient, json: key }),
});
