import { UserError } from '../errors.js';

/**
 * The keep rules of prune, computed as restic's `forget` does (restic/restic,
 * internal/data/snapshot_policy.go, ApplyPolicy; doc/060_forget.rst), over the archives of one
 * series. docs/retention.md says what differs: buckets are UTC, not local time, and the
 * duration units are ours.
 */
export interface KeepRules {
  /** The N newest. For every count here -1 means all (restic's "unlimited"). */
  last?: number;
  /** The newest of each of the last N hours (UTC) that have an archive. */
  hourly?: number;
  daily?: number;
  /** ISO weeks, Monday to Sunday (UTC). */
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Everything created within this long before the newest archive (not before now). */
  within?: RetentionDuration;
}

/** A `--keep-within` duration: calendar months (and years) and a fixed part. */
export interface RetentionDuration {
  /** As the user wrote it, for reasons: `within 30d`. */
  text: string;
  /** Calendar months (a year is 12), subtracted as restic does (Go's AddDate). */
  months: number;
  /** Weeks, days, hours, minutes, seconds: UTC days are always 24 hours. */
  ms: number;
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * `30d`, `12h`, `2w`, `1d12h`, `90m`, `6mo`, `1y` (s, m for minutes, h, d, w, mo for calendar
 * months, y for calendar years). Not restic's syntax, where `m` is a month.
 */
export function parseDuration(text: string): RetentionDuration {
  const parts = [...text.matchAll(/(\d+)(mo|y|[smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UserError(
      `--keep-within ${text}: not a duration (use a number and a unit: 30d, 12h, 2w, 1d12h, 6mo, 1y)`,
    );
  }
  const d: RetentionDuration = { text, months: 0, ms: 0 };
  for (const [, n, unit] of parts) {
    if (unit === 'y') d.months += 12 * Number(n);
    else if (unit === 'mo') d.months += Number(n);
    else d.ms += Number(n) * UNITS[unit];
  }
  if (d.months === 0 && d.ms === 0) {
    throw new UserError(`--keep-within ${text}: must be longer than nothing`);
  }
  return d;
}

/** The instant `d` before `t`: calendar months first, normalised as Go's AddDate does. */
export function before(t: Date, d: RetentionDuration): Date {
  const back = new Date(t.getTime());
  back.setUTCMonth(t.getUTCMonth() - d.months);
  return new Date(back.getTime() - d.ms);
}

/** ISO 8601 week of `t` (UTC) as YYYYWW, like Go's Time.ISOWeek. */
export function isoWeek(t: Date): number {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  // The Thursday of the same Monday-to-Sunday week decides the year.
  day.setUTCDate(day.getUTCDate() + 4 - (day.getUTCDay() || 7));
  const year = day.getUTCFullYear();
  const week = Math.floor((day.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return year * 100 + week;
}

type Bucket = (t: Date, nr: number) => number;

const hour: Bucket = (t) =>
  ((t.getUTCFullYear() * 100 + t.getUTCMonth() + 1) * 100 + t.getUTCDate()) * 100 + t.getUTCHours();
const day: Bucket = (t) => Math.floor(hour(t, 0) / 100);
const week: Bucket = (t) => isoWeek(t);
const month: Bucket = (t) => t.getUTCFullYear() * 100 + t.getUTCMonth() + 1;
const year: Bucket = (t) => t.getUTCFullYear();
const always: Bucket = (_t, nr) => nr;

/** True when no rule is set: prune refuses that rather than delete everything. */
export function noRules(rules: KeepRules): boolean {
  const { last, hourly, daily, weekly, monthly, yearly, within } = rules;
  return [last, hourly, daily, weekly, monthly, yearly, within].every((r) => r === undefined);
}

/**
 * Why each archive is kept (empty: it goes), in the order of `times`. As restic: the archives
 * are taken newest first (ties in the given order); each count rule keeps the newest of each
 * of the last N distinct buckets that have an archive, and, while it still has counts left,
 * also the oldest archive ("oldest daily archive"); `within` keeps what is strictly newer than
 * the newest archive (that is not in the future) minus the duration. Kept by any rule is kept.
 */
export function keepReasons(times: Date[], rules: KeepRules, now: Date): string[][] {
  const order = times.map((_, i) => i).sort((a, b) => times[b].getTime() - times[a].getTime());
  const reasons: string[][] = times.map(() => []);
  const buckets: { count: number; key: Bucket; reason: string; seen?: number }[] = [
    { count: rules.last ?? 0, key: always, reason: 'last archive' },
    { count: rules.hourly ?? 0, key: hour, reason: 'hourly archive' },
    { count: rules.daily ?? 0, key: day, reason: 'daily archive' },
    { count: rules.weekly ?? 0, key: week, reason: 'weekly archive' },
    { count: rules.monthly ?? 0, key: month, reason: 'monthly archive' },
    { count: rules.yearly ?? 0, key: year, reason: 'yearly archive' },
  ];
  // restic: relative to the newest archive that is not in the future; with none such,
  // everything is within.
  const past = times.map((t) => t.getTime()).filter((t) => t < now.getTime());
  const cutoff = !rules.within
    ? undefined
    : past.length === 0
      ? -Infinity
      : before(new Date(past.reduce((a, b) => Math.max(a, b))), rules.within).getTime();
  order.forEach((index, nr) => {
    const t = times[index];
    const why = reasons[index];
    if (cutoff !== undefined && t.getTime() > cutoff) {
      why.push(`within ${rules.within!.text}`);
    }
    const oldest = nr === order.length - 1;
    for (const b of buckets) {
      if (b.count === 0) continue;
      const value = b.key(t, nr);
      if (value !== b.seen || oldest) {
        why.push(value === b.seen ? `oldest ${b.reason}` : b.reason);
        b.seen = value;
        if (b.count > 0) b.count--;
      }
    }
  });
  return reasons;
}
