import { expect } from 'chai';
import { nextRun, parseCron } from '../../src/schedule/cron.js';
import { UserError } from '../../src/errors.js';

const next = (expr: string, after: string) =>
  nextRun(parseCron(expr), new Date(after))?.toISOString();

describe('schedule cron: next run (UTC)', () => {
  const cases: [string, string, string][] = [
    ['0 2 * * *', '2026-05-31T01:59:00Z', '2026-05-31T02:00:00.000Z'],
    ['0 2 * * *', '2026-05-31T02:00:00Z', '2026-06-01T02:00:00.000Z'],
    ['0 2 * * *', '2026-12-31T03:00:00Z', '2027-01-01T02:00:00.000Z'],
    ['*/15 * * * *', '2026-05-31T10:07:31Z', '2026-05-31T10:15:00.000Z'],
    ['5-10/5 * * * *', '2026-05-31T10:06:00Z', '2026-05-31T10:10:00.000Z'],
    ['0 0 * * 0', '2026-05-27T12:00:00Z', '2026-05-31T00:00:00.000Z'], // Wednesday -> Sunday
    ['0 3 * * MON-FRI', '2026-05-30T04:00:00Z', '2026-06-01T03:00:00.000Z'], // Saturday -> Monday
    ['30 4 1,15 * *', '2026-05-02T00:00:00Z', '2026-05-15T04:30:00.000Z'],
    ['0 0 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'], // leap day
    ['0 0 1 jan *', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    // Both day fields restricted: either matches (the 13th, or a Friday).
    ['0 0 13 * 5', '2026-05-01T00:00:00Z', '2026-05-08T00:00:00.000Z'],
    ['0 12 ? * *', '2026-05-31T12:00:00Z', '2026-06-01T12:00:00.000Z'],
    ['@daily', '2026-05-31T00:00:00Z', '2026-06-01T00:00:00.000Z'],
    ['@hourly', '2026-05-31T10:30:00Z', '2026-05-31T11:00:00.000Z'],
    ['@weekly', '2026-05-31T00:00:00Z', '2026-06-07T00:00:00.000Z'],
    ['@monthly', '2026-05-31T00:00:00Z', '2026-06-01T00:00:00.000Z'],
    ['0 */6 * * *', '2026-05-31T23:00:00Z', '2026-06-01T00:00:00.000Z'],
    ['10/20 * * * *', '2026-05-31T10:31:00Z', '2026-05-31T10:50:00.000Z'],
  ];
  for (const [expr, after, want] of cases) {
    it(`"${expr}" after ${after} is ${want}`, () => {
      expect(next(expr, after)).to.equal(want);
    });
  }

  it('no date at all (30 February): undefined', () => {
    expect(next('0 0 30 2 *', '2026-01-01T00:00:00Z')).to.equal(undefined);
  });

  const bad: [string, RegExp][] = [
    ['0 2 * *', /5 fields expected/],
    ['0 2 * * * *', /5 fields expected/],
    ['60 * * * *', /minute "60": 60 is outside 0-59/],
    ['* 24 * * *', /hour/],
    ['* * 0 * *', /day of month/],
    ['* * * 13 *', /month/],
    ['* * * * 7', /day of week "7": 7 is outside 0-6/],
    ['*/0 * * * *', /a step is at least 1/],
    ['10-5 * * * *', /runs backwards/],
    ['x * * * *', /not a number/],
    ['@every 1h', /unknown macro/],
    ['1,,2 * * * *', /not a number, range, step or list/],
  ];
  for (const [expr, message] of bad) {
    it(`refuses "${expr}" with one line`, () => {
      expect(() => parseCron(expr))
        .to.throw(UserError, message)
        .with.property('message')
        .that.does.not.include('\n');
    });
  }
});
