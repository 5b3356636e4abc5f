import { UserError, errorMessage } from '../errors.js';
import { seriesOf, type CatalogRow } from './catalog.js';
import type { ArchiveFolder } from './location.js';

export interface RetentionPolicy {
  /** Keep the N newest archives of each series (app, namespace, context). */
  keepLast?: number;
  /** Keep archives created within this many milliseconds before `now`. */
  keepWithinMs?: number;
  /** Only archives of this app are considered; the rest are left alone. */
  app?: string;
}

export interface PruneDecision {
  row: CatalogRow;
  action: 'keep' | 'delete' | 'skip';
  reason: string;
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** `30d`, `12h`, `2w`, `1d12h`, `90m` (s, m, h, d, w) in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UserError(
      `--keep-within ${text}: not a duration (use a number and a unit: 30d, 12h, 2w, 1d12h)`,
    );
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]], 0);
}

/**
 * Decides what prune deletes: within each series, the newest `keepLast` are kept, and what
 * was created within `keepWithinMs`; the rest goes. An archive whose manifest could not be
 * read is never deleted (it may not be ours), nor one of another app when `app` is given.
 */
export function decidePrune(
  rows: CatalogRow[],
  policy: RetentionPolicy,
  now: Date,
): PruneDecision[] {
  const decisions = new Map<CatalogRow, PruneDecision>();
  const series = new Map<string, CatalogRow[]>();
  for (const row of rows) {
    if (!row.source || !row.createdAt) {
      decisions.set(row, { row, action: 'skip', reason: `not identified: ${row.problem}` });
    } else if (policy.app !== undefined && row.source.app !== policy.app) {
      decisions.set(row, {
        row,
        action: 'skip',
        reason: `app ${row.source.app}, not ${policy.app}`,
      });
    } else {
      const key = seriesOf(row.source);
      if (!series.has(key)) series.set(key, []);
      series.get(key)!.push(row);
    }
  }
  for (const members of series.values()) {
    members.sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime());
    members.forEach((row, index) => {
      const age = now.getTime() - row.createdAt!.getTime();
      if (policy.keepLast !== undefined && index < policy.keepLast) {
        decisions.set(row, { row, action: 'keep', reason: `one of the ${policy.keepLast} newest` });
      } else if (policy.keepWithinMs !== undefined && age <= policy.keepWithinMs) {
        decisions.set(row, { row, action: 'keep', reason: 'within --keep-within' });
      } else {
        decisions.set(row, { row, action: 'delete', reason: 'outside the retention' });
      }
    });
  }
  return rows.map((row) => decisions.get(row)!);
}

/** Deletes the archives decided so, one at a time; one that cannot be is named and skipped. */
export async function deletePruned(
  folder: ArchiveFolder,
  decisions: PruneDecision[],
): Promise<{ deleted: PruneDecision[]; failed: string[] }> {
  const deleted: PruneDecision[] = [];
  const failed: string[] = [];
  for (const d of decisions.filter((d) => d.action === 'delete')) {
    try {
      await folder.remove(d.row.stored);
      deleted.push(d);
    } catch (err) {
      failed.push(`${d.row.stored.location.name}: ${errorMessage(err)}`);
    }
  }
  return { deleted, failed };
}
