import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { namespacesOfRuns, processStart, type TestRun } from '../../sandbox/test-runs.js';
import { lockState, takeSuiteLock } from '../helpers/suite-lock.js';
import { tempDir } from '../helpers/tmp.js';

/** A child process that lives until killed, with its pid and start time. */
async function liveProcess() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid!;
  return { pid, start: processStart(pid)!, kill: () => child.kill('SIGKILL'), child };
}

/** Writes the lock at `file` as held by process `p` for the bundles suite. */
function holdBy(file: string, p: { pid: number; start: string }): void {
  fs.writeFileSync(
    file,
    JSON.stringify({ pid: p.pid, start: p.start, suite: 'e2e bundles', since: 'then' }),
  );
}

describe('test runs: what an interrupted run left is found, its lock taken over', () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  it("a run's namespaces: by a registered suffix (whole dash-separated part) or by its label", () => {
    const runs: TestRun[] = [{ id: '11-22', pid: 11, start: '22', suffixes: ['ab3cd'] }];
    const found = namespacesOfRuns(runs, [
      { name: 'e2e-kc-ab3cd' },
      { name: 'e2e-kc-restored-ab3cd' },
      { name: 'bdl-ab3cd-a-ecr' },
      { name: 'ab3cd' },
      { name: 'e2e-kc-ab3cdx' },
      { name: 'default' },
      { name: 'labelled', labels: { 'sandbox.entando.org/test-run': '11-22' } },
      { name: 'other-run', labels: { 'sandbox.entando.org/test-run': '33-44' } },
    ]);
    expect(found).to.deep.equal([
      'e2e-kc-ab3cd',
      'e2e-kc-restored-ab3cd',
      'bdl-ab3cd-a-ecr',
      'ab3cd',
      'labelled',
    ]);
  });

  it('a lock whose holder is gone, or that names none, is taken over and said so', async () => {
    const file = path.join(tmp.dir, 'gone.lock');
    const p = await liveProcess();
    holdBy(file, p);
    expect(lockState(file).state).to.equal('held');
    p.kill();
    await new Promise((r) => p.child.once('exit', r));
    expect(lockState(file)).to.deep.equal({
      state: 'stale',
      why: `its holder (e2e bundles, pid ${p.pid}) is gone`,
    });
    const said: string[] = [];
    const release = await takeSuiteLock(file, 'e2e keycloak', {
      timeoutMs: 5000,
      say: (m) => said.push(m),
    });
    expect(said).to.deep.equal([
      `${file}: taking it over: its holder (e2e bundles, pid ${p.pid}) is gone`,
    ]);
    const s = lockState(file);
    expect(s.state === 'held' && s.holder.suite).to.equal('e2e keycloak');
    release();
    expect(fs.existsSync(file)).to.equal(false);

    fs.writeFileSync(file, 'bundles\n'); // what the suites wrote before the lock named its holder
    const r2 = await takeSuiteLock(file, 'e2e keycloak', { timeoutMs: 5000, say: () => {} });
    r2();
  });

  it('a lock held by a live process is waited for, naming its holder, then taken when it ends', async () => {
    const file = path.join(tmp.dir, 'held.lock');
    const p = await liveProcess();
    holdBy(file, p);
    const said: string[] = [];
    let taken = false;
    const waiting = takeSuiteLock(file, 'e2e keycloak', {
      timeoutMs: 10_000,
      pollMs: 20,
      say: (m) => said.push(m),
    }).then((release) => {
      taken = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(taken, 'taken while its holder lives').to.equal(false);
    expect(said[0]).to.equal(`waiting for ${file}: held by e2e bundles (pid ${p.pid}) since then`);
    p.kill();
    (await waiting)();
    expect(said.at(-1)).to.match(/taking it over: its holder \(e2e bundles, pid \d+\) is gone$/);
  });

  it('gives up after its timeout with the holder named', async () => {
    const file = path.join(tmp.dir, 'timeout.lock');
    const p = await liveProcess();
    try {
      holdBy(file, p);
      let err: unknown;
      await takeSuiteLock(file, 'x', { timeoutMs: 100, pollMs: 20, say: () => {} }).catch(
        (e: unknown) => (err = e),
      );
      expect((err as Error).message).to.equal(
        `${file} is held by e2e bundles (pid ${p.pid}) since then: gave up waiting`,
      );
    } finally {
      p.kill();
    }
  });
});
