import type { Options } from 'yargs';
import { UserError } from '../errors.js';
import { noRules, parseDuration } from '../storage/retention-policy.js';
import type { RetentionPolicy } from '../storage/retention.js';

/**
 * The keep rules of prune (and of schedules), restic's `forget` flags: docs/retention.md.
 * Counts are whole numbers of at least 1, or -1 / `unlimited` for all.
 */
export interface RetentionArgs {
  'keep-last'?: number;
  'keep-hourly'?: number;
  'keep-daily'?: number;
  'keep-weekly'?: number;
  'keep-monthly'?: number;
  'keep-yearly'?: number;
  'keep-within'?: string;
}

const COUNTS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** `unlimited` is -1 (restic's spelling of both); anything else a number, checked later. */
const count = (describe: string) => ({
  type: 'string' as const,
  describe: `${describe} (-1 or unlimited: all)`,
  coerce: (v: unknown): number | undefined =>
    v === 'unlimited' ? -1 : v === undefined ? undefined : Number(v),
});

export const retentionOptions = {
  'keep-last': count('Keep the N newest archives of each app (per context and namespace)'),
  'keep-hourly': count('Keep the newest archive of each of the last N hours that have one (UTC)'),
  'keep-daily': count('Keep the newest archive of each of the last N days that have one (UTC)'),
  'keep-weekly': count('Keep the newest of each of the last N ISO weeks that have one (UTC)'),
  'keep-monthly': count('Keep the newest of each of the last N months that have one (UTC)'),
  'keep-yearly': count('Keep the newest of each of the last N years that have one (UTC)'),
  'keep-within': {
    type: 'string',
    describe:
      "Keep archives created within this long before the series' newest, e.g. 30d, 12h, 2w, 1d12h, 6mo, 1y",
  },
} as const satisfies Record<string, Options>;

/**
 * For yargs' check: at least one rule, counts whole and at least 1 (or -1), a duration. Throws
 * UserErrors (exit 2, as a usage error).
 */
export function checkRetention(a: RetentionArgs): true {
  for (const c of COUNTS) {
    const n = a[`keep-${c}`];
    if (n !== undefined && (!Number.isInteger(n) || (n < 1 && n !== -1))) {
      throw new UserError(
        `--keep-${c} must be a whole number of at least 1, or -1 (unlimited) for all`,
      );
    }
  }
  const within = a['keep-within'];
  if (within !== undefined) parseDuration(within);
  if (noRules(retentionPolicy(a))) {
    throw new UserError(
      'say what to keep: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly N or --keep-within DURATION',
    );
  }
  return true;
}

export function retentionPolicy(a: RetentionArgs & { app?: string }): RetentionPolicy {
  const within = a['keep-within'];
  return {
    last: a['keep-last'],
    hourly: a['keep-hourly'],
    daily: a['keep-daily'],
    weekly: a['keep-weekly'],
    monthly: a['keep-monthly'],
    yearly: a['keep-yearly'],
    ...(within !== undefined && { within: parseDuration(within) }),
    ...(a.app !== undefined && { app: a.app }),
  };
}
