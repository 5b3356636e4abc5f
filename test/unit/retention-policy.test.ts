import { expect } from 'chai';
import {
  isoWeek,
  keepReasons,
  parseDuration,
  type KeepRules,
} from '../../src/storage/retention-policy.js';
import { RESTIC_CASES, RESTIC_TIMES } from './data/restic-policy.js';

const utc = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
const DAY = 86_400_000;
const FAR = new Date('2100-01-01T00:00:00Z');
/** What keepReasons keeps, newest first (ties in input order), as `time|reason,reason`. */
function kept(times: Date[], rules: KeepRules, now = FAR): string[] {
  const reasons = keepReasons(times, rules, now);
  return times
    .map((t, i) => ({ t, i }))
    .sort((a, b) => b.t.getTime() - a.t.getTime())
    .filter(({ i }) => reasons[i].length > 0)
    .map(({ t, i }) => `${t.toISOString()}|${reasons[i].join(',')}`);
}

describe('retention: the keep rules, as restic forget', () => {
  const times = RESTIC_TIMES.map(utc);
  for (const c of RESTIC_CASES) {
    const { within, ...counts } = c.policy;
    const rules: KeepRules = { ...counts, ...(within && { within: parseDuration(within) }) };
    it(`restic policy_keep_snapshots_${c.golden}: ${JSON.stringify(c.policy)}`, () => {
      const want = c.kept.map((k) => {
        const [t, why] = k.split('|');
        return `${new Date(t).toISOString()}|${why}`;
      });
      expect(kept(times, rules)).to.deep.equal(want);
    });
  }

  it("restic's documented example (doc/060_forget.rst): --keep-daily 5 with a missed Wednesday", () => {
    const snapshots = [
      '2025-04-21 11:00:00',
      '2025-04-22 11:00:00',
      '2025-04-23 11:00:00',
      '2025-04-24 11:00:00',
      '2025-04-25 11:00:00',
      '2025-04-25 23:00:00',
      '2025-04-28 11:00:00',
      '2025-04-29 11:00:00',
      '2025-05-01 11:00:00',
      '2025-05-02 11:00:00',
      '2025-05-02 23:00:00',
    ].map(utc);
    expect(kept(snapshots, { daily: 5 })).to.deep.equal(
      [
        '2025-05-02 23:00:00',
        '2025-05-01 11:00:00',
        '2025-04-29 11:00:00',
        '2025-04-28 11:00:00',
        '2025-04-25 23:00:00',
      ].map((t) => `${utc(t).toISOString()}|daily archive`),
    );
  });

  it("restic's documented example: a daily backup for 100 years, --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75", () => {
    const days: Date[] = [];
    // Ending on a Sunday, the last of a month and of a year (as the doc's counts assume).
    for (let t = Date.UTC(1924, 0, 1, 3); t <= Date.UTC(2023, 11, 31, 3); t += DAY) {
      days.push(new Date(t));
    }
    const reasons = keepReasons(days, { daily: 7, weekly: 5, monthly: 12, yearly: 75 }, FAR);
    const by = (r: string) => days.filter((_, i) => reasons[i].includes(r));
    const only = (r: string) => days.filter((_, i) => reasons[i].join() === r);
    // "the most recent 7 daily snapshots and 4 last-day-of-the-week ones (since the 7 dailies
    // already include 1 weekly)"
    expect(by('daily archive')).to.have.length(7);
    expect(days.slice(-7)).to.deep.equal(by('daily archive'));
    expect(by('weekly archive')).to.have.length(5);
    expect(only('weekly archive')).to.have.length(4);
    expect(only('weekly archive').every((d) => d.getUTCDay() === 0)).to.equal(true); // Sundays
    // "12 or 11 last-day-of-the-month snapshots ... 75 or 74 last-day-of-the-year"
    expect(by('monthly archive')).to.have.length(12);
    const lastOfMonth = (d: Date) => new Date(d.getTime() + DAY).getUTCDate() === 1;
    expect(only('monthly archive').every(lastOfMonth)).to.equal(true);
    expect(only('monthly archive').length).to.be.within(11, 12);
    expect(by('yearly archive')).to.have.length(75);
    expect(only('yearly archive').length).to.be.within(74, 75);
    const dec31 = (d: Date) => d.getUTCMonth() === 11 && d.getUTCDate() === 31;
    expect(by('yearly archive').every(dec31)).to.equal(true);
    expect(by('yearly archive')[0].getUTCFullYear()).to.equal(1949);
    expect(reasons.filter((r) => r.length > 0)).to.have.length(7 + 4 + 11 + 74);
  });

  it('weeks are ISO weeks (Monday to Sunday, the year of their Thursday), in UTC', () => {
    const cases: [string, number][] = [
      ['2014-12-28 23:59:59', 201452], // Sunday
      ['2014-12-29 00:00:00', 201501], // Monday, already 2015's first week
      ['2016-01-01 12:00:00', 201553], // a Friday in 2015's 53rd week
      ['2016-01-03 23:00:00', 201553],
      ['2016-01-04 00:00:00', 201601],
      ['2021-01-03 00:00:00', 202053],
      ['2026-06-01 00:00:00', 202623],
    ];
    for (const [t, week] of cases) expect(isoWeek(utc(t)), t).to.equal(week);
    // 23:30 UTC on a Sunday is Monday in Berlin: still last week's.
    expect(
      kept([utc('2024-06-09 23:30:00'), utc('2024-06-10 00:30:00')], { weekly: 2 }),
    ).to.have.length(2);
  });

  it('--keep-within counts back from the newest archive, so a stopped backup job expires nothing', () => {
    const now = utc('2026-06-01 00:00:00');
    // The job stopped 90 days ago: relative to now, 30d would keep none of these.
    const old = [95, 92, 91, 90].map((d) => new Date(now.getTime() - d * DAY));
    expect(kept(old, { within: parseDuration('30d') }, now)).to.have.length(4);
    expect(kept(old, { within: parseDuration('2d') }, now)).to.have.length(2); // 90 and 91: strictly after 92
    // An archive dated in the future (a skewed clock) is not the reference, and is kept.
    const future = [...old, new Date(now.getTime() + 10 * DAY)];
    expect(kept(future, { within: parseDuration('2d') }, now)).to.have.length(3);
    // Calendar months, as Go's AddDate: 1mo before March 31 is "February 31", March 3.
    const march = [
      utc('2025-03-03 00:00:00'),
      utc('2025-03-03 00:00:01'),
      utc('2025-03-31 00:00:00'),
    ];
    expect(kept(march, { within: parseDuration('1mo') }, now)).to.have.length(2);
  });

  it('-1 keeps all of a kind, and a count with archives to spare keeps the oldest too', () => {
    const times = [1, 2, 3, 4].map((h) => utc(`2026-01-0${h} 10:00:00`));
    expect(kept(times, { daily: -1 })).to.have.length(4);
    expect(kept(times, { monthly: 3 })).to.deep.equal([
      `${times[3].toISOString()}|monthly archive`,
      `${times[0].toISOString()}|oldest monthly archive`,
    ]);
  });
});
