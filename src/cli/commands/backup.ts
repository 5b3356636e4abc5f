import type { InferredOptionTypes } from 'yargs';
import type { BackupOptions } from '../../components/component.js';
import { DEFAULT_FILE_STREAMS } from '../../components/files/split.js';
import { UserError } from '../../errors.js';
import { formatFinding } from '../../report/results.js';
import { keyKindOf, nextRestoreCommand, runFigures } from '../../report/summary.js';
import { defineCommand } from '../command.js';
import { checkParallel, encryptOptions, kubeOptions, s3Options } from '../options.js';
import { renderBackup } from '../render/backup.js';

const options = {
  ...kubeOptions,
  ...encryptOptions,
  quiesce: {
    type: 'boolean',
    default: false,
    describe:
      'Scale the app and its plugins to 0 for a point-in-time copy (always scaled back, on error and Ctrl-C too); needed for embedded databases',
  },
  parallel: {
    type: 'number',
    default: 4,
    describe: 'Copy at most this many streams (schemas, file trees) at once',
  },
  'file-streams': {
    type: 'number',
    default: DEFAULT_FILE_STREAMS,
    describe:
      'Read a large file tree as up to this many tar streams at once, split by size (32 MiB at least each; within --parallel; needs GNU tar and find in the pod, else one stream)',
  },
  'include-indices': {
    type: 'boolean',
    default: false,
    describe: 'Also copy /entando-data/entando-indices (rebuildable search index)',
  },
  'db-client-image': {
    type: 'string',
    describe:
      'Image of the short-lived pod that dumps an external database (default: postgres:16-alpine / mysql:8.0)',
  },
  'volume-pod-image': {
    type: 'string',
    describe:
      'Image (with sh and tar) of the short-lived pod that reads the volume of a server scaled to 0 (default: busybox:1.36)',
  },
  keycloak: {
    choices: ['realm', 'skip'] as const,
    default: 'realm' as const,
    describe:
      "realm: export the app's Keycloak realm with full fidelity (users with password hashes and OTP, client secrets, keys, roles, groups); skip: leave it out",
  },
  'keycloak-heap': {
    type: 'string',
    default: '512m',
    describe:
      'Heap (-Xmx) of the export server started beside Keycloak in its pod (the pod must have room for both)',
  },
  'keycloak-timeout': {
    type: 'number',
    default: 1800,
    describe: 'Seconds the realm export may take',
  },
  'primary-tenant-only': {
    type: 'boolean',
    default: false,
    describe:
      "Back up a multi-tenant app (ENTANDO_TENANTS, CDS_ENABLED) although not all of its secondary tenants can be carried: their realms on another Keycloak than the app's (or without a kcRealm) and the CDS files of a tenant whose CDS cannot be found are left out with a warning instead of a refusal (their database schemas, realms in the app's Keycloak and every CDS volume found are carried all the same)",
  },
  'allow-unfinished-bundle-jobs': {
    type: 'boolean',
    default: false,
    describe:
      "Back up even while a bundle install or uninstall is unfinished in the component manager (a warning instead of a refusal; that bundle's reinstall may then get 409)",
  },
  file: {
    alias: 'f',
    type: 'string',
    describe:
      'Archive to write: a file, a directory, s3://BUCKET/KEY or s3://BUCKET/PREFIX/ (default name: <app>-<namespace>-<time>.tar.age)',
  },
  ...s3Options,
} as const;

export const backupCommand = defineCommand({
  command: 'backup [app]',
  describe: 'Back up an Entando app into one encrypted archive',
  positionals: {
    app: { type: 'string', describe: 'EntandoApp name (default: the only one in the namespace)' },
  },
  options,
  examples: [
    [
      '$0 backup -n entando -r age1...',
      'back up the only app of namespace entando to an age recipient',
    ],
    [
      'ENTANDO_BACKUP_PASSPHRASE=... $0 backup quickstart -f qs.tar.age',
      'with a passphrase from the environment',
    ],
    [
      '$0 backup quickstart -r age1... -f s3://backups/entando/',
      'streamed into S3 (credentials from the AWS SDK chain: env, AWS_PROFILE, ~/.aws)',
    ],
  ],
  validate: (args) => {
    if (!/^[1-9][0-9]*[mMgG]$/.test(args['keycloak-heap'])) {
      throw new UserError('--keycloak-heap must look like 512m or 1g');
    }
    if (!Number.isInteger(args['keycloak-timeout']) || args['keycloak-timeout'] < 10) {
      throw new UserError('--keycloak-timeout must be a whole number of seconds, at least 10');
    }
    const streams = args['file-streams'];
    if (!Number.isInteger(streams) || streams < 1 || streams > 64) {
      throw new UserError('--file-streams must be a whole number from 1 to 64');
    }
    checkParallel(args.parallel);
  },
  run: async (args, ctx, output) => {
    // Loaded when used: `version` and `--help` do without client-node (lower start-up RSS).
    const [{ runBackup }, { resolveKube }] = await Promise.all([
      import('../../backup/backup.js'),
      import('../../kube/kubeconfig.js'),
    ]);
    const started = Date.now();
    const kube = resolveKube(args);
    const keys = await ctx.encryptionKeys(args);
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
      options: backupOptions(args),
    });
    for (const w of outcome.results.warnings) output.warn(formatFinding(w));
    const bytes = outcome.manifest.entries.reduce((n, e) => n + e.size, 0);
    return {
      outcome,
      from: `${kube.contextName}/${kube.namespace}`,
      figures: runFigures(started, bytes, outcome.results.warnings.length),
      next: nextRestoreCommand(outcome.file, keyKindOf(keys?.description), kube.namespace),
    };
  },
  render: renderBackup,
});

/** The flags that tune the copy, as runBackup takes them. */
function backupOptions(args: InferredOptionTypes<typeof options>): BackupOptions {
  return {
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
    primaryTenantOnly: args['primary-tenant-only'],
  };
}
