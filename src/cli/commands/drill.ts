import fs from 'node:fs';
import { UserError, errorMessage } from '../../errors.js';
import { textReport, writeReport, type DrillReport } from '../../drill/report.js';
import { defineCommand } from '../command.js';
import { checkParallel, decryptOptions, kubeOptions, s3Options } from '../options.js';
import { restoreOptions } from './restore.js';

/** The drill's password of `--login-user`, read from a file or the environment, never a flag. */
export const DRILL_PASSWORD_ENV = 'ENTANDO_DRILL_PASSWORD';

const options = {
  ...kubeOptions,
  ...decryptOptions,
  ...s3Options,
  'to-context': restoreOptions['to-context'],
  'ingress-host': {
    type: 'string',
    describe:
      "Throw-away host to serve the restored app on (default: the app's host with -drill-<id> added to its first label)",
  },
  app: {
    type: 'string',
    describe: 'With a directory or S3 prefix: the app whose newest archive is drilled',
  },
  'login-user': {
    type: 'string',
    describe: `A user of the app's realm who must be able to log in (password from --login-password-file or ${DRILL_PASSWORD_ENV})`,
  },
  'login-password-file': {
    type: 'string',
    describe: "File holding --login-user's password (first line)",
  },
  'report-dir': {
    type: 'string',
    default: '.',
    describe: 'Where drill-<app>-<time>.json and .md are written',
  },
  keep: {
    type: 'boolean',
    default: false,
    describe: 'Leave the restored app in place for a look (the report names what to delete)',
  },
  parallel: restoreOptions.parallel,
  'wait-timeout': restoreOptions['wait-timeout'],
  'db-client-image': restoreOptions['db-client-image'],
  'volume-pod-image': restoreOptions['volume-pod-image'],
} as const;

export const drillCommand = defineCommand({
  command: 'drill <source>',
  describe:
    'Prove an archive restores: into throw-away namespaces, check the app as an operator would, delete it all, write a report',
  positionals: {
    source: {
      type: 'string',
      demandOption: true,
      describe:
        'An archive (file or s3://BUCKET/KEY), or a directory or s3://BUCKET/PREFIX/ (its newest archive)',
    },
  },
  options,
  examples: [
    [
      '$0 drill s3://backups/qs/ -i key.txt --to-context staging --login-user drill-user',
      'the newest archive, restored into staging, checked and deleted; exit 0 when every check passed',
    ],
  ],
  validate: (args) => {
    checkParallel(args.parallel);
    if (args['login-password-file'] && !args['login-user']) {
      throw new UserError('--login-password-file goes with --login-user');
    }
  },
  run: async (args, ctx, output) => {
    const login = loginOf(args['login-user'], args['login-password-file'], ctx.io.env);
    // Loaded when used: `version` and `--help` do without client-node.
    const { runDrill } = await import('../../drill/run.js');
    const report = await runDrill(
      { source: args.source, app: args.app, login, keep: args.keep },
      {
        ...args,
        archive: args.source,
        // yargs' camel-case twins, typed in the restore's args; the drill sets both forms.
        'to-namespace': undefined,
        toNamespace: undefined,
        'namespace-map': undefined,
        namespaceMap: undefined,
        'tenant-host': undefined,
        tenantHost: undefined,
        'dry-run': false,
        dryRun: false,
        keycloakUrl: undefined,
        existing: 'fail',
        yes: true,
        verify: true,
        keycloak: undefined,
        'keycloak-url': undefined,
        bundles: 'reinstall',
      },
      ctx,
      output,
    );
    report.files = writeReport(report, args['report-dir']);
    return report;
  },
  render: (report: DrillReport) => ({
    text: textReport(report),
    json: report,
    exitCode: report.passed ? undefined : 1,
  }),
});

function loginOf(
  user: string | undefined,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): { username: string; password: string } | undefined {
  if (!user) return undefined;
  let password = env[DRILL_PASSWORD_ENV];
  if (file) {
    try {
      password = fs.readFileSync(file, 'utf8').split('\n')[0];
    } catch (err) {
      throw new UserError(`cannot read --login-password-file ${file}: ${errorMessage(err)}`);
    }
  }
  if (!password) {
    throw new UserError(
      `--login-user ${user} needs a password: --login-password-file FILE or ${DRILL_PASSWORD_ENV}`,
    );
  }
  return { username: user, password };
}
