import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { generateIdentity } from '../../src/archive/age/index.js';
import { encryptionKeys } from '../../src/archive/encryption.js';
import { resourcePath } from '../../src/archive/layout.js';
import { newManifest } from '../../src/archive/manifest.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;

/** An archive of app qs created `daysAgo`, holding one ConfigMap whose data is `payload`. */
async function archive(file: string, daysAgo: number, payload: string, recipient?: string) {
  const keys = recipient ? await encryptionKeys({ recipient: [recipient] }, { env: {} }) : null;
  const w = await ArchiveWriter.open(
    file,
    newManifest(
      { name: 'kubectl-entando', version: 'test' },
      { server: 's', context: 'c', namespace: 'ns', app: 'qs' },
      new Date(Date.now() - daysAgo * DAY),
    ),
    keys ? { encryptor: await keys.encryptor() } : {},
  );
  await w.addBuffer(
    resourcePath({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'x' }),
    Buffer.from(payload),
  );
  await w.commit();
}

/** Flips a byte of the payload: the manifest still reads, the entry's sha256 no longer matches. */
function damage(file: string, payload: string) {
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(payload);
  expect(at, 'payload stored as is').to.be.greaterThan(0);
  bytes[at] ^= 0x01;
  fs.writeFileSync(file, bytes);
}

describe('prune: the keep rules and the last good archive, through the CLI', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;
  beforeEach(async () => {
    tmp = tempDir();
    dir = path.join(tmp.dir, 'archives');
    fs.mkdirSync(dir);
    await archive(path.join(dir, 'old.tar'), 3, 'PAYLOAD-old');
    await archive(path.join(dir, 'mid.tar'), 2, 'PAYLOAD-mid');
    await archive(path.join(dir, 'new.tar'), 1, 'PAYLOAD-new');
  });
  afterEach(() => tmp.cleanup());

  it('a damaged newest archive: the last good one is kept and said so; --dry-run lists keep and delete with reasons', async () => {
    damage(path.join(dir, 'new.tar'), 'PAYLOAD-new');
    const dry = await runCli(['prune', dir, '--keep-last', '1', '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/would keep .*new\.tar .*: damaged \(.*sha256.*\): kept/);
    expect(dry.stdout).to.match(
      /would keep .*mid\.tar .*: last archive, newest archive that verified whole\n/,
    );
    expect(dry.stdout).to.match(/would delete .*old\.tar/);
    expect(dry.stdout).to.match(/dry run: would delete 1 of 3, kept 2/);
    expect(dry.stderr).to.match(
      /warning: series c\/ns\/qs: the newest archive is damaged \(.*new\.tar: .*\): kept the last good one, .*mid\.tar of /,
    );
    expect(fs.readdirSync(dir)).to.have.length(3);

    const real = await runCli(['prune', dir, '--keep-last', '1', '-o', 'json']);
    expect(real.code, real.stderr).to.equal(0);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['mid.tar', 'new.tar']);
    const json = JSON.parse(real.stdout);
    expect(json.warnings).to.have.length(1);
    expect(json.decisions.map((d: { action: string }) => d.action)).to.deep.equal([
      'keep',
      'keep',
      'delete',
    ]);
  });

  it('none damaged: the rules alone; the new flags and their checks', async () => {
    const r = await runCli(['prune', dir, '--keep-daily', '1']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/warning/);
    expect(fs.readdirSync(dir)).to.deep.equal(['new.tar']);
    const all = await runCli(['prune', dir, '--keep-weekly', 'unlimited', '--dry-run']);
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout).to.match(/weekly archive/);
    for (const bad of [
      ['--keep-daily', '0'],
      ['--keep-hourly', '1.5'],
      ['--keep-monthly', 'x'],
    ]) {
      const b = await runCli(['prune', dir, ...bad]);
      expect(b.code, bad.join(' ')).to.equal(2);
      expect(b.stderr).to.match(/must be a whole number of at least 1, or -1 \(unlimited\)/);
    }
    const none = await runCli(['prune', dir]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.match(/say what to keep: --keep-last, --keep-hourly/);
    const within = await runCli(['prune', dir, '--keep-within', '14 days']);
    expect(within.code).to.equal(2);
    expect(within.stderr).to.match(/not a duration/);
  });

  it('encrypted archives and no key: refused in one line, nothing deleted', async () => {
    const id = generateIdentity();
    await archive(path.join(dir, 'enc.tar.age'), 5, 'PAYLOAD-enc', id.recipient);
    const r = await runCli(['prune', dir, '--keep-last', '1']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(
      /^error: prune: no key given to read 1 encrypted archive .*: pass -i\/--identity FILE or --passphrase-file FILE\n$/,
    );
    expect(fs.readdirSync(dir)).to.have.length(4);
  });
});
