import type { CommandModule } from 'yargs';
import { decryptionKeys } from '../../archive/encryption.js';
import { readManifest } from '../../archive/manifest-tail.js';
import { describeKeycloak } from '../../components/keycloak/describe.js';
import { describeBundles } from '../../components/bundles/describe.js';
import type { CliContext } from '../context.js';
import { decryptOptions, s3Options, type GlobalArgs, type S3Args } from '../options.js';

interface ArchiveArgs extends GlobalArgs, S3Args {
  archive: string;
  identity?: string[];
  'passphrase-file'?: string;
}

export function inspectCommand(ctx: CliContext): CommandModule<GlobalArgs, ArchiveArgs> {
  return {
    command: 'inspect <archive>',
    describe: 'Summarise what an archive holds (its manifest)',
    builder: (y) =>
      y
        .positional('archive', {
          type: 'string',
          demandOption: true,
          describe: 'Archive file or s3://BUCKET/KEY',
        })
        .options(decryptOptions)
        .options(s3Options)
        .example('$0 inspect qs.tar.age -i key.txt -o json', 'the manifest as JSON') as never,
    handler: async (args) => {
      const output = ctx.output(args.output, args.quiet, args.verbose);
      const keys = decryptionKeys(
        { identity: args.identity, passphraseFile: args['passphrase-file'] },
        ctx.keySources(),
      );
      const { manifest, encrypted } = await readManifest(
        ctx.location(args.archive, args, output),
        keys,
      );
      const s = manifest.source;
      const counts = manifest.components.resources?.counts ?? {};
      const bytes = manifest.entries.reduce((n, e) => n + e.size, 0);
      const { keycloak, bundles } = manifest.components;
      output.result(
        [
          `archive:    ${args.archive} (${encrypted ? 'age-encrypted' : 'NOT encrypted'}, format ${manifest.formatVersion})`,
          `created:    ${manifest.createdAt} by ${manifest.tool.name} ${manifest.tool.version}`,
          `source:     app ${s.app} in ${s.namespace}, context ${s.context}, server ${s.server}`,
          `entando:    ${s.entandoVersion ?? 'unknown'}`,
          `objects:    ${
            Object.entries(counts)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ') || 'none'
          }`,
          ...(keycloak ? [`keycloak:   ${describeKeycloak(keycloak)}`] : []),
          ...(bundles ? describeBundles(bundles).map((l) => `bundles:    ${l}`) : []),
          `entries:    ${manifest.entries.length}, ${bytes} bytes`,
          ...manifest.warnings.map((w) => `warning:    ${w}`),
        ],
        { file: args.archive, encrypted, ...manifest },
      );
    },
  };
}
