import type { CommandModule } from 'yargs';
import { FORMAT_VERSION } from '../../archive/layout.js';
import { TOOL } from '../../version.js';
import type { CliContext } from '../context.js';
import type { GlobalArgs } from '../options.js';

export function versionCommand(ctx: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'version',
    describe: 'Print the version of kubectl-entando',
    handler: (args) => {
      ctx
        .output(args.output, args.quiet, args.verbose)
        .result(
          `${TOOL.name} ${TOOL.version} (archive format ${FORMAT_VERSION}, node ${process.versions.node})`,
          {
            ...TOOL,
            archiveFormat: FORMAT_VERSION,
            node: process.versions.node,
          },
        );
    },
  };
}
