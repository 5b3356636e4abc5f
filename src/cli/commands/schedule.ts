import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { parseRecipient } from '../../archive/age/index.js';
import { RECIPIENTS_ENV } from '../../archive/encryption.js';
import { UserError, errorMessage } from '../../errors.js';
import type { KubeObject } from '../../kube/object.js';
import { parseCron } from '../../schedule/cron.js';
import {
  MAX_NAME,
  S3_ENV,
  objectName,
  scheduleObjects,
  type ScheduleSpec,
} from '../../schedule/objects.js';
import type { RunRow, ScheduleRow } from '../../schedule/manage.js';
import { formatTable as table } from '../../report/table.js';
import { TOOL } from '../../version.js';
import { defineCommand } from '../command.js';
import type { CliContext } from '../context.js';
import { encryptOptions, kubeOptions, s3Options, type KubeArgs } from '../options.js';
import { checkRetention, retentionOptions, type RetentionArgs } from '../retention-options.js';
import type { GlobalArgs } from '../options.js';

/** The image the CronJob runs: docker/Dockerfile, published beside the release. */
export const DEFAULT_IMAGE = `ghcr.io/entando-tools/kubectl-entando:${TOOL.version}`;

const namePositional = {
  name: {
    type: 'string',
    demandOption: true,
    describe: `Schedule name (a DNS label of at most ${MAX_NAME} characters)`,
  },
} as const;

async function client(args: KubeArgs, ctx: CliContext) {
  const [{ resolveKube }, { KubeClient }] = await Promise.all([
    import('../../kube/kubeconfig.js'),
    import('../../kube/client.js'),
  ]);
  const kube = resolveKube(args, ctx.io.env);
  return { kube: new KubeClient(kube.config), ns: kube.namespace, resolved: kube };
}

const manage = () => import('../../schedule/manage.js');

function checkName(name: string): void {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > MAX_NAME) {
    throw new UserError(
      `schedule name "${name}": lowercase letters, digits and -, at most ${MAX_NAME} characters (it names ${objectName('NAME')} objects)`,
    );
  }
}

const createOptions = {
  ...kubeOptions,
  cron: {
    type: 'string',
    demandOption: true,
    describe: 'When, in UTC: 5 cron fields ("0 2 * * *") or @daily, @weekly...',
  },
  to: {
    type: 'string',
    demandOption: true,
    describe: 'Where the archives go: s3://BUCKET/PREFIX/ (one prefix per schedule)',
  },
  app: {
    type: 'string',
    describe:
      'EntandoApp to back up (default: the only one in the namespace; needed with --dry-run)',
  },
  recipient: encryptOptions.recipient,
  'recipients-file': encryptOptions['recipients-file'],
  // Declared to refuse them in one line: a schedule never holds what opens an archive.
  identity: { alias: 'i', type: 'string', array: true, hidden: true },
  'passphrase-file': { type: 'string', hidden: true },
  ...retentionOptions,
  image: {
    type: 'string',
    default: DEFAULT_IMAGE,
    describe: "Image of the job (docker/Dockerfile: this release's linux binary)",
  },
  's3-secret': {
    type: 'string',
    describe:
      'An existing Secret of the namespace holding AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY... (default: copy them from this environment into a new Secret)',
  },
  quiesce: {
    type: 'boolean',
    default: false,
    describe: 'Back up with --quiesce (scales the app to 0 during each backup)',
  },
  keycloak: {
    choices: ['realm', 'skip'] as const,
    default: 'realm' as const,
    describe: "The backups' --keycloak",
  },
  'job-env': {
    type: 'string',
    array: true,
    describe: "KEY=VALUE added to the job's environment (e.g. HTTPS_PROXY); repeatable",
  },
  deadline: {
    type: 'number',
    default: 21600,
    describe: 'Seconds a run may take before it is stopped (activeDeadlineSeconds)',
  },
  'starting-deadline': {
    type: 'number',
    default: 3600,
    describe: 'Seconds after its time a missed run may still start (startingDeadlineSeconds)',
  },
  history: {
    type: 'number',
    default: 3,
    describe: 'Finished runs kept, succeeded and failed each (the history limits)',
  },
  'dry-run': {
    type: 'boolean',
    default: false,
    describe: 'Print the objects (YAML; JSON with -o json); contact no cluster, change nothing',
  },
  ...s3Options,
} as const;

const RETENTION_FLAGS = [
  'keep-last',
  'keep-hourly',
  'keep-daily',
  'keep-weekly',
  'keep-monthly',
  'keep-yearly',
  'keep-within',
] as const;

/** prune's flags as the job passes them on (counts of -1 as `unlimited`). */
function retentionArgv(args: RetentionArgs): string[] {
  return RETENTION_FLAGS.flatMap((f) => {
    const v = args[f];
    if (v === undefined) return [];
    return [`--${f}`, v === -1 ? 'unlimited' : String(v)];
  });
}

/** Public keys only: -r, -R files, ENTANDO_BACKUP_RECIPIENTS; each checked. */
function recipientsOf(
  args: { recipient?: string[]; 'recipients-file'?: string[] },
  env: NodeJS.ProcessEnv,
): string[] {
  const texts = [
    ...(args.recipient ?? []),
    ...(args['recipients-file'] ?? []).flatMap((f) => {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (err) {
        throw new UserError(`cannot read --recipients-file ${f}: ${errorMessage(err)}`);
      }
      return text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
    }),
    ...(env[RECIPIENTS_ENV] ?? '').split(/[\s,]+/).filter(Boolean),
  ].map((t) => t.trim());
  for (const t of texts) {
    try {
      parseRecipient(t);
    } catch (err) {
      throw new UserError(`recipient "${t}": ${errorMessage(err)} (an age1... public key)`);
    }
  }
  if (texts.length === 0) {
    throw new UserError(
      `a schedule encrypts to public keys only: pass -r age1... or -R FILE (kubectl entando keygen makes a pair; the identity stays with you)`,
    );
  }
  return [...new Set(texts)];
}

function jobEnv(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const at = kv.indexOf('=');
    if (at < 1) throw new UserError(`--job-env ${kv}: KEY=VALUE expected`);
    out[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return out;
}

/** Secret values are never printed: a dry run shows the keys only. */
function redacted(obj: KubeObject): KubeObject {
  if (obj.kind !== 'Secret') return obj;
  const data = (obj.data ?? {}) as Record<string, string>;
  return { ...obj, data: Object.fromEntries(Object.keys(data).map((k) => [k, '<redacted>'])) };
}

const createCommand = defineCommand({
  command: 'create <name>',
  describe: 'Back up an app on a schedule: a CronJob in its namespace, with its own narrow Role',
  positionals: namePositional,
  options: createOptions,
  examples: [
    [
      '$0 schedule create nightly -n entando --app quickstart --cron "0 2 * * *" --to s3://backups/qs/ -r age1... --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
      'a nightly backup into S3, pruned with these rules',
    ],
    ['$0 schedule create nightly ... --dry-run', 'print the objects; change nothing'],
  ],
  validate: (args) => {
    if (args.identity !== undefined || args['passphrase-file'] !== undefined) {
      throw new UserError(
        'a schedule never holds a private key or passphrase (the cluster could then read every archive): encrypt to recipients with -r age1... / -R FILE and keep the identity outside the cluster',
      );
    }
    checkName(args.name);
    parseCron(args.cron);
    if (!/^s3:\/\/[^/]+\/(.+\/)?$/.test(args.to)) {
      throw new UserError(
        `--to ${args.to}: a schedule writes to an S3 prefix, s3://BUCKET/PREFIX/ (ending in /)`,
      );
    }
    if (RETENTION_FLAGS.some((f) => args[f] !== undefined)) checkRetention(args);
    for (const [flag, n, min] of [
      ['--deadline', args.deadline, 60],
      ['--starting-deadline', args['starting-deadline'], 10],
      ['--history', args.history, 1],
    ] as const) {
      if (!Number.isInteger(n) || n < min) {
        throw new UserError(`${flag} must be a whole number of at least ${min}`);
      }
    }
    if (args['dry-run'] && !args.app) {
      throw new UserError('--dry-run reads no cluster: name the app with --app');
    }
  },
  run: async (args, ctx) => {
    const recipients = recipientsOf(args, ctx.io.env);
    const env = ctx.io.env;
    const copied = Object.fromEntries(
      S3_ENV.filter((k) => env[k]).map((k) => [k, env[k]!] as const),
    );
    if (!args['s3-secret'] && !copied.AWS_ACCESS_KEY_ID) {
      throw new UserError(
        'no S3 credentials to give the job: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (copied into a Secret), or name an existing Secret with --s3-secret',
      );
    }
    const [{ backupAccessNeeds }, { DEFAULT_BACKUP_OPTIONS }, { ENTANDO_API }] = await Promise.all([
      import('../../backup/backup.js'),
      import('../../components/component.js'),
      import('../../entando/kinds.js'),
    ]);
    const options = { ...DEFAULT_BACKUP_OPTIONS, quiesce: args.quiesce, keycloak: args.keycloak };
    const spec = (app: KubeObject, namespace: string): ScheduleSpec => ({
      name: args.name,
      namespace,
      app: app.metadata.name,
      cron: args.cron,
      to: args.to,
      recipients,
      image: args.image,
      access: backupAccessNeeds({ namespace, app, options }),
      s3: args['s3-secret'] ? { secret: args['s3-secret'] } : { copied },
      s3Endpoint: args['s3-endpoint'],
      s3PathStyle: args['s3-path-style'],
      retention: retentionArgv(args),
      backupFlags: [...(args.quiesce ? ['--quiesce'] : []), '--keycloak', args.keycloak],
      env: jobEnv(args['job-env']),
      deadlineSeconds: args.deadline,
      startingDeadlineSeconds: args['starting-deadline'],
      historyLimit: args.history,
    });
    if (args['dry-run']) {
      // The kubeconfig only says which namespace; the app is not read, so Roles for the
      // namespaces it references elsewhere (bundle repositories, Keycloak) come with create.
      const { resolveKube } = await import('../../kube/kubeconfig.js');
      const namespace = resolveKube(args, ctx.io.env).namespace;
      const app = { apiVersion: ENTANDO_API, kind: 'EntandoApp', metadata: { name: args.app! } };
      const objects = scheduleObjects(spec(app, namespace));
      // js-yaml loaded only here: every other command starts without it.
      const { dump } = await import('js-yaml');
      const yaml = objects
        .map(redacted)
        .map((o) => `---\n${dump(o, { noRefs: true, lineWidth: -1 }).trimEnd()}`);
      return { dryRun: true, objects, yaml };
    }
    const { kube, ns } = await client(args, ctx);
    const { findApp } = await import('../../components/resources/find-app.js');
    const app = await findApp(kube, ns, args.app);
    const { createSchedule } = await manage();
    const objects = await createSchedule(kube, args.name, ns, scheduleObjects(spec(app, ns)));
    return { dryRun: false, objects, yaml: [] };
  },
  render: ({ dryRun, objects, yaml }, args) => {
    if (dryRun) {
      return {
        text: ['# dry run: nothing was sent to a cluster. Secret values are not shown.', ...yaml],
        json: { apiVersion: 'v1', kind: 'List', items: objects.map(redacted) },
      };
    }
    return {
      text: [
        ...objects.map((o) => `created ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
        `schedule ${args.name}: ${args.cron} (UTC) to ${args.to}; run it now with kubectl entando schedule run ${args.name}`,
      ],
      json: {
        schedule: args.name,
        created: objects.map((o) => ({
          kind: o.kind,
          namespace: o.metadata.namespace,
          name: o.metadata.name,
        })),
      },
    };
  },
});

const listCommand = defineCommand({
  command: 'list',
  describe: 'The schedules of the namespace, with their next run',
  options: { ...kubeOptions },
  run: async (args, ctx) => {
    const { kube, ns } = await client(args, ctx);
    return (await manage()).listSchedules(kube, ns, new Date());
  },
  render: (rows: ScheduleRow[]) => ({
    text:
      rows.length === 0
        ? 'no schedules'
        : table(
            ['NAME', 'CRON (UTC)', 'APP', 'TO', 'LAST RUN', 'NEXT RUN'],
            rows.map((r) => [
              r.name,
              r.cron,
              r.app,
              r.to,
              r.lastScheduled ?? '-',
              r.suspended ? 'suspended' : (r.nextRun ?? '-'),
            ]),
          ),
    json: rows,
  }),
});

const describeCommand = defineCommand({
  command: 'describe <name>',
  describe: 'A schedule: its settings, its last runs with their outcome and archive, the next run',
  positionals: namePositional,
  options: { ...kubeOptions },
  run: async (args, ctx) => {
    const { kube, ns } = await client(args, ctx);
    return (await manage()).describeSchedule(kube, ns, args.name, new Date());
  },
  render: ({ schedule: s, runs }: { schedule: ScheduleRow; runs: RunRow[] }) => ({
    text: [
      `schedule:  ${s.name}`,
      `app:       ${s.app}`,
      `cron:      ${s.cron} (UTC)`,
      `to:        ${s.to}`,
      `retention: ${s.retention || 'none (the job does not prune)'}`,
      `next run:  ${s.suspended ? 'suspended' : (s.nextRun ?? '-')}`,
      ...(runs.length === 0
        ? ['runs:      none yet']
        : table(
            ['JOB', 'TRIGGER', 'STARTED', 'OUTCOME', 'ARCHIVE'],
            runs.map((r) => [
              r.job,
              r.trigger,
              r.started ?? '-',
              r.reason ? `${r.outcome} (${r.reason})` : r.outcome,
              r.archive ?? '-',
            ]),
          )),
    ],
    json: { ...s, runs },
  }),
});

const deleteCommand = defineCommand({
  command: 'delete <name>',
  describe: 'Delete a schedule and everything it made in the cluster (archives stay)',
  positionals: namePositional,
  options: { ...kubeOptions },
  run: async (args, ctx) => {
    const { kube, ns } = await client(args, ctx);
    return (await manage()).deleteSchedule(kube, ns, args.name);
  },
  render: (deleted: string[], args) => ({
    text: [...deleted.map((d) => `deleted ${d}`), `schedule ${args.name} deleted`],
    json: { schedule: args.name, deleted },
  }),
});

const runCommand = defineCommand({
  command: 'run <name>',
  describe: 'Start a run of the schedule now (a Job from its CronJob)',
  positionals: namePositional,
  options: { ...kubeOptions },
  run: async (args, ctx) => {
    const { kube, ns } = await client(args, ctx);
    return (await manage()).runNow(kube, ns, args.name, new Date());
  },
  render: (job: string, args) => ({
    text: `started job ${job}; follow it with kubectl entando schedule describe ${args.name}`,
    json: { schedule: args.name, job },
  }),
});

const suspendCommand = (suspend: boolean) =>
  defineCommand({
    command: `${suspend ? 'suspend' : 'resume'} <name>`,
    describe: suspend ? 'Stop starting runs (a running one finishes)' : 'Start runs again',
    positionals: namePositional,
    options: { ...kubeOptions },
    run: async (args, ctx) => {
      const { kube, ns } = await client(args, ctx);
      await (await manage()).setSuspended(kube, ns, args.name, suspend);
      return suspend;
    },
    render: (s: boolean, args) => ({
      text: `schedule ${args.name} ${s ? 'suspended' : 'resumed'}`,
      json: { schedule: args.name, suspended: s },
    }),
  });

/** `schedule <subcommand>`: the subcommands above, bound to this run's context. */
export function scheduleCommand(ctx: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  const subcommands = [
    createCommand,
    listCommand,
    describeCommand,
    runCommand,
    suspendCommand(true),
    suspendCommand(false),
    deleteCommand,
  ];
  return {
    command: 'schedule <command>',
    describe:
      'Scheduled backups in the cluster: create, list, describe, run, suspend, resume, delete',
    builder: (y) => {
      for (const c of subcommands)
        y.command(c(ctx) as unknown as CommandModule<GlobalArgs, GlobalArgs>);
      return y.demandCommand(
        1,
        'name a schedule command: create, list, describe, run, suspend, resume or delete',
      );
    },
    handler: () => undefined,
  };
}
