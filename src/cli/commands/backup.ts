import type { CommandModule } from 'yargs';
import { encryptionKeys } from '../../archive/encryption.js';
import { UserError } from '../../errors.js';
import { DEFAULT_FILE_STREAMS } from '../../components/files/split.js';
import { describeKeycloak } from '../../components/keycloak/describe.js';
import { describeBundles } from '../../components/bundles/describe.js';
import { formatFinding } from '../../report/results.js';
import { figuresLine, keyKindOf, nextRestoreCommand, runFigures } from '../../report/summary.js';
import type { CliContext } from '../context.js';
import {
  encryptOptions,
  kubeOptions,
  s3Options,
  type GlobalArgs,
  type KubeArgs,
  type S3Args,
} from '../options.js';

interface BackupArgs extends GlobalArgs, KubeArgs, S3Args {
  app?: string;
  file?: string;
  recipient?: string[];
  'recipients-file'?: string[];
  'passphrase-file'?: string;
  encrypt: boolean;
  quiesce: boolean;
  parallel: number;
  'file-streams': number;
  'include-indices': boolean;
  'db-client-image'?: string;
  'volume-pod-image'?: string;
  keycloak: 'realm' | 'skip';
  'keycloak-heap': string;
  'keycloak-timeout': number;
  'allow-unfinished-bundle-jobs': boolean;
}

export function backupCommand(ctx: CliContext): CommandModule<GlobalArgs, BackupArgs> {
  return {
    command: 'backup [app]',
    describe: 'Back up an Entando app into one encrypted archive',
    builder: (y) =>
      y
        .positional('app', {
          type: 'string',
          describe: 'EntandoApp name (default: the only one in the namespace)',
        })
        .options(kubeOptions)
        .options(encryptOptions)
        .option('quiesce', {
          type: 'boolean',
          default: false,
          describe:
            'Scale the app and its plugins to 0 for a point-in-time copy (always scaled back, on error and Ctrl-C too); needed for embedded databases',
        })
        .option('parallel', {
          type: 'number',
          default: 4,
          describe: 'Copy at most this many streams (schemas, file trees) at once',
        })
        .option('file-streams', {
          type: 'number',
          default: DEFAULT_FILE_STREAMS,
          describe:
            'Read a large file tree as up to this many tar streams at once, split by size (32 MiB at least each; within --parallel; needs GNU tar and find in the pod, else one stream)',
        })
        .option('include-indices', {
          type: 'boolean',
          default: false,
          describe: 'Also copy /entando-data/entando-indices (rebuildable search index)',
        })
        .option('db-client-image', {
          type: 'string',
          describe:
            'Image of the short-lived pod that dumps an external database (default: postgres:16-alpine / mysql:8.0)',
        })
        .option('volume-pod-image', {
          type: 'string',
          describe:
            'Image (with sh and tar) of the short-lived pod that reads the volume of a server scaled to 0 (default: busybox:1.36)',
        })
        .option('keycloak', {
          choices: ['realm', 'skip'] as const,
          default: 'realm' as const,
          describe:
            "realm: export the app's Keycloak realm with full fidelity (users with password hashes and OTP, client secrets, keys, roles, groups); skip: leave it out",
        })
        .option('keycloak-heap', {
          type: 'string',
          default: '512m',
          describe:
            'Heap (-Xmx) of the export server started beside Keycloak in its pod (the pod must have room for both)',
        })
        .option('keycloak-timeout', {
          type: 'number',
          default: 1800,
          describe: 'Seconds the realm export may take',
        })
        .option('allow-unfinished-bundle-jobs', {
          type: 'boolean',
          default: false,
          describe:
            "Back up even while a bundle install or uninstall is unfinished in the component manager (a warning instead of a refusal; that bundle's reinstall may then get 409)",
        })
        .check((a) => {
          if (!/^[1-9][0-9]*[mMgG]$/.test(String(a['keycloak-heap']))) {
            throw new UserError('--keycloak-heap must look like 512m or 1g');
          }
          if (!Number.isInteger(a['keycloak-timeout']) || (a['keycloak-timeout'] as number) < 10) {
            throw new UserError(
              '--keycloak-timeout must be a whole number of seconds, at least 10',
            );
          }
          const streams = a['file-streams'] as number;
          if (!Number.isInteger(streams) || streams < 1 || streams > 64) {
            throw new UserError('--file-streams must be a whole number from 1 to 64');
          }
          if (!Number.isInteger(a.parallel) || (a.parallel as number) < 1) {
            throw new UserError('--parallel must be a whole number of at least 1');
          }
          return true;
        })
        .option('file', {
          alias: 'f',
          type: 'string',
          describe:
            'Archive to write: a file, a directory, s3://BUCKET/KEY or s3://BUCKET/PREFIX/ (default name: <app>-<namespace>-<time>.tar.age)',
        })
        .options(s3Options)
        .example(
          '$0 backup -n entando -r age1...',
          'back up the only app of namespace entando to an age recipient',
        )
        .example(
          'ENTANDO_BACKUP_PASSPHRASE=... $0 backup quickstart -f qs.tar.age',
          'with a passphrase from the environment',
        )
        .example(
          '$0 backup quickstart -r age1... -f s3://backups/entando/',
          'streamed into S3 (credentials from the AWS SDK chain: env, AWS_PROFILE, ~/.aws)',
        ) as never,
    handler: async (args) => {
      // Loaded when used: `version` and `--help` do without client-node (lower start-up RSS).
      const [{ runBackup }, { resolveKube }] = await Promise.all([
        import('../../backup/backup.js'),
        import('../../kube/kubeconfig.js'),
      ]);
      const started = Date.now();
      const output = ctx.output(args.output, args.quiet, args.verbose, args.progress);
      const kube = resolveKube(args);
      const keys = await encryptionKeys(
        {
          recipient: args.recipient,
          recipientsFile: args['recipients-file'],
          passphraseFile: args['passphrase-file'],
          noEncrypt: !args.encrypt,
        },
        ctx.keySources(),
      );
      const outcome = await runBackup({
        kube,
        appName: args.app,
        file: args.file === undefined ? undefined : ctx.location(args.file, args, output),
        keys,
        output,
        signal: ctx.io.signal,
        // Only once nothing refuses the backup: a refusal stays one line.
        beforeWrite: keys
          ? undefined
          : () =>
              output.warn(
                'writing an UNENCRYPTED archive (--no-encrypt): it holds secrets and password hashes',
              ),
        options: {
          quiesce: args.quiesce,
          parallel: args.parallel,
          fileStreams: args['file-streams'],
          includeIndices: args['include-indices'],
          dbClientImage: args['db-client-image'],
          volumePodImage: args['volume-pod-image'],
          keycloak: args.keycloak,
          keycloakHeap: args['keycloak-heap'],
          keycloakTimeoutSeconds: args['keycloak-timeout'],
          allowUnfinishedBundleJobs: args['allow-unfinished-bundle-jobs'],
        },
      });
      for (const w of outcome.results.warnings) output.warn(formatFinding(w));
      const counts = outcome.manifest.components.resources?.counts ?? {};
      const bytes = outcome.manifest.entries.reduce((n, e) => n + e.size, 0);
      const summary = outcome.manifest.components.databases;
      const databases = (summary?.datasources ?? []).map((d) => ({
        owner: d.owner.name,
        qualifier: d.qualifier,
        dbms: d.dbms,
        schema: d.schema,
        bytes: d.bytes,
      }));
      const { keycloak, bundles } = outcome.manifest.components;
      const figures = runFigures(started, bytes, outcome.results.warnings.length);
      const next = nextRestoreCommand(outcome.file, keyKindOf(keys?.description), kube.namespace);
      output.result(
        [
          `backed up ${outcome.manifest.source.app} from ${kube.contextName}/${kube.namespace} to ${outcome.file}`,
          `  encryption: ${outcome.encryption}`,
          ...Object.entries(counts).map(([kind, n]) => `  ${kind}: ${n}`),
          ...databases.map(
            (d) => `  database ${d.owner} ${d.qualifier}: ${d.dbms} ${d.schema}, ${d.bytes} bytes`,
          ),
          ...(keycloak ? [`  keycloak: ${describeKeycloak(keycloak)}`] : []),
          ...(bundles ? describeBundles(bundles).map((l) => `  bundles: ${l}`) : []),
          `  entries: ${outcome.manifest.entries.length}, ${bytes} bytes`,
          ...(outcome.results.warnings.length
            ? [`  warnings: ${outcome.results.warnings.length}`]
            : []),
          `  ${figuresLine(figures)}`,
          `next: ${next}`,
        ],
        {
          file: outcome.file,
          encryption: outcome.encryption,
          source: outcome.manifest.source,
          counts,
          databases,
          keycloak,
          bundles,
          entries: outcome.manifest.entries.length,
          bytes,
          warnings: outcome.results.warnings,
          seconds: figures.seconds,
          bytesPerSecond: Math.round(figures.bytesPerSecond),
          next,
        },
      );
    },
  };
}
