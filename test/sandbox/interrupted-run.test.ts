// An interrupted test run (killed mid-suite) leaves namespaces in both clusters; the next run's
// first suite deletes them (requireSandbox -> sandbox/clean.ts), and nothing of a live run.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanTestRuns } from '../../sandbox/clean.js';
import { readRuns } from '../../sandbox/test-runs.js';
import {
  client,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  ROOT,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';

/** A stand-in for a test run: registers a suffix, creates namespaces with it, waits to be killed. */
const CHILD = `
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { registerSuffix, currentRun, TEST_RUN_LABEL } from './dist/sandbox/test-runs.js';
const [kubeconfig, suffix] = process.argv.slice(1);
registerSuffix(process.cwd(), suffix);
for (const context of ['sandbox-source', 'sandbox-target']) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(context);
  const core = kc.makeApiClient(CoreV1Api);
  // One as a fixture makes it (labelled), one as a restore by the tool makes it (not labelled).
  await core.createNamespace({ body: { metadata: { name: 'e2e-int-' + suffix, labels: { [TEST_RUN_LABEL]: currentRun().id } } } });
  await core.createNamespace({ body: { metadata: { name: 'e2e-int-restored-' + suffix } } });
}
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;

const phase = async (context: string, name: string) => {
  const ns = await client(context).get({ apiVersion: 'v1', kind: 'Namespace', name });
  if (!ns) return 'gone';
  return (ns.metadata.deletionTimestamp ? 'Terminating' : 'Active') as string;
};

describe('sandbox: what an interrupted test run left is deleted by the next', function () {
  this.timeout(120_000);
  const mine = `e2e-int-live-${randomSuffix()}`;
  const theirs = randomSuffix().replace(/^./, 'z');

  before(async () => {
    await requireSandbox();
    await client(SOURCE).create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: mine } });
  });
  after(async () => {
    await client(SOURCE).delete({ apiVersion: 'v1', kind: 'Namespace', name: mine });
  });

  it('a killed run: its namespaces in both clusters deleted, its record removed; a live run left alone', async () => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', CHILD, KUBECONFIG, theirs],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited ${code} before ready`)));
    });
    const record = readRuns(ROOT).find((r) => r.run.pid === child.pid)!;
    expect(record.run.suffixes).to.deep.equal([theirs]);
    // Before it dies: nothing of a live run is touched.
    await cleanTestRuns({ root: ROOT, kubeconfig: KUBECONFIG });
    expect(await phase(SOURCE, `e2e-int-${theirs}`)).to.equal('Active');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const deleted = await cleanTestRuns({ root: ROOT, kubeconfig: KUBECONFIG });
    const expected = [SOURCE, TARGET].flatMap((c) => [
      `${c}/e2e-int-${theirs}`,
      `${c}/e2e-int-restored-${theirs}`,
    ]);
    expect(deleted).to.include.members(expected);
    expect(deleted.filter((d) => d.includes(mine))).to.deep.equal([]);
    for (const c of [SOURCE, TARGET]) {
      for (const n of [`e2e-int-${theirs}`, `e2e-int-restored-${theirs}`]) {
        expect(await phase(c, n), `${c}/${n}`).to.be.oneOf(['Terminating', 'gone']);
      }
    }
    expect(fs.existsSync(record.file)).to.equal(false);
    expect(await phase(SOURCE, mine)).to.equal('Active');
    await waitFor('their namespaces gone', async () =>
      (await phase(SOURCE, `e2e-int-${theirs}`)) === 'gone' ? true : undefined,
    );
    expect(path.basename(record.file)).to.match(/^\d+-\d+\.json$/);
  });
});
