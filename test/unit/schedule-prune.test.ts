import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe("schedule's prune: --by-name, no key", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('by-name-')));
  afterEach(() => cleanup());

  const put = (name: string, body = 'age-encryption.org/v1\n-> X25519 stanza\n') =>
    fs.writeFileSync(path.join(dir, name), body);
  const left = () => fs.readdirSync(dir).sort();

  it('keeps by the rules, dates from the names, leaves other names alone', async () => {
    for (const d of ['27', '28', '29', '30', '31']) put(`qs-entando-202605${d}T020000Z.tar.age`);
    put('other-entando-20260501T020000Z.tar.age'); // another app
    put('qs-entando-backup.tar.age'); // not a default name
    put('qs-entando-20260501T020000Z.tar'); // not encrypted: not the schedule's
    const r = await runCli(['prune', dir, '--keep-last', '2', '--by-name', 'entando/qs']);
    expect(r.code, r.stderr).to.equal(0);
    expect(left()).to.deep.equal([
      'other-entando-20260501T020000Z.tar.age',
      'qs-entando-20260501T020000Z.tar',
      'qs-entando-20260530T020000Z.tar.age',
      'qs-entando-20260531T020000Z.tar.age',
      'qs-entando-backup.tar.age',
    ]);
    expect(r.stdout).to.include('deleted 3 of 8');
  });

  it('a newest archive that is not an age file is kept and not counted', async () => {
    for (const d of ['28', '29', '30']) put(`qs-entando-202605${d}T020000Z.tar.age`);
    put('qs-entando-20260531T020000Z.tar.age', 'garbage');
    const r = await runCli([
      'prune',
      dir,
      '--keep-last',
      '1',
      '--by-name',
      'entando/qs',
      '--dry-run',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as {
      decisions: { name?: string; location?: string; action: string; reason: string }[];
    };
    const actions = out.decisions.map((d) => `${d.action}: ${d.reason}`);
    expect(actions).to.deep.include.members([
      'keep: last archive, newest archive (by name; its age header checked, no key to verify it)',
    ]);
    expect(actions.filter((a) => a.startsWith('delete'))).to.have.length(2);
    expect(
      actions.some((a) => a.startsWith('keep: damaged (does not start as an age file)')),
    ).to.equal(true);
  });

  it('refuses a malformed --by-name', async () => {
    const r = await runCli(['prune', dir, '--keep-last', '1', '--by-name', 'qs']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/NAMESPACE\/APP expected/);
  });
});
