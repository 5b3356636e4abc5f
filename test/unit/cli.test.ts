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
      Buffer.from('{}'),
    );
    w.manifest.components.resources = { counts: { ConfigMap: 1 }, objects: [] };
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
      .and.match(/entando:\s+7.3.0/);
    const json = JSON.parse(
      (await runCli(['inspect', archive, '-i', keyFile, '-o', 'json'])).stdout,
    );
    expect(json.source.app).to.equal('qs');
    expect(json.entries).to.have.length(1);
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
