import fs from 'node:fs';
import path from 'node:path';
import type { CheckOutcome, DrillCheck } from './checks.js';

/** What a drill found: the JSON report, and the source of the Markdown one. */
export interface DrillReport {
  passed: boolean;
  archive: string;
  app?: string;
  source?: { context: string; namespace: string };
  archiveCreatedAt?: string;
  /** The archive's age when the drill started: the recovery point it proves. */
  recoveryPointSeconds?: number;
  target?: {
    context?: string;
    namespace: string;
    namespaceMap: Record<string, string>;
    host?: string;
  };
  startedAt: string;
  finishedAt: string;
  /** From the drill's start to a ready app (restore and wait): the recovery time it proves. */
  recoveryTimeSeconds?: number;
  checks: DrillCheck[];
  cleanup?: { outcome: CheckOutcome; detail: string };
  /** Where the report files were written. */
  files?: { json: string; markdown: string };
}

/** 93784 -> "1d 2h 3m 4s": ages and durations a person reads at a glance. */
export function duration(seconds: number): string {
  const parts: string[] = [];
  let s = Math.max(0, Math.round(seconds));
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join(' ');
}

const MARK: Record<CheckOutcome, string> = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' };

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownReport(r: DrillReport): string {
  const rows = [
    ['Archive', r.archive],
    ['App', r.source ? `${r.source.namespace}/${r.app} (context ${r.source.context})` : '-'],
    ['Archive made', r.archiveCreatedAt ?? '-'],
    [
      'Recovery point (archive age)',
      r.recoveryPointSeconds === undefined ? '-' : duration(r.recoveryPointSeconds),
    ],
    [
      'Recovery time (to a ready app)',
      r.recoveryTimeSeconds === undefined ? 'not reached' : duration(r.recoveryTimeSeconds),
    ],
    [
      'Restored into',
      r.target
        ? `${r.target.context ?? '-'}/${r.target.namespace}${r.target.host ? `, host ${r.target.host}` : ''}`
        : '-',
    ],
    ['Started', r.startedAt],
    ['Finished', r.finishedAt],
  ];
  const checks = [
    ...r.checks,
    ...(r.cleanup ? [{ name: 'cleanup', seconds: 0, ...r.cleanup }] : []),
  ];
  return [
    `# Restore drill: ${r.passed ? 'PASSED' : 'FAILED'}`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
    '## Checks',
    '',
    '| check | outcome | seconds | detail |',
    '|---|---|---|---|',
    ...checks.map((c) => `| ${c.name} | ${MARK[c.outcome]} | ${c.seconds} | ${cell(c.detail)} |`),
    '',
  ].join('\n');
}

export function textReport(r: DrillReport): string[] {
  const width = Math.max(...r.checks.map((c) => c.name.length), 'cleanup'.length);
  const line = (name: string, outcome: CheckOutcome, detail: string) =>
    `${MARK[outcome]}  ${name.padEnd(width)}  ${detail}`;
  return [
    ...r.checks.map((c) => line(c.name, c.outcome, c.detail)),
    ...(r.cleanup ? [line('cleanup', r.cleanup.outcome, r.cleanup.detail)] : []),
    `recovery point: ${r.recoveryPointSeconds === undefined ? '-' : duration(r.recoveryPointSeconds)} (archive age); recovery time: ${r.recoveryTimeSeconds === undefined ? 'not reached' : duration(r.recoveryTimeSeconds)}`,
    ...(r.files ? [`report: ${r.files.markdown}, ${r.files.json}`] : []),
    `drill ${r.passed ? 'passed' : 'FAILED'}`,
  ];
}

/** Writes `drill-<app>-<time>.json` and `.md` (owner-only: they name hosts and namespaces). */
export function writeReport(r: DrillReport, dir: string): DrillReport['files'] {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = path.join(dir, `drill-${r.app ?? 'archive'}-${stamp}`);
  const files = { json: `${base}.json`, markdown: `${base}.md` };
  fs.writeFileSync(files.json, `${JSON.stringify({ ...r, files }, null, 2)}\n`, { mode: 0o600 });
  fs.writeFileSync(files.markdown, markdownReport(r), { mode: 0o600 });
  return files;
}
