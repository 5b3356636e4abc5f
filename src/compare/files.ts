import { collector } from '../util/collect.js';
import { errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { podExecOk } from '../kube/pod-exec.js';
import { discoverVolumes, runningPod } from '../components/files/discover.js';
import { listDir } from '../components/files/backup.js';
import { mapLimit } from '../util/limit.js';
import { ABSENT, canonical, digest, type CompareRow } from './rows.js';

/** One entry of a files tree, as `tar` would carry it (no times: they are not compared). */
export interface FileEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (not for symlinks). */
  mode?: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/** One top-level directory of a volume ("<owner> <qualifier>/<dir>") and what is in it. */
export interface TreeState {
  key: string;
  entries?: Map<string, FileEntry>;
  error?: string;
}

/**
 * Lists a directory tree in the pod, with coreutils or busybox: `stat -c` per entry (type and
 * mode in hex, size, path), `readlink` per symlink, `sha256sum` per file unless quick. Each
 * line is tagged so the parser knows what it is; sha256sum's lines start with the hash.
 */
export const TREE_SCRIPT = [
  'cd "$1" || exit 3',
  'quick=$2; shift 2',
  'for d do',
  '  find "$d" -exec stat -c "S %f %s %n" {} + || exit 4',
  '  find "$d" -type l -exec sh -c \'for f do printf "L %s\\nT %s\\n" "$f" "$(readlink "$f")"; done\' sh {} + || exit 5',
  '  [ "$quick" = 1 ] || find "$d" -type f -exec sha256sum {} + || exit 6',
  'done',
].join('\n');

export function treeCommand(mountPath: string, dirs: string[], quick: boolean): string[] {
  return ['sh', '-c', TREE_SCRIPT, 'kubectl-entando-tree', mountPath, quick ? '1' : '0', ...dirs];
}

const S_IFMT = 0o170000;
const TYPES: Record<number, FileEntry['type']> = {
  0o040000: 'dir',
  0o100000: 'file',
  0o120000: 'symlink',
};

/** Parses TREE_SCRIPT's output into entries by path (relative to the mount, e.g. protected/a). */
export function parseTree(text: string): Map<string, FileEntry> {
  const entries = new Map<string, FileEntry>();
  let link: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('S ')) {
      const m = /^S ([0-9a-f]+) ([0-9]+) (.*)$/.exec(line);
      if (!m) throw new Error(`unexpected stat line: ${line.slice(0, 80)}`);
      const raw = parseInt(m[1], 16);
      const type = TYPES[raw & S_IFMT] ?? 'other';
      const entry: FileEntry = { type };
      if (type !== 'symlink') entry.mode = raw & 0o7777;
      if (type === 'file') entry.size = Number(m[2]);
      entries.set(m[3], entry);
    } else if (line.startsWith('L ')) {
      link = line.slice(2);
    } else if (line.startsWith('T ') && link !== undefined) {
      const e = entries.get(link);
      if (e) e.target = line.slice(2);
      link = undefined;
    } else {
      // sha256sum: "<hash>  <path>", or "\<hash>  <escaped path>" for names with \ or newline.
      const escaped = line.startsWith('\\');
      const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(escaped ? line.slice(1) : line);
      if (!m) throw new Error(`unexpected line: ${line.slice(0, 80)}`);
      const path = escaped
        ? m[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c))
        : m[2];
      const e = entries.get(path);
      if (e) e.sha256 = m[1];
    }
  }
  return entries;
}

/** One top-level directory of a mounted volume, listed in `target` (TREE_SCRIPT). */
export async function readTree(
  kube: KubeClient,
  target: { namespace: string; pod: string; container: string },
  mountPath: string,
  dir: string,
  quick: boolean,
  signal?: AbortSignal,
): Promise<Map<string, FileEntry>> {
  const out = collector();
  const stdout = out.stream;
  await podExecOk(
    kube.config,
    { ...target, command: treeCommand(mountPath, [dir], quick), stdout, signal },
    `listing ${mountPath}/${dir}`,
  );
  return parseTree(out.text());
}

/**
 * Every files tree of the app and its plugins (what a backup copies), read in the running
 * server pods only: compare never starts a pod. A server with no ready pod gives an error row.
 */
export async function collectTrees(
  kube: KubeClient,
  app: KubeObject,
  opts: { quick: boolean; parallel: number; signal?: AbortSignal },
): Promise<TreeState[]> {
  const namespace = app.metadata.namespace!;
  const { volumes } = await discoverVolumes(kube, app, false);
  const trees = await mapLimit(volumes, opts.parallel, async (v) => {
    const keyOf = (dir: string) => `${v.owner.name} ${v.qualifier}/${dir}`;
    const pod = await runningPod(kube, namespace, v.deployment);
    if (!pod) {
      return v.dirs.map((dir) => ({
        key: keyOf(dir),
        error: `deployment ${v.deployment} has no ready pod to read ${v.mountPath} in (compare starts none)`,
      }));
    }
    const target = { namespace, pod: pod.metadata.name, container: v.container };
    try {
      const present = new Set(
        await listDir(kube, { ...target, via: 'app-pod' }, v.mountPath, opts.signal),
      );
      const out: TreeState[] = [];
      for (const dir of v.dirs.filter((d) => present.has(d))) {
        out.push({
          key: keyOf(dir),
          entries: await readTree(kube, target, v.mountPath, dir, opts.quick, opts.signal),
        });
      }
      return out;
    } catch (err) {
      return v.dirs.map((dir) => ({ key: keyOf(dir), error: errorMessage(err) }));
    }
  });
  return trees.flat();
}

function describeEntry(e: FileEntry | undefined): string {
  if (!e) return ABSENT;
  const mode = e.mode !== undefined ? ` ${e.mode.toString(8).padStart(4, '0')}` : '';
  if (e.type === 'file') {
    return `file${mode} ${e.size} B${e.sha256 ? ` ${e.sha256.slice(0, 12)}` : ''}`;
  }
  if (e.type === 'symlink') return `-> ${e.target ?? '?'}`;
  return `${e.type}${mode}`;
}

function entryDifference(a: FileEntry, b: FileEntry): string | undefined {
  if (a.type !== b.type) return `${a.type} vs ${b.type}`;
  const what: string[] = [];
  if (a.mode !== b.mode) what.push('mode');
  if (a.size !== b.size) what.push('size');
  if (a.sha256 !== b.sha256) what.push('content');
  if (a.target !== b.target) what.push('symlink target');
  return what.length ? what.join(', ') : undefined;
}

/** Per-entry rows shown for one tree at most (the tree row counts them all). */
const ENTRY_ROWS = 50;

const summary = (entries: Map<string, FileEntry>) => {
  let bytes = 0;
  for (const e of entries.values()) bytes += e.size ?? 0;
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${entries.size} entries ${bytes} B ${digest(canonical(sorted))}`;
};

/** A row per tree, and one per entry that differs (missing, other type, mode, size, content). */
export function compareTrees(source: TreeState[], target: TreeState[]): CompareRow[] {
  const rows: CompareRow[] = [];
  const bySource = new Map(source.map((t) => [t.key, t]));
  const byTarget = new Map(target.map((t) => [t.key, t]));
  for (const key of [...new Set([...bySource.keys(), ...byTarget.keys()])].sort()) {
    const s = bySource.get(key);
    const t = byTarget.get(key);
    if (s?.error || t?.error) {
      rows.push({
        section: 'files',
        name: key,
        source: s?.entries ? summary(s.entries) : ABSENT,
        target: t?.entries ? summary(t.entries) : ABSENT,
        verdict: 'unchecked',
        why: [s?.error && `source: ${s.error}`, t?.error && `target: ${t.error}`]
          .filter(Boolean)
          .join('; '),
      });
      continue;
    }
    if (!s?.entries || !t?.entries) {
      rows.push({
        section: 'files',
        name: key,
        source: s?.entries ? summary(s.entries) : ABSENT,
        target: t?.entries ? summary(t.entries) : ABSENT,
        verdict: 'missing',
        why: s ? 'not in the target' : 'only in the target',
      });
      continue;
    }
    const differing: CompareRow[] = [];
    const paths = [...new Set([...s.entries.keys(), ...t.entries.keys()])].sort();
    for (const path of paths) {
      const a = s.entries.get(path);
      const b = t.entries.get(path);
      const base = {
        section: 'file' as const,
        name: `${key.slice(0, key.lastIndexOf('/'))}/${path}`,
        source: describeEntry(a),
        target: describeEntry(b),
      };
      if (!a || !b) {
        differing.push({
          ...base,
          verdict: 'missing',
          why: a ? 'not in the target' : 'only in the target',
        });
        continue;
      }
      const difference = entryDifference(a, b);
      if (difference) differing.push({ ...base, verdict: 'differs', why: difference });
    }
    rows.push({
      section: 'files',
      name: key,
      source: summary(s.entries),
      target: summary(t.entries),
      verdict: differing.length === 0 ? 'same' : 'differs',
      ...(differing.length
        ? { why: `${differing.length} of ${paths.length} entries differ or are missing` }
        : {}),
    });
    rows.push(...differing.slice(0, ENTRY_ROWS));
    if (differing.length > ENTRY_ROWS) {
      rows.push({
        section: 'file',
        name: `${key} (${differing.length - ENTRY_ROWS} more)`,
        source: '',
        target: '',
        verdict: 'differs',
        why: 'not listed; see -o json of a narrower run',
      });
    }
  }
  return rows;
}
