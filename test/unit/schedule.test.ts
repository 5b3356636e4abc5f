import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { generateIdentity } from '../../src/archive/age/index.js';
import { backupAccessNeeds } from '../../src/backup/backup.js';
import { DEFAULT_BACKUP_OPTIONS } from '../../src/components/component.js';
import { describeNeed, type AccessNeed } from '../../src/kube/access.js';
import type { KubeObject } from '../../src/kube/object.js';
import {
  archiveFromLog,
  errorFromLog,
  failedContainer,
  jobOutcome,
  scheduleRow,
} from '../../src/schedule/manage.js';
import {
  SCHEDULE_LABEL,
  scheduleObjects,
  type RoleRule,
  type ScheduleSpec,
} from '../../src/schedule/objects.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const app: KubeObject = {
  apiVersion: 'entando.org/v1',
  kind: 'EntandoApp',
  metadata: { name: 'qs', namespace: 'entando' },
  spec: { componentRepositoryNamespaces: ['bundles'], keycloakToUse: { namespace: 'sso' } },
};
const recipient = generateIdentity().recipient;

function spec(over: Partial<ScheduleSpec> = {}): ScheduleSpec {
  return {
    name: 'nightly',
    namespace: 'entando',
    app: 'qs',
    cron: '0 2 * * *',
    to: 's3://backups/qs/',
    recipients: [recipient],
    image: 'ghcr.io/entando-tools/kubectl-entando:0.1.0',
    access: backupAccessNeeds({ namespace: 'entando', app, options: DEFAULT_BACKUP_OPTIONS }),
    s3: { copied: { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'shh' } },
    retention: ['--keep-daily', '7', '--keep-weekly', '4'],
    backupFlags: ['--keycloak', 'realm'],
    env: {},
    deadlineSeconds: 21600,
    startingDeadlineSeconds: 3600,
    historyLimit: 3,
    ...over,
  };
}

const key = (n: AccessNeed) => `${n.namespace} ${describeNeed(n)}`;

/** The Roles' rules back as needs: `namespace verb resource[/sub][.group]`. */
function granted(objects: KubeObject[]): string[] {
  return objects
    .filter((o) => o.kind === 'Role')
    .flatMap((role) =>
      (role.rules as RoleRule[]).flatMap((r) =>
        r.verbs.map((verb) => {
          const [resource, subresource] = r.resources[0].split('/');
          return key({
            verb,
            group: r.apiGroups[0],
            resource,
            subresource,
            namespace: role.metadata.namespace,
          });
        }),
      ),
    );
}

const cronJob = (objects: KubeObject[]) => objects.find((o) => o.kind === 'CronJob')!;
const podSpec = (cron: KubeObject) =>
  (cron.spec as { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } })
    .jobTemplate.spec.template.spec;

describe('schedule objects', () => {
  it("the Roles grant exactly what the backup's preflight checks, per namespace", () => {
    const s = spec();
    const objects = scheduleObjects(s);
    const want = [...new Set(s.access.map(key))].sort();
    expect([...new Set(granted(objects))].sort()).to.deep.equal(want);
    // The app's namespace, its bundle repository and its Keycloak's: a Role and a binding each.
    const roles = objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.namespace);
    expect(roles).to.deep.equal(['bundles', 'entando', 'sso']);
    for (const b of objects.filter((o) => o.kind === 'RoleBinding')) {
      expect(b.subjects).to.deep.equal([
        { kind: 'ServiceAccount', name: 'entando-backup-nightly', namespace: 'entando' },
      ]);
    }
    expect(want.some((n) => n.startsWith('entando create pods/exec'))).to.equal(true);
    expect(want.some((n) => n.includes('leases'))).to.equal(true);
  });

  it('--quiesce widens the Role the way the preflight does (scale, volume pods)', () => {
    const quiesce = backupAccessNeeds({
      namespace: 'entando',
      app,
      options: { ...DEFAULT_BACKUP_OPTIONS, quiesce: true },
    });
    const g = granted(scheduleObjects(spec({ access: quiesce })));
    expect(g).to.include('entando patch deployments');
    expect(g).to.include('entando create pods');
    expect(granted(scheduleObjects(spec()))).not.to.include('entando patch deployments');
  });

  it('every object is labelled with the schedule, and lives in the namespace or a Role one', () => {
    for (const o of scheduleObjects(spec())) {
      expect(o.metadata.labels?.[SCHEDULE_LABEL], o.kind).to.equal('nightly');
      expect(o.metadata.name).to.equal('entando-backup-nightly');
    }
  });

  it('no private key anywhere: recipients in a ConfigMap, S3 credentials in the Secret', () => {
    const objects = scheduleObjects(spec());
    const text = JSON.stringify(objects);
    expect(text).not.to.match(/AGE-SECRET-KEY/i);
    expect(text).not.to.match(/--identity|"-i"|passphrase/);
    const cm = objects.find((o) => o.kind === 'ConfigMap')!;
    expect(cm.data).to.deep.equal({ recipients: `${recipient}\n` });
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(Object.keys(secret.data as object)).to.deep.equal([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
    ]);
    // --s3-secret: no Secret of ours, the job reads the named one.
    const ref = scheduleObjects(spec({ s3: { secret: 'minio-creds' } }));
    expect(ref.map((o) => o.kind)).not.to.include('Secret');
    expect(JSON.stringify(podSpec(cronJob(ref)))).to.include('"secretRef":{"name":"minio-creds"}');
  });

  it('the CronJob: Forbid, UTC, limits, deadline, no retries, non-root, backup then prune', () => {
    const cron = cronJob(scheduleObjects(spec()));
    expect(cron.spec).to.deep.include({
      schedule: '0 2 * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      suspend: false,
    });
    const job = (cron.spec as { jobTemplate: { spec: Record<string, unknown> } }).jobTemplate.spec;
    expect(job).to.include({ backoffLimit: 0, activeDeadlineSeconds: 21600 });
    const pod = podSpec(cron) as {
      serviceAccountName: string;
      automountServiceAccountToken: boolean;
      restartPolicy: string;
      securityContext: { runAsNonRoot: boolean };
      initContainers: { name: string; args: string[]; command: string[] }[];
      containers: { name: string; args: string[] }[];
    };
    expect(pod).to.include({
      serviceAccountName: 'entando-backup-nightly',
      automountServiceAccountToken: true,
      restartPolicy: 'Never',
    });
    expect(pod.securityContext.runAsNonRoot).to.equal(true);
    const [backup] = pod.initContainers;
    expect(backup.command).to.deep.equal(['kubectl-entando']);
    expect(backup.args.join(' ')).to.equal(
      'backup qs -n entando -f s3://backups/qs/ -R /etc/kubectl-entando/recipients --keycloak realm --progress none -o json',
    );
    expect(pod.containers.map((c) => c.name)).to.deep.equal(['prune']);
    expect(pod.containers[0].args.join(' ')).to.equal(
      'prune s3://backups/qs/ --keep-daily 7 --keep-weekly 4 --app qs --by-name entando/qs -o json',
    );
  });

  it('without a retention the backup is the only container (nothing is pruned)', () => {
    const pod = podSpec(cronJob(scheduleObjects(spec({ retention: [] })))) as {
      initContainers?: unknown;
      containers: { name: string }[];
    };
    expect(pod.initContainers).to.equal(undefined);
    expect(pod.containers.map((c) => c.name)).to.deep.equal(['backup']);
  });
});

describe('schedule describe: outcome, archive, next run', () => {
  it('a Job outcome from its status', () => {
    const job = (status: unknown): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      status,
    });
    expect(jobOutcome(job({ conditions: [{ type: 'Complete', status: 'True' }] }))).to.include({
      outcome: 'succeeded',
    });
    expect(
      jobOutcome(
        job({
          conditions: [
            { type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'too long' },
          ],
        }),
      ),
    ).to.deep.equal({ outcome: 'failed', reason: 'DeadlineExceeded: too long' });
    expect(jobOutcome(job({ active: 1 }))).to.deep.equal({ outcome: 'running' });
    // client-node hands times as Dates: ISO text, as a raw list has them.
    const done = new Date('2026-12-07T02:00:05Z');
    expect(
      jobOutcome(job({ conditions: [{ type: 'Complete', status: 'True' }], completionTime: done })),
    ).to.deep.equal({ outcome: 'succeeded', finished: '2026-12-07T02:00:05.000Z' });
  });

  it("the archive from the backup's last JSON line", () => {
    const log = 'warning: x\n{"file":"s3://b/qs/qs-entando-20260531T020000Z.tar.age","bytes":1}\n';
    expect(archiveFromLog(log)).to.equal('s3://b/qs/qs-entando-20260531T020000Z.tar.age');
    expect(archiveFromLog('error: refused\n')).to.equal(undefined);
    // As the tool prints it: indented, after warnings.
    const printed = JSON.stringify(
      { file: 's3://b/qs/a.tar.age', bytes: 1, nested: { x: 1 } },
      null,
      2,
    );
    expect(archiveFromLog(`warning: slow\n${printed}\n`)).to.equal('s3://b/qs/a.tar.age');
  });

  it("a failed run's reason: the failed container's last error line", () => {
    const log = 'warning: slow\nerror: first\nerror: S3 refused the credentials (403)\n';
    expect(errorFromLog(log)).to.equal('S3 refused the credentials (403)');
    expect(errorFromLog('{"file":"x"}\n')).to.equal(undefined);
    const pod = (init: number, main?: number): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      status: {
        initContainerStatuses: [{ name: 'backup', state: { terminated: { exitCode: init } } }],
        containerStatuses: [
          { name: 'prune', state: main === undefined ? {} : { terminated: { exitCode: main } } },
        ],
      },
    });
    expect(failedContainer(pod(1))).to.equal('backup');
    expect(failedContainer(pod(0, 2))).to.equal('prune');
    expect(failedContainer(pod(0, 0))).to.equal(undefined);
  });

  it('the next run from the cron expression; none when suspended', () => {
    const cron = cronJob(scheduleObjects(spec()));
    const now = new Date('2026-05-31T03:00:00Z');
    expect(scheduleRow(cron, now)).to.include({
      name: 'nightly',
      app: 'qs',
      to: 's3://backups/qs/',
      retention: '--keep-daily 7 --keep-weekly 4',
      nextRun: '2026-06-01T02:00:00.000Z',
    });
    const suspended = { ...cron, spec: { ...(cron.spec as object), suspend: true } };
    expect(scheduleRow(suspended, now).nextRun).to.equal(undefined);
  });
});

describe('schedule create through the CLI', () => {
  let dir: string;
  let cleanup: () => void;
  let kubeconfig: string;
  before(() => {
    ({ dir, cleanup } = tempDir('schedule-'));
    kubeconfig = path.join(dir, 'config');
    // Nothing listens on port 9: any request would fail the command.
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: c, user: {token: t}}]',
        'contexts: [{name: c, context: {cluster: c, user: c, namespace: entando}}]',
      ].join('\n'),
    );
  });
  after(() => cleanup());

  const base = () => [
    'schedule',
    'create',
    'nightly',
    '--kubeconfig',
    kubeconfig,
    '--app',
    'qs',
    '--cron',
    '0 2 * * *',
    '--to',
    's3://backups/qs/',
    '-r',
    recipient,
    '--keep-daily',
    '7',
  ];
  const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'very-secret-value' };

  it('--dry-run prints the objects as YAML, contacts no cluster, prints no secret value', async () => {
    const r = await runCli([...base(), '--dry-run'], env);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    const docs = loadAll(r.stdout) as KubeObject[];
    expect(docs.map((d) => d.kind)).to.deep.equal([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Secret',
      'ConfigMap',
      'CronJob',
    ]);
    expect(docs.every((d) => d.metadata.namespace === 'entando')).to.equal(true);
    expect(r.stdout).not.to.include('very-secret-value');
    expect(r.stdout).not.to.include(Buffer.from('very-secret-value').toString('base64'));
    expect(docs[3].data).to.deep.equal({
      AWS_ACCESS_KEY_ID: '<redacted>',
      AWS_SECRET_ACCESS_KEY: '<redacted>',
    });
  });

  it('--dry-run -o json: a List', async () => {
    const r = await runCli([...base(), '--dry-run', '-o', 'json'], env);
    expect(r.code).to.equal(0);
    const list = JSON.parse(r.stdout) as { kind: string; items: KubeObject[] };
    expect(list.kind).to.equal('List');
    expect(list.items.at(-1)!.kind).to.equal('CronJob');
  });

  it('without --dry-run it does contact the cluster (and fails on the unreachable one)', async () => {
    const r = await runCli(base(), env);
    expect(r.code).not.to.equal(0);
    expect(r.stderr).to.match(/cannot list EntandoApps in namespace entando: .*fetch failed/);
  });

  const refusals: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['-i', ['-i', 'key.txt'], env, /never holds a private key/],
    ['--passphrase-file', ['--passphrase-file', 'pw'], env, /never holds a private key/],
    ['a bad cron', ['--cron', '0 2 * *'], env, /5 fields expected/],
    ['a local --to', ['--to', './backups/'], env, /s3:\/\/BUCKET\/PREFIX\//],
    ['a bad name', [], env, /schedule name "Bad_Name"/],
    ['no credentials', ['--dry-run'], {}, /no S3 credentials/],
    ['a bad keep rule', ['--keep-daily', '0'], env, /--keep-daily must be/],
  ];
  for (const [what, extra, e, message] of refusals) {
    it(`refuses ${what} in one line (exit 2)`, async () => {
      const argv = base();
      if (what === 'a bad name') argv[2] = 'Bad_Name';
      // A flag already in base() is replaced, not repeated.
      const at = argv.indexOf(extra[0]);
      if (at > 0) argv.splice(at, 2);
      const r = await runCli([...argv, ...extra], e);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(message);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    });
  }
});
