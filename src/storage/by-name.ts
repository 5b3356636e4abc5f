import { isAgeHeader } from '../archive/encryption.js';
import { UserError } from '../errors.js';
import type { CatalogRow } from './catalog.js';
import type { ArchiveFolder } from './location.js';
import type { WholeCheck } from './retention.js';

/** The series context of archives identified by name (their manifests are not read). */
export const BY_NAME_CONTEXT = 'by-name';

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `--by-name NAMESPACE/APP`, checked. */
export function parseSeries(text: string): { namespace: string; app: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(text);
  if (!m) throw new UserError(`--by-name ${text}: NAMESPACE/APP expected, e.g. entando/quickstart`);
  return { namespace: m[1], app: m[3] };
}

/**
 * The schedule's prune, which has no key (docs/schedules.md): archives are identified by the
 * name the backup gives them, `APP-NAMESPACE-<UTC time>.tar.age`, which is also their date;
 * anything else in the folder is left alone. Only encrypted archives (`.tar.age`) count.
 */
export async function catalogByName(
  folder: ArchiveFolder,
  series: { namespace: string; app: string },
): Promise<CatalogRow[]> {
  const prefix = `${series.app}-${series.namespace}-`;
  return (await folder.list()).map((stored): CatalogRow => {
    const base = stored.location.name.split(/[\\/]/).pop()!;
    const stamp = base.startsWith(prefix) ? base.slice(prefix.length, -'.tar.age'.length) : '';
    const m = base.endsWith('.tar.age') ? STAMP.exec(stamp) : null;
    const createdAt = m && new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
    if (!createdAt || Number.isNaN(createdAt.getTime())) {
      return { stored, problem: `not named ${prefix}<UTC time>.tar.age` };
    }
    return {
      stored,
      source: { server: '', context: BY_NAME_CONTEXT, ...series },
      createdAt,
      encrypted: true,
    };
  });
}

/**
 * Without a key, "whole" can only mean: the object is there and starts as an age file. The
 * backup that wrote it had finished (an archive appears only when complete); damage after
 * that is not seen here (see docs/schedules.md for what checks it).
 */
export const startsAsAge: WholeCheck = async (row) => {
  const blob = await row.stored.location.open();
  try {
    const head = await blob.read(0, 64);
    return isAgeHeader(head)
      ? { whole: true }
      : { whole: false, problem: 'does not start as an age file' };
  } finally {
    await blob.close();
  }
};

/** The last-good reason, said as what was checked when no key was given. */
export const BY_NAME_GOOD = 'newest archive (by name; its age header checked, no key to verify it)';
