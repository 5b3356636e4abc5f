import { FORMAT_VERSION } from '../../archive/layout.js';
import { TOOL } from '../../version.js';
import { defineCommand } from '../command.js';

export const versionCommand = defineCommand({
  command: 'version',
  describe: 'Print the version of kubectl-entando',
  options: {},
  run: () => ({ ...TOOL, archiveFormat: FORMAT_VERSION, node: process.versions.node }),
  render: (v) => ({
    text: `${v.name} ${v.version} (archive format ${v.archiveFormat}, node ${v.node})`,
    json: v,
  }),
});
