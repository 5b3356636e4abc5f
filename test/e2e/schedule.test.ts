import { expect } from 'chai';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { objectName, SCHEDULE_LABEL } from '../../src/schedule/objects.js';
import type { RunRow, ScheduleRow } from '../../src/schedule/manage.js';
import { IN_CLUSTER_CONTEXT } from '../../src/kube/kubeconfig.js';
import { runCli } from '../helpers/cli.js';
import { installSandboxImage } from '../helpers/image.js';
import { BUCKET, keysUnder, s3Admin, s3Env } from '../helpers/s3.js';
import { Scenario } from '../helpers/scenario.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  waitFor,
} from '../helpers/sandbox.js';

type Described = ScheduleRow & { runs: RunRow[] };

/** Every kind a schedule makes, as `schedule delete` must leave none of them. */
const KINDS: [string, string][] = [
  ['batch/v1', 'CronJob'],
  ['batch/v1', 'Job'],
  ['v1', 'Pod'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['v1', 'ServiceAccount'],
];

describe('e2e: a schedule in the cluster (its CronJob runs the tool with its own service account)', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const ns = `e2e-sched-${suffix}`;
  const prefix = `e2e-sched-${suffix}/`;
  const name = 'every-minute';
  const kube = ['--kubeconfig', KUBECONFIG, '--context', SOURCE, '-n', ns];
  const other = `${prefix}other-app-${ns}-20200101T000000Z.tar.age`;
  let scenario: Scenario;
  let s3: S3Client;
  let env: NodeJS.ProcessEnv;

  const describeNow = async (): Promise<Described> => {
    const r = await runCli(['schedule', 'describe', name, ...kube, '-o', 'json'], env);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Described;
  };

  before(async () => {
    await requireSandbox();
    scenario = new Scenario();
    env = await s3Env();
    s3 = await s3Admin();
    await Promise.all([
      installSandboxImage(),
      applyFixture('sandbox/fixtures/default.yaml', SOURCE, ns),
    ]);
  });
  after(async () => {
    scenario?.cleanup();
    for (const key of await keysUnder(s3, prefix).catch(() => [])) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    }
    await deleteNamespace(SOURCE, ns).catch(() => undefined);
  });

  it('runs on its every-minute cron: two scheduled Jobs back up into S3 and prune the older archive by the keep rule', async () => {
    // Not the schedule's series (another app's name): the keyless prune must leave it.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: other, Body: 'not ours' }));
    const created = await runCli(
      [
        'schedule',
        'create',
        name,
        ...kube,
        '--cron',
        '* * * * *',
        '--to',
        `s3://${BUCKET}/${prefix}`,
        '-r',
        scenario.id.recipient,
        '--keep-last',
        '1',
        '--s3-endpoint',
        env.AWS_ENDPOINT_URL_S3!,
        '--image',
        'sandbox.local/kubectl-entando:test',
      ],
      env,
    );
    expect(created.code, created.stderr).to.equal(0);

    await waitFor(
      'two scheduled runs to succeed',
      async () => {
        const d = await describeNow();
        const failed = d.runs.filter((r) => r.outcome === 'failed');
        if (failed.length > 0) throw new Error(`a run failed: ${JSON.stringify(failed)}`);
        const ok = d.runs.filter((r) => r.trigger === 'scheduled' && r.outcome === 'succeeded');
        return ok.length >= 2 ? d : undefined;
      },
      6 * 60_000,
      2000,
    );
    const suspended = await runCli(['schedule', 'suspend', name, ...kube], env);
    expect(suspended.code, suspended.stderr).to.equal(0);
    const d = await waitFor('no run in progress', async () => {
      const now = await describeNow();
      return now.runs.every((r) => r.outcome !== 'running') ? now : undefined;
    });

    const archives = d.runs.filter((r) => r.outcome === 'succeeded').map((r) => r.archive!);
    expect(archives.length).to.be.at.least(2);
    expect(new Set(archives).size, 'each run its own archive').to.equal(archives.length);
    for (const a of archives) {
      expect(a).to.match(
        new RegExp(`^s3://${BUCKET}/${prefix}quickstart-${ns}-\\d{8}T\\d{6}Z\\.tar\\.age$`),
      );
    }
    // Newest first: the newest is the one kept (--keep-last 1), the other app's object stays.
    const key = (url: string) => url.slice(`s3://${BUCKET}/`.length);
    expect(await keysUnder(s3, prefix)).to.deep.equal([key(archives[0]), other].sort());

    // Made inside the pod, with the pod's service account (no kubeconfig there).
    const inspected = await runCli(
      ['inspect', archives[0], '-i', scenario.keyFile, '-o', 'json'],
      env,
    );
    expect(inspected.code, inspected.stderr).to.equal(0);
    const manifest = JSON.parse(inspected.stdout) as {
      source: { context: string; namespace: string };
    };
    expect(manifest.source).to.include({ context: IN_CLUSTER_CONTEXT, namespace: ns });
  });

  it('a run whose S3 credentials were revoked fails, with the one-line reason in describe', async () => {
    const denied = await s3Env('denied');
    await client(SOURCE).mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: objectName(name) },
      {
        stringData: {
          AWS_ACCESS_KEY_ID: denied.AWS_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: denied.AWS_SECRET_ACCESS_KEY,
        },
      },
    );
    const before = await keysUnder(s3, prefix);
    const started = await runCli(['schedule', 'run', name, ...kube, '-o', 'json'], env);
    expect(started.code, started.stderr).to.equal(0);
    const job = (JSON.parse(started.stdout) as { job: string }).job;
    const run = await waitFor(
      `job ${job} to fail`,
      async () => {
        const r = (await describeNow()).runs.find((x) => x.job === job);
        if (r?.outcome === 'succeeded') throw new Error(`${job} succeeded with denied credentials`);
        return r?.outcome === 'failed' ? r : undefined;
      },
      3 * 60_000,
      2000,
    );
    expect(run.trigger).to.equal('manual');
    expect(run.reason).to.match(/^backup: .*(denied|forbidden|403)/i);
    expect(run.reason).not.to.include(denied.AWS_SECRET_ACCESS_KEY!);
    expect(await keysUnder(s3, prefix), 'nothing written, nothing pruned').to.deep.equal(before);
  });

  it('delete removes every object the schedule made; the archives stay', async () => {
    const before = await keysUnder(s3, prefix);
    const deleted = await runCli(['schedule', 'delete', name, ...kube], env);
    expect(deleted.code, deleted.stderr).to.equal(0);
    const kubeClient = client(SOURCE);
    const left = await waitFor('every object of the schedule gone', async () => {
      const found: string[] = [];
      for (const [apiVersion, kind] of KINDS) {
        const objs = await kubeClient.list(apiVersion, kind, ns, `${SCHEDULE_LABEL}=${name}`);
        found.push(...objs.map((o) => `${kind}/${o.metadata.name}`));
      }
      return found.length === 0 ? found : undefined;
    });
    expect(left).to.deep.equal([]);
    expect(await keysUnder(s3, prefix)).to.deep.equal(before);
    const list = await runCli(['schedule', 'list', ...kube, '-o', 'json'], env);
    expect(JSON.parse(list.stdout)).to.deep.equal([]);
  });
});
