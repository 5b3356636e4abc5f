import { UserError } from '../errors.js';

/**
 * The 5-field cron syntax a CronJob takes (Kubernetes parses it with robfig/cron's standard
 * parser): minute hour day-of-month month day-of-week, each `*`, `?`, a number, a range `a-b`, a
 * step `*\/n` or `a-b/n` or `a/n`, or a list of those; month and weekday names (JAN, MON); the
 * macros @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. As in cron, when
 * both day fields are restricted a day matches either. Times are UTC (the schedule's CronJob
 * says `timeZone: Etc/UTC`).
 */
export interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** The day-of-month / day-of-week field was `*` or `?` (then the other alone decides). */
  anyDay: boolean;
  anyWeekday: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of names[0]. */
  nameBase?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 6, names: WEEKDAYS, nameBase: 0 },
];

export function parseCron(expression: string): Cron {
  const text = expression.trim();
  const expanded = MACROS[text.toLowerCase()] ?? text;
  if (expanded.startsWith('@')) {
    throw new UserError(
      `--cron ${JSON.stringify(expression)}: unknown macro (use ${Object.keys(MACROS).join(', ')} or 5 fields)`,
    );
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) {
    throw new UserError(
      `--cron ${JSON.stringify(expression)}: 5 fields expected (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"`,
    );
  }
  const sets = parts.map((p, i) => parseField(p, FIELDS[i], expression));
  return {
    minutes: sets[0],
    hours: sets[1],
    days: sets[2],
    months: sets[3],
    weekdays: sets[4],
    anyDay: isAny(parts[2]),
    anyWeekday: isAny(parts[4]),
  };
}

const isAny = (field: string) => field === '*' || field === '?';

function parseField(field: string, spec: FieldSpec, expression: string): Set<number> {
  const bad = (why: string) =>
    new UserError(`--cron ${JSON.stringify(expression)}: ${spec.name} "${field}": ${why}`);
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === '') throw bad('not a number, range, step or list');
    let step = 1;
    if (stepText !== undefined) {
      if (!/^[0-9]+$/.test(stepText) || Number(stepText) < 1) throw bad('a step is at least 1');
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [spec.min, spec.max];
    } else {
      const ends = range.split('-');
      if (ends.length > 2) throw bad('a range is a-b');
      lo = value(ends[0], spec, bad);
      // `a/n` runs from a to the end, as in robfig/cron.
      hi = ends.length === 2 ? value(ends[1], spec, bad) : stepText ? spec.max : lo;
      if (hi < lo) throw bad(`${lo}-${hi} runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, spec: FieldSpec, bad: (why: string) => Error): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + spec.nameBase!;
  if (!/^[0-9]+$/.test(text)) throw bad(`"${text}" is not a number`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw bad(`${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function dayMatches(cron: Cron, d: Date): boolean {
  const dom = cron.days.has(d.getUTCDate());
  const dow = cron.weekdays.has(d.getUTCDay());
  if (cron.anyDay || cron.anyWeekday) return dom && dow;
  return dom || dow;
}

/**
 * The first time strictly after `after` (UTC, whole minutes) that the expression matches;
 * undefined when none within 5 years (e.g. 30 February).
 */
export function nextRun(cron: Cron, after: Date): Date | undefined {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  const limit = after.getTime() + 5 * 366 * 86_400_000;
  while (t.getTime() <= limit) {
    if (!cron.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0);
      continue;
    }
    if (!dayMatches(cron, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0);
      continue;
    }
    if (!cron.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0);
      continue;
    }
    if (!cron.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      continue;
    }
    return t;
  }
  return undefined;
}
