import type { DecryptionKeys } from '../archive/encryption.js';
import { ArchiveError } from '../archive/errors.js';
import { verifyArchive } from '../archive/verify.js';
import { UserError, errorMessage } from '../errors.js';
import { seriesOf, type CatalogRow } from './catalog.js';
import type { ArchiveFolder } from './location.js';
import { keepReasons, type KeepRules } from './retention-policy.js';

export { parseDuration, type KeepRules } from './retention-policy.js';

export interface RetentionPolicy extends KeepRules {
  /** Only archives of this app are considered; the rest are left alone. */
  app?: string;
}

export interface PruneDecision {
  row: CatalogRow;
  action: 'keep' | 'delete' | 'skip';
  /** All the reasons, joined: `last archive, daily archive`. */
  reason: string;
  reasons: string[];
  /** Set when verification found the archive damaged: what is wrong with it. */
  damaged?: string;
}

/** Whether an archive reads back whole; `problem` says what is wrong when not. */
export type WholeCheck = (
  row: CatalogRow,
) => Promise<{ whole: true } | { whole: false; problem: string }>;

export interface RetentionResult {
  /** One per row, in the order of the rows. */
  decisions: PruneDecision[];
  /** One line per series whose newest archives are damaged. */
  warnings: string[];
}

export const LAST_GOOD = 'newest archive that verified whole';

/**
 * Decides what prune deletes, series by series (seriesOf: app, namespace, context), by the keep
 * rules (keepReasons, restic's semantics), and one rule above them: the newest archive of a
 * series that verifies whole is never deleted. To find it, the archives are verified newest
 * first until one is whole, and only while the rules would delete something of the series:
 * one full read per series in the usual case, none when nothing would go. The damaged ones
 * found on the way are kept (they are what to look at) and are not counted by the rules, which
 * then apply to the rest; if none of a series verifies whole, none of it is deleted. An archive
 * whose manifest could not be read is never deleted (it may not be ours), nor one of another
 * app when `app` is given. Nothing is deleted here: isWhole failing (not an answer about the
 * archive: a network error) fails the whole decision.
 */
export async function applyRetention(
  rows: CatalogRow[],
  policy: RetentionPolicy,
  opts: { now: Date; isWhole: WholeCheck },
): Promise<RetentionResult> {
  const decisions = new Map<CatalogRow, PruneDecision>();
  const decide = (row: CatalogRow, action: PruneDecision['action'], reasons: string[]) =>
    decisions.set(row, { row, action, reason: reasons.join(', '), reasons });
  const series = new Map<string, CatalogRow[]>();
  const locked = rows.filter((r) => r.problemKind === 'no-key').length;
  if (locked > 0) {
    throw new UserError(
      `prune: no key given to read ${locked} encrypted archive${locked === 1 ? '' : 's'} (prune reads every manifest and verifies the newest archive of each series): pass -i/--identity FILE or --passphrase-file FILE`,
    );
  }
  for (const row of rows) {
    if (!row.source || !row.createdAt) {
      decide(row, 'skip', [`not identified: ${row.problem}`]);
    } else if (policy.app !== undefined && row.source.app !== policy.app) {
      decide(row, 'skip', [`app ${row.source.app}, not ${policy.app}`]);
    } else {
      const key = seriesOf(row.source);
      if (!series.has(key)) series.set(key, []);
      series.get(key)!.push(row);
    }
  }
  const warnings: string[] = [];
  for (const [key, members] of series) {
    members.sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime());
    const damaged: PruneDecision[] = [];
    let good: CatalogRow | undefined;
    let rest = members;
    let reasons = keepReasons(
      rest.map((r) => r.createdAt!),
      policy,
      opts.now,
    );
    while (rest.length > 0 && reasons.some((r) => r.length === 0)) {
      const verdict = await opts.isWhole(rest[0]);
      if (verdict.whole) {
        good = rest[0];
        break;
      }
      damaged.push({
        row: rest[0],
        action: 'keep',
        reason: `damaged (${verdict.problem}): kept, newer than any archive that verified whole, and not counted by the keep rules`,
        reasons: ['damaged'],
        damaged: verdict.problem,
      });
      rest = rest.slice(1);
      reasons = keepReasons(
        rest.map((r) => r.createdAt!),
        policy,
        opts.now,
      );
    }
    for (const d of damaged) decisions.set(d.row, d);
    rest.forEach((row, i) => {
      const why = row === good ? [...reasons[i], LAST_GOOD] : reasons[i];
      if (why.length > 0) decide(row, 'keep', why);
      else decide(row, 'delete', ['no keep rule matched']);
    });
    if (damaged.length > 0) warnings.push(damagedWarning(key, damaged, good, rest.length));
  }
  return { decisions: rows.map((row) => decisions.get(row)!), warnings };
}

function damagedWarning(
  key: string,
  damaged: PruneDecision[],
  good: CatalogRow | undefined,
  older: number,
): string {
  const what = damaged.map((d) => `${d.row.stored.location.name}: ${d.damaged}`).join('; ');
  const which =
    damaged.length === 1
      ? 'the newest archive is damaged'
      : `the ${damaged.length} newest archives are damaged`;
  // Without a whole one, verifying stopped because the rules keep all the older ones (they
  // always keep the newest of what is left): the series loses nothing.
  const outcome = good
    ? `kept the last good one, ${good.stored.location.name} of ${good.createdAt!.toISOString()}`
    : `none verified whole and none deleted: the ${older === 1 ? 'older one is' : `${older} older ones are`} kept by the rules, not verified`;
  return `series ${key}: ${which} (${what}): ${outcome}`;
}

/**
 * The check prune uses: a full verify (decrypt, every entry's sha256 against the manifest), as
 * `kubectl entando verify` does. An archive problem is an answer (damaged); anything else (the
 * store, the network) is thrown, and prune then deletes nothing.
 */
export function verifiesWhole(keys: DecryptionKeys, started?: (row: CatalogRow) => void) {
  return (async (row) => {
    started?.(row);
    try {
      await verifyArchive(row.stored.location, keys);
      return { whole: true };
    } catch (err) {
      if (!(err instanceof ArchiveError) || ['not-found', 'no-key'].includes(err.problem)) {
        throw err;
      }
      return { whole: false, problem: err.message };
    }
  }) satisfies WholeCheck;
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
