import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { generateIdentity } from '../../src/archive/age/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { newManifest } from '../../src/archive/manifest.js';
import { encryptionKeys } from '../../src/archive/encryption.js';
import { resourcePath } from '../../src/archive/layout.js';

describe('CLI (in-process)', () => {
  let tmp: ReturnType<typeof tempDir>;
  const id = generateIdentity();
  let keyFile: string;
  let archive: string;
  before(async () => {
    tmp = tempDir();
    keyFile = path.join(tmp.dir, 'key.txt');
    fs.writeFileSync(keyFile, `${id.identity}\n`);
    archive = path.join(tmp.dir, 'qs.tar.age');
    const keys = await encryptionKeys({ recipient: [id.recipient] }, { env: {} });
    const w = await ArchiveWriter.open(
      archive,
      newManifest(
        { name: 'kubectl-entando', version: '0.1.0' },
        { server: 's', context: 'c', namespace: 'ns', app: 'qs', entandoVersion: '7.3.0' },
        new Date(),
      ),
      { encryptor: await keys!.encryptor() },
    );
    await w.addBuffer(
      resourcePath({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'x' }),
      Buffer.from(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { namespace: 'ns', name: 'x' },
        }),
      ),
    );
    w.manifest.versions = {
      entando: { version: '7.3.0', from: 'ConfigMap ns/entando-docker-image-info' },
      keycloak: { version: 'unknown', why: 'not read: --keycloak skip' },
      dbms: [
        {
          server: 'db:5432',
          dbms: 'postgresql',
          location: 'dbms-pod',
          version: '14.8',
          product: 'postgresql',
          image: 'entando/entando-postgres-rocky:v14.8',
          from: 'SELECT version(); in pod ns/db-0',
        },
      ],
    };
    w.manifest.components.resources = {
      counts: { ConfigMap: 1 },
      objects: [],
      handAddedEnv: [
        {
          qualifier: 'main',
          deployment: 'qs-deployment',
          container: 'server-container',
          env: [
            { name: 'CDS_ENABLED', value: 'true' },
            {
              name: 'ENTANDO_TENANTS',
              valueFrom: {
                secretKeyRef: { name: 'entando-tenants-secret', key: 'ENTANDO_TENANTS' },
              },
            },
          ],
          envFrom: [{ configMapRef: { name: 'solr-env' } }],
        },
      ],
    };
    await w.commit();
  });
  after(() => tmp.cleanup());

  it('help reads "kubectl entando" and lists every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).to.equal(0);
    for (const c of ['backup', 'restore', 'inspect', 'verify', 'version', 'completion'])
      expect(r.stdout).to.contain(`kubectl entando ${c}`);
    expect(r.stdout).to.contain('Exit codes');
  });

  it('usage errors exit 2 with one line', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).to.equal(2);
    expect(r.stderr.split('\n')[0]).to.match(/^error: /);
    expect((await runCli([])).code).to.equal(2);
    expect((await runCli(['restore'])).code).to.equal(2);
    expect((await runCli(['inspect', archive, '-o', 'yaml'])).code).to.equal(2);
  });

  it('version as json', async () => {
    const r = await runCli(['version', '-o', 'json']);
    expect(JSON.parse(r.stdout)).to.include({ name: 'kubectl-entando', archiveFormat: 1 });
  });

  it('inspect text and json', async () => {
    const text = await runCli(['inspect', archive, '-i', keyFile]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout)
      .to.match(/age-encrypted/)
      .and.match(/app qs in ns/)
      .and.match(/ConfigMap 1/)
      .and.match(/entando:\s+7.3.0/)
      .and.contain(
        'hand env:   qs-deployment/server-container: CDS_ENABLED, ENTANDO_TENANTS (Secret entando-tenants-secret key ENTANDO_TENANTS), envFrom ConfigMap solr-env',
      );
    const versions = text.stdout.split('\n').filter((l) => l.startsWith('versions:'));
    expect(versions).to.deep.equal([
      'versions:   entando 7.3.0 (ConfigMap ns/entando-docker-image-info)',
      'versions:   keycloak unknown (not read: --keycloak skip)',
      'versions:   postgresql db:5432 14.8 (postgresql; image entando/entando-postgres-rocky:v14.8; SELECT version(); in pod ns/db-0)',
    ]);
    const json = JSON.parse(
      (await runCli(['inspect', archive, '-i', keyFile, '-o', 'json'])).stdout,
    );
    expect(json.source.app).to.equal('qs');
    expect(json.entries).to.have.length(1);
    expect(json.versions.dbms[0].version).to.equal('14.8');
  });

  it('verify: ok, wrong key (2), tampered (1), not an archive (2), no key (2)', async () => {
    expect((await runCli(['verify', archive, '-i', keyFile])).code).to.equal(0);
    const other = path.join(tmp.dir, 'other.txt');
    fs.writeFileSync(other, `${generateIdentity().identity}\n`);
    const wrong = await runCli(['verify', archive, '-i', other]);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.match(/wrong key/);
    const bad = path.join(tmp.dir, 'bad.tar.age');
    const bytes = fs.readFileSync(archive);
    bytes[Math.floor(bytes.length / 2)] ^= 1;
    fs.writeFileSync(bad, bytes);
    const tampered = await runCli(['verify', bad, '-i', keyFile]);
    expect(tampered.code).to.equal(1);
    expect(tampered.stderr, tampered.stderr).to.match(/modified or corrupted|damaged/);
    const notArchive = await runCli(['verify', keyFile]);
    expect(notArchive.code).to.equal(2);
    expect(notArchive.stderr).to.match(/not a kubectl-entando archive/);
    const noKey = await runCli(['verify', archive]);
    expect(noKey.code).to.equal(2);
    expect(noKey.stderr).to.match(/--identity/);
  });

  it('backup and restore refuse bad input before touching a cluster', async () => {
    const kc = await runCli(['backup', '--kubeconfig', path.join(tmp.dir, 'none'), '--no-encrypt']);
    expect(kc.code).to.equal(2);
    expect(kc.stderr).to.match(/kubeconfig .* does not exist/);
    const host = await runCli([
      'restore',
      archive,
      '-i',
      keyFile,
      '--ingress-host',
      'Not A Host',
      '--dry-run',
    ]);
    expect(host.code).to.equal(2);
    expect(host.stderr).to.match(/not a valid DNS host name/);
  });

  it('flag checks exit 2 with their message, before any cluster call', async () => {
    const cases: [string[], string][] = [
      [['backup', '--keycloak-heap', 'x'], '--keycloak-heap must look like 512m or 1g'],
      [
        ['backup', '--keycloak-timeout', '5'],
        '--keycloak-timeout must be a whole number of seconds, at least 10',
      ],
      [['backup', '--file-streams', '65'], '--file-streams must be a whole number from 1 to 64'],
      [['backup', '--parallel', '0'], '--parallel must be a whole number of at least 1'],
      [['compare', '--parallel', '1.5'], '--parallel must be a whole number of at least 1'],
      [
        ['prune', tmp.dir],
        'say what to keep: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly N or --keep-within DURATION',
      ],
      [
        ['prune', tmp.dir, '--keep-last', '0'],
        '--keep-last must be a whole number of at least 1, or -1 (unlimited) for all',
      ],
      [
        ['restore', archive, '--to-namespace', 'Bad_NS'],
        "--to-namespace Bad_NS is not a valid namespace name (lower case letters, digits, '-')",
      ],
      [
        ['restore', archive, '--namespace-map', 'a=b', '--namespace-map', 'a=c'],
        '--namespace-map maps a twice (b and c): keep one',
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).to.equal(2);
      expect(r.stderr).to.equal(`error: ${message}\n`);
      expect(r.stdout).to.equal('');
    }
  });

  it('backup refuses a name list and prune would not find (file and S3), before any cluster call, with the name to use', async () => {
    // A cluster that cannot answer: the refusal must come before any call to it.
    const kubeconfig = path.join(tmp.dir, 'unreachable.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    const file = path.join(tmp.dir, 'nightly');
    const plain = await runCli(['backup', '--kubeconfig', kubeconfig, '--no-encrypt', '-f', file]);
    expect(plain.code, plain.stderr).to.equal(2);
    expect(plain.stderr).to.equal(
      `error: ${file}: an archive's name ends in .tar.age (encrypted) or .tar (--no-encrypt), which list and prune look for: name it ${file}.tar, or end the name with / to write the default name into that folder\n`,
    );
    expect(fs.existsSync(file)).to.equal(false);
    const s3 = await runCli(
      ['backup', '--kubeconfig', kubeconfig, '-r', id.recipient, '-f', 's3://backups/qs/nightly'],
      {
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
        AWS_REGION: 'us-east-1',
      },
    );
    expect(s3.code, s3.stderr).to.equal(2);
    expect(s3.stderr).to.match(
      /^error: s3:\/\/backups\/qs\/nightly: .*name it s3:\/\/backups\/qs\/nightly\.tar\.age, /,
    );
  });

  it('restore --dry-run against an unreachable cluster: the plan, then refused (2); text and JSON', async () => {
    const kubeconfig = path.join(tmp.dir, 'refusing.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    const argv = ['restore', archive, '-i', keyFile, '--kubeconfig', kubeconfig, '--dry-run'];
    const refused = 'error: restore refused: 1 problem found before any change (listed above)\n';
    const text = await runCli([
      ...argv,
      '--to-namespace',
      'qs2',
      '--ingress-host',
      'a.example.com',
    ]);
    expect(text.code).to.equal(2);
    expect(text.stdout.split('\n').slice(0, 2)).to.deep.equal([
      'plan: restore into x/qs2, host a.example.com',
      'preflight problems:',
    ]);
    expect(text.stdout).to.match(/^ {2}- target cluster \(context x\) is not reachable/m);
    expect(text.stderr).to.equal(refused);
    const json = await runCli([...argv, '-o', 'json']);
    expect(json.code).to.equal(2);
    expect(json.stderr).to.equal(refused);
    const doc = JSON.parse(json.stdout);
    expect(doc).to.include({ dryRun: true, archive });
    expect(doc.target).to.deep.equal({
      context: 'x',
      server: 'https://127.0.0.1:9',
      namespace: 'ns',
    });
    expect(doc.steps).to.deep.equal([]);
    expect(doc.problems).to.have.length(1);
  });

  it('prune --dry-run names what it would delete and deletes nothing', async () => {
    const dir = path.join(tmp.dir, 'series');
    fs.mkdirSync(dir);
    for (const name of ['a.tar.age', 'b.tar.age']) fs.copyFileSync(archive, path.join(dir, name));
    const r = await runCli(['prune', dir, '--keep-last', '1', '-i', keyFile, '--dry-run']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(/^would keep \S+\/[ab]\.tar\.age \(qs, created .*\): /);
    expect(lines[1]).to.match(/^would delete \S+\/[ab]\.tar\.age \(qs, created /);
    expect(lines[2]).to.equal('dry run: would delete 1 of 2, kept 1, left alone 0');
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['a.tar.age', 'b.tar.age']);
  });

  it('keygen writes a 0600 identity that never overwrites', async () => {
    const file = path.join(tmp.dir, 'new-key.txt');
    const r = await runCli(['keygen', '-f', file]);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.match(/^age1[0-9a-z]+$/);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect((await runCli(['keygen', '-f', file])).code).to.equal(2);
  });

  it('completion prints a bash script', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.stdout).to.contain('complete -F _kubectl_entando kubectl-entando');
  });
});
