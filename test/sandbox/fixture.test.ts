// Fixtures against the real sandbox: same seed -> same state hash, another seed -> another.
// Needs `bash scripts/sandbox up` (npm test brings it up).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { collectState, type State } from '../../sandbox/fixture/statelib.js';
import { randomSuffix } from '../helpers/sandbox.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const KUBECONFIG = process.env.SANDBOX_KUBECONFIG ?? join(ROOT, '.sandbox/kubeconfig');
const CONTEXT = 'sandbox-source';

const FIXTURE = `
seed: 99
namespace: placeholder
app:
  name: fx
  dbms: postgresql
  tlsSecretName: fx-tls
namespaceObjects:
  caSecretName: fx-ca
  pullSecretName: fx-pull
files:
  count: 40
  totalSize: 512KiB
rows: 60
plugins:
  - name: fx-ms
    dbms: postgresql
    rows: 30
bundles:
  - name: fx-bundle
    versions: [1.0.0]
`;

describe('sandbox fixtures (sandbox)', function () {
  this.timeout(600_000);
  const suffix = randomSuffix();
  const namespaces = [`fxtest-a-${suffix}`, `fxtest-b-${suffix}`];
  let kc: KubeConfig;
  let dir: string;
  let file: string;

  const apply = (ns: string, seed: number) =>
    run(
      'bash',
      [
        join(ROOT, 'scripts/sandbox'),
        'fixture',
        'apply',
        file,
        '--context',
        CONTEXT,
        '-n',
        ns,
        '--seed',
        String(seed),
      ],
      { cwd: ROOT, env: { ...process.env, SANDBOX_KUBECONFIG: KUBECONFIG }, maxBuffer: 16 << 20 },
    );
  const state = (ns: string): Promise<State> =>
    collectState(kc, { kubeconfig: KUBECONFIG, context: CONTEXT, namespace: ns }, 'fx');

  before(() => {
    if (!existsSync(KUBECONFIG)) {
      throw new Error(`sandbox kubeconfig ${KUBECONFIG} missing: run 'bash scripts/sandbox up'`);
    }
    kc = new KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    kc.setCurrentContext(CONTEXT);
    dir = mkdtempSync(join(tmpdir(), 'fixture-test-'));
    file = join(dir, 'fx.yaml');
    writeFileSync(file, FIXTURE);
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!kc) return;
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  it('same seed, two namespaces: same data hash (files and rows)', async () => {
    await Promise.all(namespaces.map((ns) => apply(ns, 99)));
    const [a, b] = await Promise.all(namespaces.map(state));
    expect(a.hashes.files).to.equal(b.hashes.files);
    expect(a.hashes.databases).to.equal(b.hashes.databases);
    expect(a.hashes.data).to.equal(b.hashes.data);

    const main = a.files['fx-deployment'];
    expect(main.files).to.equal(40);
    expect(main.bytes).to.equal(512 * 1024);
    expect(main.symlinks).to.equal(3);
    expect(main.entries.map((e) => e.path)).to.include('resources/empty-dir');
    expect(Object.keys(a.databases)).to.have.members([
      'portdb',
      'servdb',
      'dedb',
      'plugindb:' +
        Object.keys(a.objects)
          .find((k) => k.startsWith('EntandoPlugin/'))!
          .slice(14),
    ]);
    expect(a.databases.portdb.tables.sandbox_pages.rows).to.equal(36);
    expect(a.databases.portdb.tables.sandbox_events.rows).to.equal(24);
    // Operator-generated usernames differ between the two applies; the data does not.
    expect(a.databases.portdb.username).to.not.equal(b.databases.portdb.username);
    for (const k of [
      'ConfigMap/entando-operator-config',
      'ServiceAccount/entando-plugin',
      'Secret/fx-pull',
    ]) {
      expect(a.objects[k], k).to.deep.equal(b.objects[k]);
    }
  });

  it('another seed: another data hash; re-applying the first seed restores it', async () => {
    const [ns] = namespaces;
    const first = await state(ns);
    await apply(ns, 100);
    const other = await state(ns);
    expect(other.hashes.files).to.not.equal(first.hashes.files);
    expect(other.hashes.databases).to.not.equal(first.hashes.databases);
    await apply(ns, 99);
    const again = await state(ns);
    expect(again.hashes.data).to.equal(first.hashes.data);
    // Secrets are kept across re-applies: same usernames, same objects.
    expect(again.databases.portdb.username).to.equal(first.databases.portdb.username);
    expect(again.hashes.objects).to.equal(first.hashes.objects);
  });
});
