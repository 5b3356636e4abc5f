import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateIdentity } from '../../src/archive/age/index.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
} from '../helpers/sandbox.js';
import { tempDir } from '../helpers/tmp.js';
import { nodelessPath, releaseOnce } from './build.js';

const run = promisify(execFile);

describe('release: the linux/amd64 single executable backs up and restores on the sandbox, with no Node on PATH', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `rel-src-${suffix}`;
  const targetNs = `rel-dst-${suffix}`;
  const id = generateIdentity();
  let tmp: ReturnType<typeof tempDir>;
  let kubectl: (args: string[]) => Promise<{ stdout: string; stderr: string }>;

  before(async () => {
    await requireSandbox();
    tmp = tempDir('ke-release-sandbox-');
    const { out } = await releaseOnce();
    const bin = nodelessPath(tmp.dir, path.join(out, 'build/linux_amd64/kubectl-entando'));
    const env = { PATH: bin, HOME: tmp.dir, KUBECONFIG };
    kubectl = (args) => run(path.join(bin, 'kubectl'), args, { env, maxBuffer: 64 * 1024 * 1024 });
    fs.writeFileSync(path.join(tmp.dir, 'key.txt'), `${id.identity}\n`);
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs);
  });
  after(async () => {
    tmp?.cleanup();
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    await deleteNamespace(TARGET, targetNs).catch(() => undefined);
  });

  it('kubectl entando backup, verify, restore --yes: the app arrives in the target namespace', async () => {
    const archive = path.join(tmp.dir, 'qs.tar.age');
    const key = path.join(tmp.dir, 'key.txt');
    const backup = await kubectl([
      'entando',
      'backup',
      '--context',
      SOURCE,
      '-n',
      sourceNs,
      '-r',
      id.recipient,
      '-f',
      archive,
      '-o',
      'json',
    ]);
    const summary = JSON.parse(backup.stdout);
    expect(summary.source).to.include({ app: 'quickstart', namespace: sourceNs });
    expect(summary.counts.EntandoApp).to.equal(1);
    await kubectl(['entando', 'verify', archive, '-i', key]);
    const restore = await kubectl([
      'entando',
      'restore',
      archive,
      '-i',
      key,
      '--to-context',
      TARGET,
      '--to-namespace',
      targetNs,
      '--yes',
      '-o',
      'json',
    ]);
    expect(restore.stdout).to.include(targetNs);
    const app = await client(TARGET).get({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      namespace: targetNs,
      name: 'quickstart',
    });
    expect(app, 'EntandoApp quickstart in the target').to.not.equal(undefined);
    const secret = await client(TARGET).get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: targetNs,
      name: 'quickstart-portdb-secret',
    });
    expect(secret, 'quickstart-portdb-secret in the target').to.not.equal(undefined);
  });
});
