import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { generateIdentity } from '../../src/archive/age/index.js';
import { collectState, type State } from '../../sandbox/fixture/statelib.js';
import { kubeConfig } from '../../sandbox/fixture/kubectl.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
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

function state(context: string, namespace: string, app: string): Promise<State> {
  return collectState(
    kubeConfig({ kubeconfig: KUBECONFIG, context }),
    { kubeconfig: KUBECONFIG, context, namespace },
    app,
  );
}

async function replicas(context: string, namespace: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of await client(context).list('apps/v1', 'Deployment', namespace)) {
    out[d.metadata.name] = (d.status as { readyReplicas?: number }).readyReplicas ?? 0;
  }
  return out;
}

/** /entando-data trees (and embedded databases) from sandbox-source to sandbox-target. */
describe('e2e: files, streamed from the source pods and into the target pods', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const id = generateIdentity();
  let tmp: ReturnType<typeof tempDir>;
  let keyFile: string;
  const namespaces: [string, string][] = [];
  const kube = ['--kubeconfig', KUBECONFIG];

  before(() => {
    requireSandbox();
    tmp = tempDir();
    keyFile = path.join(tmp.dir, 'key.txt');
    fs.writeFileSync(keyFile, `${id.identity}\n`);
  });
  after(async () => {
    tmp?.cleanup();
    for (const [context, ns] of namespaces)
      await deleteNamespace(context, ns).catch(() => undefined);
  });

  const cases = [
    {
      fixture: 'sandbox/fixtures/default.yaml',
      app: 'quickstart',
      quiesce: false,
      name: 'postgresql app: resources and protected',
    },
    {
      fixture: 'sandbox/fixtures/embedded.yaml',
      app: 'embedded-app',
      quiesce: true,
      name: 'embedded app (--quiesce): databases/ of app engine, component manager and plugin too',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: file trees equal, replicas back on both sides`, async () => {
      const sourceNs = `e2e-files-${suffix}-${c.quiesce ? 'emb' : 'pg'}`;
      const targetNs = `${sourceNs}-restored`;
      namespaces.push([SOURCE, sourceNs], [TARGET, targetNs]);
      await applyFixture(c.fixture, SOURCE, sourceNs);
      const before = await replicas(SOURCE, sourceNs);
      const archive = path.join(tmp.dir, `${sourceNs}.tar.age`);
      if (c.quiesce) {
        const refused = await runCli([
          'backup',
          ...kube,
          '--context',
          SOURCE,
          '-n',
          sourceNs,
          '-r',
          id.recipient,
          '-f',
          archive,
        ]);
        expect(refused.code).to.equal(2);
        expect(refused.stderr).to.match(/embedded databases.*--quiesce/);
        expect(fs.existsSync(archive)).to.equal(false);
      }
      const backup = await runCli([
        'backup',
        ...kube,
        '--context',
        SOURCE,
        '-n',
        sourceNs,
        '-r',
        id.recipient,
        '-f',
        archive,
        ...(c.quiesce ? ['--quiesce'] : []),
      ]);
      expect(backup.code, backup.stderr).to.equal(0);
      expect(await replicas(SOURCE, sourceNs)).to.deep.equal(before);
      const restore = await runCli([
        'restore',
        archive,
        '-i',
        keyFile,
        ...kube,
        '--to-context',
        TARGET,
        '--to-namespace',
        targetNs,
        '--ingress-host',
        `${targetNs}.sandbox.local`,
        '--yes',
      ]);
      expect(restore.code, restore.stderr).to.equal(0);
      const [source, restored] = [
        await state(SOURCE, sourceNs, c.app),
        await state(TARGET, targetNs, c.app),
      ];
      expect(Object.keys(source.files).length).to.be.greaterThan(0);
      for (const [tree, files] of Object.entries(source.files)) {
        expect(restored.files[tree]?.entries, tree).to.deep.equal(files.entries);
      }
      expect(restored.hashes.files).to.equal(source.hashes.files);
      const targetReplicas = await replicas(TARGET, targetNs);
      for (const [name, n] of Object.entries(before))
        expect(targetReplicas[name], name).to.equal(n);
    });
  }
});
