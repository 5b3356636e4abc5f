import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { decryptionKeys } from '../../src/archive/encryption.js';
import { entryStream } from '../../src/archive/entry-stream.js';
import { resourcePath } from '../../src/archive/layout.js';
import { newManifest } from '../../src/archive/manifest.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { run } from '../../src/cli/main.js';
import { runningPod } from '../../src/components/files/discover.js';
import { refOf } from '../../src/kube/object.js';
import { VOLUME_POD_LABEL } from '../../src/kube/volume-pod.js';
import { loadArchive } from '../../src/restore/restore.js';
import { collectState, type State } from '../../sandbox/fixture/statelib.js';
import { kubeConfig, kubectlExec, type Target } from '../../sandbox/fixture/kubectl.js';
import { tarOf } from '../helpers/files-tar.js';
import { runCli } from '../helpers/cli.js';
import { Scenario } from '../helpers/scenario.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  ROOT,
  SOURCE,
  TARGET,
  waitFor,
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
  let scenario: Scenario;
  let tmp: Scenario['tmp'];
  let keyFile: string;
  const namespaces: [string, string][] = [];
  const kube = ['--kubeconfig', KUBECONFIG];

  before(async () => {
    await requireSandbox();
    scenario = new Scenario();
    tmp = scenario.tmp;
    keyFile = scenario.keyFile;
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
    {
      fixture: 'sandbox/fixtures/mysql.yaml',
      app: 'mysql-app',
      quiesce: true,
      name: 'mysql app (--quiesce, read through a volume pod)',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: file trees equal, replicas back on both sides`, async () => {
      const sourceNs = `e2e-files-${suffix}-${c.app.slice(0, 5)}`;
      const targetNs = `${sourceNs}-restored`;
      namespaces.push([SOURCE, sourceNs], [TARGET, targetNs]);
      await applyFixture(c.fixture, SOURCE, sourceNs);
      const before = await replicas(SOURCE, sourceNs);
      const archive = path.join(tmp.dir, `${sourceNs}.tar.age`);
      if (c.app === 'embedded-app') {
        const refused = await scenario.backup(SOURCE, sourceNs, archive);
        expect(refused.code).to.equal(2);
        expect(refused.stderr).to.match(/embedded databases.*--quiesce/);
        expect(fs.existsSync(archive)).to.equal(false);
      }
      const backup = await scenario.backup(
        SOURCE,
        sourceNs,
        archive,
        c.quiesce ? ['--quiesce'] : [],
      );
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
      expect(source.files[`${c.app}-deployment`].files).to.be.greaterThan(50);
      if (c.app === 'embedded-app') {
        for (const [tree, files] of Object.entries(source.files))
          expect(files.files, `${tree} holds its embedded database`).to.be.greaterThan(0);
      }
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

const FAKE_TAR = (dir: string, realTar: string) => `#!/bin/sh
# tar that streams, then fails like a read error, while ${dir}/fail exists
if [ -e "${dir}/fail" ]; then
  "${realTar}" "$@"
  echo "tar: resources/x: Cannot open: simulated I/O error" >&2
  exit 2
fi
exec "${realTar}" "$@"
`;

/** The CLI in-process, with a signal the test aborts (Ctrl-C). */
async function runCliWith(argv: string[], signal: AbortSignal) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const err: Buffer[] = [];
  stdout.resume();
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await run(argv, { stdout, stderr, env: { PATH: process.env.PATH }, signal });
  return { code, stderr: Buffer.concat(err).toString() };
}

/** A copy of an archive (plain tar) whose entry `hostilePath` is replaced by `hostile`. */
async function withHostileEntry(
  file: string,
  keyFile: string,
  out: string,
  hostilePath: string,
  hostile: Buffer,
): Promise<void> {
  const keys = decryptionKeys({ identity: [keyFile] }, { env: {} });
  const loaded = await loadArchive(file, keys);
  const manifest = newManifest(loaded.manifest.tool, loaded.manifest.source, new Date());
  manifest.components = loaded.manifest.components;
  const writer = await ArchiveWriter.open(out, manifest, {});
  const objects = new Map(loaded.objects.map((o) => [resourcePath(refOf(o)), o]));
  for (const entry of loaded.manifest.entries) {
    const object = objects.get(entry.path);
    if (object) await writer.addBuffer(entry.path, Buffer.from(JSON.stringify(object)));
    else if (entry.path === hostilePath)
      await writer.addStream(
        entry.path,
        (async function* () {
          yield hostile;
        })(),
        entry.meta,
      );
    else await writer.addStream(entry.path, entryStream({ file, keys }, entry), entry.meta);
  }
  await writer.commit();
}

/** Failure cases: each leaves no archive, replicas back, and nothing half-extracted. */
describe('e2e: files, failures', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-files-fail-${suffix}`;
  const targetNs = `${sourceNs}-r`;
  let scenario: Scenario;
  const kube = ['--kubeconfig', KUBECONFIG];
  const src: Target = { kubeconfig: KUBECONFIG, context: SOURCE, namespace: sourceNs };
  let tmp: Scenario['tmp'];
  let keyFile: string;
  let fakeBin: string;
  let beforeReplicas: Record<string, number>;
  let good: string;

  const appPod = async (context: string, ns: string) =>
    (await runningPod(client(context), ns, 'quickstart-deployment'))?.metadata.name;
  const backup = (file: string, extra: string[] = []) =>
    scenario.backup(SOURCE, sourceNs, file, extra);
  const restoreArgs = (file: string, extra: string[] = []) => [
    'restore',
    file,
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
    ...extra,
  ];
  const targetVolume = () =>
    path.join(ROOT, '.sandbox/clusters/target/pv', targetNs, 'quickstart-server-pvc');

  before(async () => {
    await requireSandbox();
    scenario = new Scenario();
    tmp = scenario.tmp;
    keyFile = scenario.keyFile;
    fakeBin = path.join(tmp.dir, 'bin');
    fs.mkdirSync(fakeBin);
    const realTar = execFileSync('sh', ['-c', 'command -v tar']).toString().trim();
    fs.writeFileSync(path.join(fakeBin, 'tar'), FAKE_TAR(fakeBin, realTar), { mode: 0o755 });
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs);
    // The app engine finds `tar` in fakeBin first (the sandbox node puts the container's PATH
    // before the host's); a larger tree so that a stream can be cut in the middle.
    const kc = client(SOURCE);
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: sourceNs,
      name: 'quickstart-deployment',
    };
    const d = (await kc.get(ref))!;
    const template = (d.spec as { template: { spec: { containers: { env?: unknown[] }[] } } })
      .template;
    for (const c of template.spec.containers)
      c.env = [...(c.env ?? []), { name: 'PATH', value: fakeBin }];
    await kc.mergePatch(ref, { spec: { template } });
    const pod = await waitFor('the app engine rolled out with the fake tar', async () => {
      const now = (await kc.get(ref))!;
      const s = now.status as {
        updatedReplicas?: number;
        readyReplicas?: number;
        replicas?: number;
      };
      const pods = await kc.list(
        'v1',
        'Pod',
        sourceNs,
        'entando.org/deployment=quickstart-deployment',
      );
      if (s.updatedReplicas !== 1 || s.readyReplicas !== 1 || pods.length !== 1) return undefined;
      // The ready pod must be the new one (its status can lag the deployment's).
      const ready = await runningPod(kc, sourceNs, 'quickstart-deployment');
      const env = (ready?.spec as { containers: { env?: { value?: string }[] }[] } | undefined)
        ?.containers[0].env;
      return env?.some((e) => e.value === fakeBin) ? ready!.metadata.name : undefined;
    });
    await kubectlExec(src, pod, 'server-container', [
      'sh',
      '-c',
      'mkdir -p /entando-data/resources/big && for i in 1 2 3 4 5 6 7 8; do head -c 67108864 /dev/zero > /entando-data/resources/big/blob-$i; done',
    ]);
    beforeReplicas = await replicas(SOURCE, sourceNs);
  });
  after(async () => {
    tmp?.cleanup();
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    await deleteNamespace(TARGET, targetNs).catch(() => undefined);
    await deleteNamespace(TARGET, sourceNs).catch(() => undefined); // its `-ecr`, restored
  });

  it('a tar that streams, then exits non-zero, fails the backup with its stderr', async () => {
    fs.writeFileSync(path.join(fakeBin, 'fail'), '');
    try {
      const file = path.join(tmp.dir, 'tar-fails.tar.age');
      const r = await backup(file);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(
        /tar -c \/entando-data\/\w+ failed .*exit code 2.*simulated I\/O error/,
      );
      expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('tar-fails'))).to.deep.equal([]);
    } finally {
      fs.rmSync(path.join(fakeBin, 'fail'));
    }
  });

  it('the volume pod deleted mid-stream (--quiesce): the backup fails, no archive, replicas back', async () => {
    const file = path.join(tmp.dir, 'cut.tar.age');
    const kc = client(SOURCE);
    let deleted = '';
    const killer = (async () => {
      for (let i = 0; i < 1200 && !deleted; i++) {
        const partial = fs.readdirSync(tmp.dir).find((f) => f.startsWith('.cut.tar.age.'));
        const size = partial ? fs.statSync(path.join(tmp.dir, partial)).size : 0;
        const pods = await kc.list('v1', 'Pod', sourceNs, `${VOLUME_POD_LABEL}=files`);
        if (size > 48 * 1024 * 1024 && pods.length > 0) {
          deleted = pods[0].metadata.name;
          await kc.delete({ apiVersion: 'v1', kind: 'Pod', namespace: sourceNs, name: deleted });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await backup(file, ['--quiesce', '--parallel', '1']);
    await killer;
    expect(deleted, 'a volume pod was deleted while streaming').to.not.equal('');
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.match(/files quickstart main\/\w+: .*(went away|closed|failed)/);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('cut.tar'))).to.deep.equal([]);
    expect(await replicas(SOURCE, sourceNs)).to.deep.equal(beforeReplicas);
    expect(await kc.list('v1', 'Pod', sourceNs, `${VOLUME_POD_LABEL}=files`)).to.deep.equal([]);
  });

  it('a hostile entry (../evil, an absolute symlink) is refused before anything is extracted', async () => {
    good = path.join(tmp.dir, 'good.tar.age');
    const b = await backup(good);
    expect(b.code, b.stderr).to.equal(0);
    const hostile = path.join(tmp.dir, 'hostile.tar');
    const evil = tarOf([
      { path: 'resources/', type: 'Directory' },
      { path: 'resources/ok.txt', data: 'fine' },
      { path: 'resources/etc', type: 'SymbolicLink', linkpath: '/etc' },
      { path: '../evil', data: 'owned' },
    ]);
    await withHostileEntry(
      good,
      keyFile,
      hostile,
      'data/files/app/quickstart/main/resources.tar',
      evil,
    );
    const r = await runCli(restoreArgs(hostile));
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.match(
      /resources\.tar: refused entry "resources\/etc": symlink to the absolute \/etc/,
    );
    // The app was restored (objects, databases) but not one file of this step was extracted.
    const volume = targetVolume();
    expect(fs.readdirSync(volume)).to.deep.equal([]);
    expect(fs.existsSync(path.join(volume, '..', 'evil'))).to.equal(false);
    const pod = (await appPod(TARGET, targetNs))!;
    const listed = await kubectlExec(
      { kubeconfig: KUBECONFIG, context: TARGET, namespace: targetNs },
      pod,
      'server-container',
      ['ls', '-A', '/entando-data'],
    );
    expect(listed.toString()).to.equal('');
  });

  it('a restore interrupted while extracting, run again with --existing update, converges', async () => {
    const controller = new AbortController();
    const staging = path.join(targetVolume(), '.kubectl-entando-restore-resources');
    const watcher = (async () => {
      for (let i = 0; i < 6000 && !controller.signal.aborted; i++) {
        if (fs.existsSync(path.join(staging, 'resources/big'))) controller.abort();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const first = await runCliWith(restoreArgs(good, ['--existing', 'update']), controller.signal);
    await watcher;
    expect(controller.signal.aborted, 'interrupted while extracting').to.equal(true);
    expect(first.code, first.stderr).to.not.equal(0);
    expect(first.stderr, first.stderr).to.match(/interrupted/);
    const again = await runCli(restoreArgs(good, ['--existing', 'update']));
    expect(again.code, again.stderr).to.equal(0);
    const [source, restored] = [
      await state(SOURCE, sourceNs, 'quickstart'),
      await state(TARGET, targetNs, 'quickstart'),
    ];
    for (const [tree, files] of Object.entries(source.files)) {
      expect(restored.files[tree]?.entries, tree).to.deep.equal(files.entries);
    }
    expect(fs.readdirSync(targetVolume()).sort()).to.deep.equal(['protected', 'resources']);
    expect(await replicas(SOURCE, sourceNs)).to.deep.equal(beforeReplicas);
    const targetReplicas = await replicas(TARGET, targetNs);
    for (const [name, n] of Object.entries(beforeReplicas))
      expect(targetReplicas[name], name).to.equal(n);
  });

  it('--file-streams 3: the resources tree read as 3 tar streams, restored whole', async () => {
    const split = path.join(tmp.dir, 'split.tar.age');
    const b = await backup(split, ['--file-streams', '3']);
    expect(b.code, b.stderr).to.equal(0);
    const keys = decryptionKeys({ identity: [keyFile] }, { env: {} });
    const entries = (await loadArchive(split, keys)).manifest.entries.map((e) => e.path);
    const tree = 'data/files/app/quickstart/main/resources';
    expect(entries.filter((e) => e.startsWith(tree)).sort()).to.deep.equal([
      `${tree}.stream-2.tar`,
      `${tree}.stream-3.tar`,
      `${tree}.tar`,
    ]);
    // The small protected/ tree stays one stream.
    expect(entries.filter((e) => e.includes('/main/protected'))).to.have.length(1);
    // Taken away in the target first, so that only the restore can bring it back.
    fs.rmSync(path.join(targetVolume(), 'resources'), { recursive: true, force: true });
    const r = await runCli(restoreArgs(split, ['--existing', 'update']));
    expect(r.code, r.stderr).to.equal(0);
    const [source, restored] = [
      await state(SOURCE, sourceNs, 'quickstart'),
      await state(TARGET, targetNs, 'quickstart'),
    ];
    for (const [t, files] of Object.entries(source.files)) {
      expect(restored.files[t]?.entries, t).to.deep.equal(files.entries);
    }
    expect(restored.hashes.files).to.equal(source.hashes.files);
    expect(fs.readdirSync(targetVolume()).sort()).to.deep.equal(['protected', 'resources']);

    // A symlink in stream 2 (only stream 1 may hold links): refused before any extraction.
    const hostile = path.join(tmp.dir, 'hostile-stream.tar');
    const linked = tarOf([
      { path: 'resources/a.txt', data: 'fine' },
      { path: 'resources/l', type: 'SymbolicLink', linkpath: 'a.txt' },
    ]);
    await withHostileEntry(split, keyFile, hostile, `${tree}.stream-2.tar`, linked);
    const refused = await runCli(restoreArgs(hostile, ['--existing', 'update']));
    expect(refused.code, refused.stderr).to.equal(1);
    expect(refused.stderr).to.match(/resources\.stream-2\.tar: stream 2 of .*holds symlinks/);
    expect(fs.existsSync(path.join(targetVolume(), 'resources/l'))).to.equal(false);
    expect(fs.existsSync(path.join(targetVolume(), 'resources/a.txt'))).to.equal(false);
  });
});
