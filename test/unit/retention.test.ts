import { expect } from 'chai';
import { UserError } from '../../src/errors.js';
import type { CatalogRow } from '../../src/storage/catalog.js';
import { FileLocation } from '../../src/storage/file.js';
import {
  applyRetention,
  LAST_GOOD,
  parseDuration,
  type RetentionPolicy,
  type WholeCheck,
} from '../../src/storage/retention.js';

const utc = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
const DAY = 86_400_000;

describe('retention: never delete the newest archive that verified whole', () => {
  const now = utc('2026-06-01 12:00:00');
  const row = (name: string, daysAgo: number, app = 'qs'): CatalogRow => ({
    stored: { location: new FileLocation(name), size: 1, modified: now },
    source: { server: 's', context: 'c', namespace: 'ns', app },
    createdAt: new Date(now.getTime() - daysAgo * DAY),
    encrypted: true,
  });
  /** A fake verify: the names given are damaged; records what it was asked. */
  function checker(...damaged: string[]) {
    const asked: string[] = [];
    const isWhole: WholeCheck = async (r) => {
      const name = r.stored.location.name;
      asked.push(name);
      return damaged.includes(name)
        ? { whole: false, problem: `entry x of ${name} does not match its sha256` }
        : { whole: true };
    };
    return { asked, isWhole };
  }
  const five = () => [row('d4', 4), row('d0', 0), row('d2', 2), row('d1', 1), row('d3', 3)];
  async function run(rows: CatalogRow[], policy: RetentionPolicy, damaged: string[] = []) {
    const c = checker(...damaged);
    const result = await applyRetention(rows, policy, { now, isWhole: c.isWhole });
    const by = (action: string) =>
      result.decisions.filter((d) => d.action === action).map((d) => d.row.stored.location.name);
    const reasons = Object.fromEntries(
      result.decisions.map((d) => [d.row.stored.location.name, d.reason]),
    );
    return { ...result, asked: c.asked, kept: by('keep'), deleted: by('delete'), reasons };
  }

  it('none damaged: only the newest is verified, and protected', async () => {
    const r = await run(five(), { last: 2 });
    expect(r.asked).to.deep.equal(['d0']);
    expect(r.deleted).to.deep.equal(['d4', 'd2', 'd3']);
    expect(r.reasons.d0).to.equal(`last archive, ${LAST_GOOD}`);
    expect(r.reasons.d1).to.equal('last archive');
    expect(r.reasons.d4).to.equal('no keep rule matched');
    expect(r.warnings).to.deep.equal([]);
  });

  it('the 2 newest damaged: verified down to the first whole one, which is kept and said so; the rules count from it', async () => {
    const r = await run(five(), { last: 1 }, ['d0', 'd1']);
    expect(r.asked).to.deep.equal(['d0', 'd1', 'd2']);
    expect(r.kept).to.deep.equal(['d0', 'd2', 'd1']);
    expect(r.deleted).to.deep.equal(['d4', 'd3']);
    expect(r.reasons.d2).to.equal(`last archive, ${LAST_GOOD}`);
    expect(r.reasons.d0).to.match(/^damaged \(entry x of d0 does not match its sha256\): kept/);
    const damaged = r.decisions.filter((d) => d.damaged).map((d) => d.row.stored.location.name);
    expect(damaged).to.deep.equal(['d0', 'd1']);
    expect(r.warnings).to.deep.equal([
      `series c/ns/qs: the 2 newest archives are damaged (d0: entry x of d0 does not match its sha256; d1: entry x of d1 does not match its sha256): kept the last good one, d2 of ${new Date(now.getTime() - 2 * DAY).toISOString()}`,
    ]);
  });

  it('damaged ones are not counted: --keep-daily 2 keeps two good days, and --keep-within counts from the last good one', async () => {
    const daily = await run(five(), { daily: 2 }, ['d0']);
    expect(daily.kept).to.deep.equal(['d0', 'd2', 'd1']);
    expect(daily.reasons.d1).to.equal(`daily archive, ${LAST_GOOD}`);
    const within = await run(five(), { within: parseDuration('1d12h') }, ['d0', 'd1']);
    expect(within.kept).to.deep.equal(['d0', 'd2', 'd1', 'd3']);
    expect(within.deleted).to.deep.equal(['d4']);
  });

  it('all damaged: none deleted, and said so; the oldest is not verified, the rules keep it anyway', async () => {
    const r = await run(five(), { last: 1 }, ['d0', 'd1', 'd2', 'd3', 'd4']);
    expect(r.asked).to.deep.equal(['d0', 'd1', 'd2', 'd3']);
    expect(r.deleted).to.deep.equal([]);
    expect(r.reasons.d4).to.equal('last archive');
    expect(r.warnings).to.have.length(1);
    expect(r.warnings[0]).to.match(
      /^series c\/ns\/qs: the 4 newest archives are damaged \(d0: .*; d3: .*\): none verified whole and none deleted: the older one is kept by the rules, not verified$/,
    );
  });

  it('verifies nothing when the rules delete nothing, and stops once the rest is all kept', async () => {
    const none = await run(five(), { last: 10 }, ['d0']);
    expect(none.asked).to.deep.equal([]);
    expect(none.deleted).to.deep.equal([]);
    expect(none.warnings).to.deep.equal([]);
    // d0 is damaged; without it the rest is 4 archives, all kept by --keep-last 4.
    const rest = await run(five(), { last: 4 }, ['d0', 'd1']);
    expect(rest.asked).to.deep.equal(['d0']);
    expect(rest.deleted).to.deep.equal([]);
    expect(rest.warnings[0]).to.match(
      /the newest archive is damaged \(d0: .*\): none verified whole and none deleted: the 4 older ones are kept by the rules, not verified$/,
    );
  });

  it('per series: each verifies its own newest; other apps and unidentified archives are never verified nor deleted', async () => {
    const rows = [
      ...five(),
      row('b0', 0, 'other'),
      row('b1', 1, 'other'),
      {
        stored: { location: new FileLocation('junk.tar'), size: 1, modified: now },
        problem: 'not a kubectl-entando archive',
        problemKind: 'not-an-archive' as const,
      },
    ];
    const all = await run(rows, { last: 1 });
    expect(all.asked).to.deep.equal(['d0', 'b0']);
    expect(all.deleted).to.deep.equal(['d4', 'd2', 'd1', 'd3', 'b1']);
    const one = await run(rows, { last: 1, app: 'other' });
    expect(one.asked).to.deep.equal(['b0']);
    expect(one.decisions.find((d) => d.row.stored.location.name === 'junk.tar')!.action).to.equal(
      'skip',
    );
  });

  it('a verification that fails for another reason (the store) fails the decision; no key is refused', async () => {
    const broken: WholeCheck = async () => {
      throw new Error('connect ECONNRESET');
    };
    let err: unknown;
    await applyRetention(five(), { last: 1 }, { now, isWhole: broken }).catch((e) => (err = e));
    expect(String(err)).to.match(/ECONNRESET/);
    const locked: CatalogRow = {
      stored: { location: new FileLocation('x.tar.age'), size: 1, modified: now },
      problem: 'the archive is encrypted to age recipients: pass --identity FILE',
      problemKind: 'no-key',
    };
    err = undefined;
    await applyRetention(
      [...five(), locked],
      { last: 1 },
      { now, isWhole: checker().isWhole },
    ).catch((e) => (err = e));
    expect(err).to.be.instanceOf(UserError);
    expect(String(err)).to.match(
      /no key given to read 1 encrypted archive .*: pass -i\/--identity FILE/,
    );
  });
});
