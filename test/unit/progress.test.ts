import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { StreamProgress, progressMode } from '../../src/report/progress.js';
import { keyKindOf, nextRestoreCommand, shellQuote } from '../../src/report/summary.js';

function sink(isTTY: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  s.isTTY = isTTY;
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { s, text: () => Buffer.concat(chunks).toString() };
}

describe('progress', () => {
  it('chooses the mode: bars on a terminal, plain when piped, nothing with -q but explicit json', () => {
    expect(progressMode('auto', { isTTY: true } as never, false)).to.equal('bars');
    expect(progressMode('auto', { isTTY: false } as never, false)).to.equal('plain');
    expect(progressMode('auto', { isTTY: true } as never, true)).to.equal('none');
    expect(progressMode('plain', undefined, true)).to.equal('none');
    expect(progressMode('json', undefined, true)).to.equal('json');
  });

  it('json: one object per line; a stream past its estimate keeps counting, no time left', async () => {
    const out = sink(false);
    const p = StreamProgress.for('json', out.s, false);
    p.expect('files a', 100);
    p.expect('database b', undefined);
    p.add('files a', 50);
    p.add('database b', 10);
    await new Promise((r) => setTimeout(r, 1100));
    p.add('files a', 100);
    p.finish('files a');
    p.finish('database b');
    p.stop();
    p.log('warning: after the end');
    const events = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.type)).to.deep.equal([
      'stream',
      'stream',
      'progress',
      'total',
      'progress',
      'progress',
      'total',
      'done',
      'done',
      'end',
      'message',
    ]);
    expect(events[1]).to.include({ stream: 'database b', estimate: null });
    const over = events[5];
    expect(over).to.include({ stream: 'files a', bytes: 150, percent: 99, etaSeconds: null });
    expect(events[7]).to.include({ stream: 'files a', bytes: 150 });
    expect(events[9]).to.include({ type: 'end', bytes: 160 });
  });

  it('piped (auto): silent for a short run; plain: a line per finished stream', () => {
    const quiet = sink(false);
    const p = StreamProgress.for('auto', quiet.s, false);
    p.expect('x', 10);
    p.add('x', 10);
    p.finish('x');
    p.stop();
    expect(quiet.text()).to.equal('');
    const plain = sink(false);
    const q = StreamProgress.for('plain', plain.s, false);
    q.expect('x', 10);
    q.add('x', 20);
    q.finish('x');
    q.stop();
    expect(plain.text()).to.match(/^progress: total .*\ndone x: 20 B in /);
    expect(plain.text()).to.not.contain('\x1b[');
  });

  it('summary: the restore to run next names the archive and the key flag it needs', () => {
    expect(keyKindOf('1 age recipient')).to.equal('recipients');
    expect(keyKindOf('passphrase (age scrypt)')).to.equal('passphrase');
    expect(keyKindOf(undefined)).to.equal('none');
    expect(nextRestoreCommand("/tmp/my app's.tar.age", 'recipients', 'qs')).to.equal(
      "kubectl entando restore '/tmp/my app'\\''s.tar.age' -i AGE-IDENTITY-FILE --to-context TARGET-CONTEXT --to-namespace qs --dry-run",
    );
    expect(nextRestoreCommand('a.tar', 'none', 'qs')).to.not.contain(' -i ');
    expect(shellQuote('plain-name.tar.age')).to.equal('plain-name.tar.age');
  });
});
