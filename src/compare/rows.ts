import { createHash } from 'node:crypto';

/**
 * same: equal after normalisation; expected: differs only in ways a restore intends (the
 * ingress host, the target operator's own secrets...), `why` says which; differs: content not
 * equal; missing: on one side only; unchecked: could not be read (no running pod, an error):
 * nothing proven either way.
 */
export type Verdict = 'same' | 'expected' | 'differs' | 'missing' | 'unchecked';

export type Section = 'object' | 'table' | 'files' | 'file' | 'keycloak';

/** One line of a comparison. `source`/`target` are short digests or counts, never a secret. */
export interface CompareRow {
  section: Section;
  name: string;
  source: string;
  target: string;
  verdict: Verdict;
  why?: string;
}

/** Rows whose verdict keeps a comparison "equal". */
export const EQUAL_VERDICTS: ReadonlySet<Verdict> = new Set(['same', 'expected']);

export const ABSENT = '-';

export function isEqual(rows: readonly CompareRow[]): boolean {
  return rows.every((r) => EQUAL_VERDICTS.has(r.verdict));
}

export function tally(rows: readonly CompareRow[]): Record<Verdict, number> {
  const out: Record<Verdict, number> = {
    same: 0,
    expected: 0,
    differs: 0,
    missing: 0,
    unchecked: 0,
  };
  for (const r of rows) out[r.verdict]++;
  return out;
}

/** Verdict of two digests where either may be absent. */
export function verdictOf(source: string, target: string): Verdict {
  if (source === ABSENT || target === ABSENT) return 'missing';
  return source === target ? 'same' : 'differs';
}

/** Where a one-sided row is missing. */
export function missingWhy(source: string, target: string): string | undefined {
  if (source === ABSENT && target !== ABSENT) return 'only in the target';
  if (target === ABSENT && source !== ABSENT) return 'not in the target';
  return undefined;
}

/** A row from two digests (ABSENT for a side that has nothing). */
export function row(section: Section, name: string, source: string, target: string): CompareRow {
  const verdict = verdictOf(source, target);
  const why = verdict === 'missing' ? missingWhy(source, target) : undefined;
  return { section, name, source, target, verdict, ...(why ? { why } : {}) };
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A short digest for display (12 hex digits of a sha256). */
export function digest(data: string | Buffer): string {
  return sha256(data).slice(0, 12);
}

/** JSON with sorted keys (undefined left out), so digests do not depend on key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Sections in output order; a tree's entries sort beside it (their names extend its name). */
const SECTION_RANK: Record<Section, number> = {
  object: 0,
  table: 1,
  files: 2,
  file: 2,
  keycloak: 3,
};

export function sortRows(rows: CompareRow[]): CompareRow[] {
  return [...rows].sort(
    (a, b) =>
      SECTION_RANK[a.section] - SECTION_RANK[b.section] ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/** The rows as an aligned text table: SECTION NAME SOURCE TARGET VERDICT (why). */
export function rowsText(rows: readonly CompareRow[], headers: [string, string]): string[] {
  const width = (pick: (r: CompareRow) => string, head: string, max: number) =>
    Math.min(max, Math.max(head.length, ...rows.map((r) => pick(r).length)));
  const wSection = width((r) => r.section, 'WHAT', 8);
  const wName = width((r) => r.name, 'NAME', 64);
  const wSource = width((r) => r.source, headers[0], 28);
  const wTarget = width((r) => r.target, headers[1], 28);
  const cell = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}~` : s.padEnd(w));
  const line = (a: string, b: string, c: string, d: string, e: string) =>
    `${cell(a, wSection)}  ${cell(b, wName)}  ${cell(c, wSource)}  ${cell(d, wTarget)}  ${e}`.trimEnd();
  return [
    line('WHAT', 'NAME', headers[0], headers[1], 'VERDICT'),
    ...rows.map((r) =>
      line(
        r.section,
        r.name,
        r.source,
        r.target,
        `${r.verdict === 'expected' ? 'expected difference' : r.verdict}${r.why ? ` (${r.why})` : ''}`,
      ),
    ),
  ];
}
