import { expect } from 'chai';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { generateIdentity } from '../../src/archive/age/index.js';
import { encryptionKeys } from '../../src/archive/encryption.js';
import { newManifest } from '../../src/archive/manifest.js';
import { resourcePath } from '../../src/archive/layout.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import type { ArchiveLocation } from '../../src/storage/location.js';
import { resolveLocation } from '../../src/storage/resolve.js';
import { collectState, type State } from '../../sandbox/fixture/statelib.js';
import { runCli } from '../helpers/cli.js';
import {
  BUCKET,
  exited,
  keysUnder,
  s3Admin,
  s3Env,
  sandboxS3,
  spawnCli,
  uploadsUnder,
} from '../helpers/s3.js';
import { Scenario } from '../helpers/scenario.js';
import {
  applyFixture,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';

function state(context: string, namespace: string): Promise<State> {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  kc.setCurrentContext(context);
  return collectState(kc, { kubeconfig: KUBECONFIG, context, namespace }, 'quickstart');
}

/** A small archive with a manifest of our choosing (app, time), written through a location. */
async function syntheticArchive(
  location: ArchiveLocation,
  app: string,
  createdAt: Date,
  recipient: string,
): Promise<void> {
  const keys = await encryptionKeys({ recipient: [recipient] }, { env: {} });
  const manifest = newManifest(
    { name: 'kubectl-entando', version: 'test' },
    { server: 'https://127.0.0.1:16443', context: 'c1', namespace: 'ns1', app },
    createdAt,
  );
  const writer = await ArchiveWriter.create(await location.create(), manifest, {
    encryptor: await keys!.encryptor(),
  });
  await writer.addBuffer(
    resourcePath({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns1', name: app }),
    Buffer.from(JSON.stringify({ kind: 'ConfigMap', metadata: { name: app } })),
  );
  await writer.commit();
}

const DAY = 86_400_000;

describe('e2e: archives in S3 (the sandbox SeaweedFS), streamed both ways', function () {
  this.timeout(15 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-s3-${suffix}`;
  const targetNs = `e2e-s3-r-${suffix}`;
  const prefix = `e2e-${suffix}/`;
  let scenario: Scenario;
  const kube = ['--kubeconfig', KUBECONFIG];
  let tmp: Scenario['tmp'];
  let keyFile: string;
  let env: NodeJS.ProcessEnv;
  let s3: S3Client;
  let archiveUrl: string;

  before(async () => {
    await requireSandbox();
    scenario = new Scenario();
    tmp = scenario.tmp;
    keyFile = scenario.keyFile;
    env = await s3Env();
    scenario.env = { ...env, KUBECTL_ENTANDO_S3_PART_MB: '5' };
    s3 = await s3Admin();
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs);
  });
  after(async () => {
    tmp?.cleanup();
    await sandboxS3('up').catch(() => undefined); // in case a test stopped it and failed
    for (const key of await keysUnder(s3, prefix).catch(() => [])) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    }
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    await deleteNamespace(TARGET, targetNs).catch(() => undefined);
    await deleteNamespace(TARGET, sourceNs).catch(() => undefined); // its `-ecr`, restored
  });

  it('backs up straight into a prefix (multipart, nothing on local disk) and restores from it into the other cluster: equal', async () => {
    const cwd = fs.readdirSync(process.cwd());
    const backup = await scenario.backup(SOURCE, sourceNs, `s3://${BUCKET}/${prefix}`, [
      '-o',
      'json',
    ]);
    expect(backup.code, backup.stderr).to.equal(0);
    const out = JSON.parse(backup.stdout);
    archiveUrl = out.file;
    expect(archiveUrl).to.match(
      new RegExp(`^s3://${BUCKET}/${prefix}quickstart-${sourceNs}-\\d{8}T\\d{6}Z\\.tar\\.age$`),
    );
    expect(out.bytes).to.be.greaterThan(10 * 1024 * 1024); // more than one 5 MiB part
    expect(await keysUnder(s3, prefix)).to.deep.equal([archiveUrl.slice(`s3://${BUCKET}/`.length)]);
    expect(await uploadsUnder(s3, prefix)).to.deep.equal([]);
    expect(fs.readdirSync(process.cwd())).to.deep.equal(cwd);

    const again = await scenario.backup(SOURCE, sourceNs, archiveUrl);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.match(/already exists: choose another key/);

    const inspect = await runCli(['inspect', archiveUrl, '-i', keyFile, '-o', 'json'], env);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expect(JSON.parse(inspect.stdout).source).to.include({
      app: 'quickstart',
      namespace: sourceNs,
    });
    const verify = await runCli(['verify', archiveUrl, '-i', keyFile], env);
    expect(verify.code, verify.stderr).to.equal(0);
    expect(verify.stdout).to.match(/^ok: s3:\/\//);

    const restore = await scenario.restore(archiveUrl, TARGET, targetNs, [
      '--ingress-host',
      `${targetNs}.sandbox.local`,
    ]);
    expect(restore.code, restore.stderr).to.equal(0);
    const [source, restored] = [await state(SOURCE, sourceNs), await state(TARGET, targetNs)];
    expect(Object.keys(source.databases)).to.have.length.greaterThan(0);
    expect(restored.hashes.databases).to.equal(source.hashes.databases);
    for (const [tree, files] of Object.entries(source.files)) {
      expect(restored.files[tree]?.entries, tree).to.deep.equal(files.entries);
    }
    expect(restored.hashes.files).to.equal(source.hashes.files);
  });

  it('list and prune: rows from the manifests; retention per app; what is not ours is left alone', async () => {
    const folder = `s3://${BUCKET}/${prefix}retention/`;
    const settings = { env };
    const now = Date.now();
    const made: [string, string, number][] = [
      ['alpha', 'a-10d.tar.age', 10],
      ['alpha', 'a-5d.tar.age', 5],
      ['alpha', 'a-1d.tar.age', 1],
      ['alpha', 'a-0d.tar.age', 0.04],
      ['beta', 'b-20d.tar.age', 20],
      ['beta', 'b-2d.tar.age', 2],
    ];
    const dir = path.join(tmp.dir, 'archives');
    fs.mkdirSync(dir);
    for (const [app, name, days] of made) {
      const at = new Date(now - days * DAY);
      await syntheticArchive(
        resolveLocation(`${folder}${name}`, settings),
        app,
        at,
        scenario.id.recipient,
      );
      await syntheticArchive(
        resolveLocation(path.join(dir, name), settings),
        app,
        at,
        scenario.id.recipient,
      );
    }
    // Not ours, or not readable with the key given: never deleted.
    const other = generateIdentity();
    await syntheticArchive(
      resolveLocation(`${folder}other-key.tar.age`, settings),
      'alpha',
      new Date(now - 30 * DAY),
      other.recipient,
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${prefix}retention/junk.tar`,
        Body: 'not a tar at all',
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}retention/notes.txt`, Body: 'x' }),
    );
    fs.writeFileSync(path.join(dir, 'junk.tar'), 'not a tar at all');

    const list = await runCli(['list', folder, '-i', keyFile, '-o', 'json'], env);
    expect(list.code, list.stderr).to.equal(0);
    const rows = JSON.parse(list.stdout).archives as Record<string, unknown>[];
    expect(rows.map((r) => String(r.location).split('/').pop())).to.deep.equal([
      'a-0d.tar.age',
      'a-10d.tar.age',
      'a-1d.tar.age',
      'a-5d.tar.age',
      'b-20d.tar.age',
      'b-2d.tar.age',
      'junk.tar',
      'other-key.tar.age',
    ]);
    expect(rows[4]).to.include({ app: 'beta', namespace: 'ns1', context: 'c1', encryption: 'age' });
    expect(rows[4].createdAt).to.equal(new Date(now - 20 * DAY).toISOString());
    expect(rows[4].size).to.be.greaterThan(0);
    expect(rows[6].problem).to.match(/not a kubectl-entando archive/);
    expect(rows[7].problem).to.match(/wrong key/);
    const text = await runCli(['list', folder, '-i', keyFile], env);
    expect(text.stdout.split('\n')[0]).to.match(/^CREATED\s+APP\s+NAMESPACE\s+CONTEXT\s+SIZE/);

    const dry = await runCli(
      ['prune', folder, '--keep-last', '2', '--dry-run', '-i', keyFile],
      env,
    );
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/would delete .*a-10d\.tar\.age/);
    expect(dry.stdout).to.match(/would delete .*a-5d\.tar\.age/);
    expect(dry.stdout).to.not.match(/would delete .*b-20d/); // beta has only two
    expect(dry.stdout).to.match(/would keep .*b-20d\.tar\.age .*: last archive\n/);
    expect(dry.stdout).to.match(
      /would keep .*a-0d\.tar\.age .*: last archive, newest archive that verified whole/,
    );
    expect(await keysUnder(s3, `${prefix}retention/`)).to.have.length(9);

    const byApp = await runCli(
      ['prune', folder, '--keep-last', '2', '--app', 'alpha', '-i', keyFile],
      env,
    );
    expect(byApp.code, byApp.stderr).to.equal(0);
    expect(byApp.stdout).to.match(/deleted 2 of 8/);
    expect(byApp.stderr).to.match(/left alone: .*junk\.tar/);
    expect(byApp.stderr).to.match(/left alone: .*other-key\.tar\.age/);
    const within = await runCli(['prune', folder, '--keep-within', '3d', '-i', keyFile], env);
    expect(within.code, within.stderr).to.equal(0);
    expect(
      (await keysUnder(s3, `${prefix}retention/`)).map((k) => k.split('/').pop()),
    ).to.deep.equal([
      'a-0d.tar.age',
      'a-1d.tar.age',
      'b-2d.tar.age',
      'junk.tar',
      'notes.txt',
      'other-key.tar.age',
    ]);

    // The same on a local directory.
    const local = await runCli(['prune', dir, '--keep-last', '1', '-i', keyFile, '-o', 'json'], {});
    expect(local.code, local.stderr).to.equal(0);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['a-0d.tar.age', 'b-2d.tar.age', 'junk.tar']);
    const localList = await runCli(['list', dir, '-i', keyFile, '-o', 'json'], {});
    expect(JSON.parse(localList.stdout).archives.map((r: { app?: string }) => r.app)).to.deep.equal(
      ['alpha', 'beta', undefined],
    );
  });

  /** A backup as its own process, stopped once its multipart upload is under way. */
  async function backupUntilUploading(key: string) {
    const child = spawnCli(
      [
        'backup',
        ...kube,
        '--context',
        SOURCE,
        '-n',
        sourceNs,
        '-r',
        scenario.id.recipient,
        '-f',
        `s3://${BUCKET}/${key}`,
      ],
      { ...env, KUBECTL_ENTANDO_S3_PART_MB: '5' },
    );
    const done = exited(child);
    await waitFor(
      'a multipart upload under way',
      async () => ((await uploadsUnder(s3, key)).length > 0 ? true : undefined),
      60_000,
      50,
    );
    return { child, done };
  }

  it('Ctrl-C mid-upload: the upload is aborted, no object, no unfinished multipart upload', async () => {
    const key = `${prefix}interrupted.tar.age`;
    const { child, done } = await backupUntilUploading(key);
    child.kill('SIGINT');
    const code = await done;
    expect(code, child.err()).to.equal(130);
    expect(child.err()).to.match(/interrupted: no archive was written/);
    expect(await keysUnder(s3, key)).to.deep.equal([]);
    expect(await uploadsUnder(s3, key)).to.deep.equal([]);
  });

  it('the S3 server stopped mid-upload: the backup fails saying so, and aborts the upload once the server is back', async () => {
    const key = `${prefix}server-stopped.tar.age`;
    const { child, done } = await backupUntilUploading(key);
    await sandboxS3('down');
    await waitFor(
      'the CLI retrying to abort',
      async () => (/retrying to abort the multipart upload/.test(child.err()) ? true : undefined),
      60_000,
      200,
    );
    await sandboxS3('up');
    const code = await done;
    expect(code, child.err()).to.equal(1);
    expect(child.err()).to.match(
      /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    expect(child.err()).to.not.match(/could not abort/);
    expect(await keysUnder(s3, key)).to.deep.equal([]);
    expect(await uploadsUnder(s3, key)).to.deep.equal([]);
  });

  it('wrong keys, a missing bucket, a denied identity, a dead endpoint, a non-archive: one line each', async () => {
    const backup = (url: string, e: NodeJS.ProcessEnv) =>
      runCli(
        [
          'backup',
          ...kube,
          '--context',
          SOURCE,
          '-n',
          sourceNs,
          '-r',
          scenario.id.recipient,
          '-f',
          url,
        ],
        e,
      );
    const key = `s3://${BUCKET}/${prefix}refused.tar.age`;
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${prefix}junk/x.tar`,
        Body: 'not a tar at all',
      }),
    );
    const cases: [string, () => Promise<{ code: number; stderr: string }>, number, RegExp][] = [
      [
        'wrong secret key',
        () => backup(key, { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' }),
        2,
        /S3 rejected the signature \(SignatureDoesNotMatch\).*secret key is wrong/,
      ],
      [
        'unknown access key',
        () => backup(key, { ...env, AWS_ACCESS_KEY_ID: 'NOSUCHKEY' }),
        2,
        /S3 does not know the access key \(InvalidAccessKeyId\)/,
      ],
      [
        'missing bucket',
        () => backup(`s3://no-such-bucket-${suffix}/x.tar.age`, env),
        2,
        new RegExp(`bucket no-such-bucket-${suffix} does not exist at http://127.0.0.1:\\d+`),
      ],
      [
        'denied identity',
        async () => backup(key, await s3Env('denied')),
        2,
        /access denied to write s3:\/\/.*: the identity needs s3:GetObject .*s3:PutObject/,
      ],
      [
        'endpoint down',
        () => backup(key, { ...env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }),
        1,
        /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/,
      ],
      [
        'not an archive',
        () => runCli(['inspect', `s3://${BUCKET}/${prefix}junk/x.tar`, '-i', keyFile], env),
        2,
        /junk\/x\.tar is not a kubectl-entando archive/,
      ],
      [
        'no such key',
        () => runCli(['verify', `s3://${BUCKET}/${prefix}nothing.tar.age`, '-i', keyFile], env),
        2,
        /nothing\.tar\.age does not exist/,
      ],
    ];
    const messages = new Set<string>();
    for (const [name, running, code, message] of cases) {
      const r = await running();
      expect(r.code, `${name}: ${r.stderr}`).to.equal(code);
      // One error line (warnings about the app, e.g. its Keycloak, may come first).
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(lines, `${name}: ${r.stderr}`).to.have.length(1);
      expect(lines[0], name).to.match(message);
      messages.add(lines[0].replace(/s3:\/\/\S+/g, ''));
    }
    expect(messages.size).to.equal(cases.length);
    expect(await keysUnder(s3, `${prefix}refused`)).to.deep.equal([]);
    expect(await uploadsUnder(s3, prefix)).to.deep.equal([]);
  });
});
