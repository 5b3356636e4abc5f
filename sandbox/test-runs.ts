// Which sandbox namespaces belong to which test run, so that what an interrupted run left
// behind (namespaces in both clusters, each maybe with a Keycloak JVM) is found and deleted by
// the next run or by `scripts/sandbox clean`. A run is the mocha process; it registers the
// random suffix of every namespace name it makes (the tool's restores create namespaces the
// test never labels), and fixtures it applies carry TEST_RUN_LABEL.
import fs from 'node:fs';
import path from 'node:path';

export const TEST_RUN_LABEL = 'sandbox.entando.org/test-run';

export interface TestRun {
  id: string;
  pid: number;
  /** The process's start time in clock ticks since boot: a reused pid has another. */
  start: string;
  suffixes: string[];
}

export const runsDir = (root: string) => path.join(root, '.sandbox', 'test-runs');

/** Field 22 of /proc/PID/stat, or undefined when there is no such process. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function currentRun(): Pick<TestRun, 'id' | 'pid' | 'start'> {
  const start = processStart(process.pid) ?? '0';
  return { id: `${process.pid}-${start}`, pid: process.pid, start };
}

export const runAlive = (run: Pick<TestRun, 'pid' | 'start'>) =>
  processStart(run.pid) === run.start;

/** Records a namespace suffix of this run (synchronously: suffixes are made at load time). */
export function registerSuffix(root: string, suffix: string): void {
  const me = currentRun();
  const file = path.join(runsDir(root), `${me.id}.json`);
  fs.mkdirSync(runsDir(root), { recursive: true });
  let run: TestRun = { ...me, suffixes: [] };
  try {
    run = JSON.parse(fs.readFileSync(file, 'utf8')) as TestRun;
  } catch {
    // first suffix of this run
  }
  run.suffixes.push(suffix);
  fs.writeFileSync(file, JSON.stringify(run));
}

export function readRuns(root: string): { run: TestRun; file: string }[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(runsDir(root)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: { run: TestRun; file: string }[] = [];
  for (const n of names) {
    const file = path.join(runsDir(root), n);
    try {
      out.push({ run: JSON.parse(fs.readFileSync(file, 'utf8')) as TestRun, file });
    } catch {
      // half-written by a run killed mid-write: its id is in the name
      const [pid, start] = n.replace(/\.json$/, '').split('-');
      out.push({
        run: { id: `${pid}-${start}`, pid: Number(pid), start: start!, suffixes: [] },
        file,
      });
    }
  }
  return out;
}

export interface NamespaceInfo {
  name: string;
  labels?: Record<string, string>;
}

/** The namespaces that belong to one of `runs`: by a registered suffix or by the run label. */
export function namespacesOfRuns(runs: TestRun[], namespaces: NamespaceInfo[]): string[] {
  const ids = new Set(runs.map((r) => r.id));
  const suffixes = runs.flatMap((r) => r.suffixes);
  const bySuffix = (name: string) =>
    suffixes.some((s) => new RegExp(`(^|-)${s.replace(/[^a-z0-9]/g, '')}(-|$)`).test(name));
  return namespaces
    .filter((n) => {
      const label = n.labels?.[TEST_RUN_LABEL];
      return (label !== undefined && ids.has(label)) || bySuffix(n.name);
    })
    .map((n) => n.name);
}
