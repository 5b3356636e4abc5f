import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { newManifest } from '../../src/archive/manifest.js';
import { resourcePath } from '../../src/archive/layout.js';
import { tempDir } from '../helpers/tmp.js';
import { KUBECONFIG, requireSandbox, ROOT } from '../helpers/sandbox.js';

const run = promisify(execFile);

/** The real executable, found by kubectl's plugin discovery, with kubectl's KUBECONFIG merging. */
describe('e2e: kubectl entando through kubectl plugin discovery', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempDir>;
  const env = () => ({
    ...process.env,
    PATH: `${ROOT}/bin:${ROOT}/.sandbox/bin:${process.env.PATH}`,
  });

  before(async () => {
    await requireSandbox();
    tmp = tempDir();
  });
  after(() => tmp?.cleanup());

  it('kubectl entando version and --help', async () => {
    const version = await run('kubectl', ['entando', 'version'], { env: env() });
    expect(version.stdout).to.match(/^kubectl-entando \d+\.\d+\.\d+/);
    const help = await run('kubectl', ['entando', '--help'], { env: env() });
    expect(help.stdout).to.contain('kubectl entando restore <archive>');
  });

  it('KUBECONFIG with two files: the first current-context wins, as in kubectl', async () => {
    const full = yaml.load(fs.readFileSync(KUBECONFIG, 'utf8')) as Record<string, unknown>;
    const first = path.join(tmp.dir, 'first');
    const second = path.join(tmp.dir, 'second');
    fs.writeFileSync(first, yaml.dump({ ...full, 'current-context': 'sandbox-target' }));
    fs.writeFileSync(second, yaml.dump({ ...full, 'current-context': 'sandbox-source' }));
    const archive = path.join(tmp.dir, 'tiny.tar');
    const writer = await ArchiveWriter.open(
      archive,
      newManifest(
        { name: 'kubectl-entando', version: '0' },
        { server: 's', context: 'c', namespace: 'tiny', app: 'tiny' },
        new Date(),
      ),
      {},
    );
    const app = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      metadata: { name: 'tiny', namespace: 'tiny' },
      spec: { dbms: 'embedded' },
    };
    await writer.addBuffer(
      resourcePath({ apiVersion: app.apiVersion, kind: app.kind, namespace: 'tiny', name: 'tiny' }),
      Buffer.from(JSON.stringify(app)),
    );
    await writer.commit();
    const kubectl = await run('kubectl', ['config', 'current-context'], {
      env: { ...env(), KUBECONFIG: `${first}:${second}` },
    });
    const plan = await run('kubectl', ['entando', 'restore', archive, '--dry-run', '-o', 'json'], {
      env: { ...env(), KUBECONFIG: `${first}:${second}` },
    });
    expect(JSON.parse(plan.stdout).target.context)
      .to.equal(kubectl.stdout.trim())
      .and.equal('sandbox-target');
  });
});
