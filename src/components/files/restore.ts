import { entryStream } from '../../archive/entry-stream.js';
import { ArchiveError } from '../../archive/errors.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject, ObjectRef } from '../../kube/object.js';
import { podExecOk } from '../../kube/pod-exec.js';
import { resumeInterrupted, ScaleGuard } from '../../kube/scale.js';
import { DEFAULT_VOLUME_POD_IMAGE, podLike, VolumePod } from '../../kube/volume-pod.js';
import { formatBytes } from '../../report/progress.js';
import { timed, type PlanStep, type StepContext } from '../../contract/plan.js';
import type { Timings } from '../../report/timings.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import { pluginDataPlacement } from '../../contract/mapping.js';
import { phase, type PhaseName } from '../../contract/order.js';
import type { ScaleWindow } from '../../contract/scale-window.js';
import { mapLimit } from '../../util/limit.js';
import type { PlanContext } from '../component.js';
import type { FilesEntryMeta, PodTarget } from './backup.js';
import { metaOf } from '../../contract/manifest.js';
import { dataMount, runningPod, serverDeployments } from './discover.js';
import { checkTarStream, UnsafeEntryError } from './tar-check.js';

/**
 * Where an owner's files step goes in the restore order (src/restore/order.ts): each right
 * after the databases of its kind (app-files, plugin-files), or after the reinstall of its
 * bundle when that makes the plugin.
 */
export function filesPhase(ownerKind: string, afterReinstall: boolean): PhaseName {
  if (afterReinstall) return 'reinstalled-plugin-files';
  return ownerKind === EntandoKind.Plugin ? 'plugin-files' : 'app-files';
}

const PHASE = 'files';

/** Names beside the restored directory while it is extracted and swapped in. */
export const STAGING_PREFIX = '.kubectl-entando-restore-';
export const OLD_PREFIX = '.kubectl-entando-old-';

export interface ArchivedFiles {
  entry: ManifestEntry;
  meta: FilesEntryMeta;
  /** Set by the check: the tar holds sparse files (GNU tar needed to extract them). */
  sparse?: boolean;
  /** Set by the check: how many entries the tar holds (the extracted tree must hold as many). */
  entries?: number;
}

export function archivedFiles(entries: ManifestEntry[]): ArchivedFiles[] {
  return entries
    .map((entry) => ({ entry, meta: metaOf(entry, 'files') }))
    .filter((a): a is ArchivedFiles => a.meta !== undefined);
}

/** One step per owner (app, plugin): check every entry, then extract each into its volume. */
export async function planFilesSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const byOwner = new Map<string, ArchivedFiles[]>();
  for (const a of archivedFiles(ctx.archive.manifest.entries)) {
    const key = `${a.meta.owner.kind}/${a.meta.owner.name}`;
    byOwner.set(key, [...(byOwner.get(key) ?? []), a]);
  }
  const steps: PlanStep[] = [];
  for (const group of byOwner.values()) {
    const owner = group[0].meta.owner;
    const ref: ObjectRef = {
      apiVersion: ENTANDO_API,
      kind: owner.kind,
      namespace: ctx.mapping.targetNamespace,
      name: owner.name,
    };
    const embedded = group.some((a) => a.meta.embedded);
    const placement =
      owner.kind === EntandoKind.Plugin
        ? pluginDataPlacement(ctx.mapping, owner.name)
        : { afterReinstall: false };
    const base = {
      priority: phase(filesPhase(owner.kind, placement.afterReinstall)).priority,
      phase: PHASE,
      component: 'files',
      object: ref,
      changes: group
        .map(
          (a) =>
            `extract ${a.meta.qualifier} ${a.meta.mountPath}/${a.meta.dir} (${formatBytes(a.entry.size)} tar)`,
        )
        .sort(),
    };
    if (placement.skip) {
      steps.push({ ...base, action: 'skip', reason: placement.skip });
      continue;
    }
    if (ctx.existing === 'skip' && (await ctx.target.get(ref))) {
      steps.push({
        ...base,
        action: 'skip',
        reason: `${owner.kind} ${owner.name} exists in the target: its files are left as they are (--existing skip)`,
      });
      continue;
    }
    // The databases component planned first: an owner whose schemas are loaded shares their
    // scale-down, and its files go in at the same time, through a pod like its server's.
    const window = embedded ? undefined : ctx.windows.joined(owner);
    if (!window) {
      steps.push({
        ...base,
        action: 'run',
        reason: embedded
          ? 'once the operator deployed it: every tar entry checked first, then the deployments scaled to 0 and each directory extracted through a short-lived pod that mounts the volume (embedded databases), swapped in whole, deployments scaled back'
          : 'once the operator deployed it: every tar entry checked first, then each directory extracted by tar in the running server pod and swapped in whole',
        run: (c) => restoreOwnerFiles(c, ctx, ref, group),
      });
      continue;
    }
    window.join();
    steps.push({
      ...base,
      action: 'run',
      group: window.group,
      reason:
        "with its databases, in the same scale-down: every tar entry checked first, then each directory extracted through a short-lived pod like the server's (its image, user and volume) and swapped in whole",
      run: (c) => window.run(c, () => restoreOwnerFiles(c, ctx, ref, group, window)),
    });
  }
  return steps;
}

/**
 * The entries of each directory: one tar, or the streams of a tree read as several
 * (`backup --file-streams`), ordered 2..N then 1 (the order they are extracted in). Refuses a
 * split tree whose streams are not exactly 1..N.
 */
export function filesTrees(group: ArchivedFiles[]): ArchivedFiles[][] {
  const trees = new Map<string, ArchivedFiles[]>();
  for (const a of group) {
    const key = `${a.meta.qualifier}\0${a.meta.mountPath}\0${a.meta.dir}`;
    trees.set(key, [...(trees.get(key) ?? []), a]);
  }
  return [...trees.values()].map((tree) => {
    const count = tree[0].meta.streams ?? 1;
    const numbers = tree.map((a) => a.meta.stream ?? 1).sort((x, y) => x - y);
    const complete =
      tree.every((a) => (a.meta.streams ?? 1) === count) &&
      numbers.length === count &&
      numbers.every((n, i) => n === i + 1);
    if (!complete) {
      const m = tree[0].meta;
      throw new ArchiveError(
        'tampered',
        `${m.mountPath}/${m.dir} of ${m.owner.name} ${m.qualifier}: the archive holds streams ${numbers.join(', ')} of ${count}; nothing was extracted`,
      );
    }
    const order = (a: ArchivedFiles) => ((a.meta.stream ?? 1) === 1 ? Infinity : a.meta.stream!);
    return [...tree].sort((x, y) => order(x) - order(y));
  });
}

/**
 * Refuses the whole step if any header is unsafe: from the check the verifying pass made
 * (LoadedArchive.headerChecks), else by reading each entry once.
 */
export async function checkEntries(
  ctx: PlanContext,
  group: ArchivedFiles[],
  signal: AbortSignal,
  timings?: Timings,
): Promise<void> {
  filesTrees(group);
  await mapLimit(group, ctx.parallel, async (a) => {
    if (signal.aborted) throw new OperationError('interrupted');
    const pre = ctx.archive.headerChecks?.get(a.entry.path);
    try {
      let checked = pre && pre.root === a.meta.dir ? pre.result : undefined;
      if (pre && pre.root === a.meta.dir && pre.error) throw pre.error;
      if (!checked) {
        const stream = entryStream(ctx.archive, a.entry, 'check');
        try {
          const check = () => checkTarStream(stream, a.meta.dir);
          checked = await (timings
            ? timings.time(`check tar headers of ${a.meta.dir} (${a.meta.owner.name})`, check)
            : check());
        } finally {
          stream.destroy();
        }
      }
      a.sparse = checked.sparse > 0;
      a.entries = checked.entries;
      // Streams 2..N of a split tree are extracted first, beside each other: no links there
      // for another stream to write through (see split.ts).
      if ((a.meta.stream ?? 1) > 1 && checked.symlinks > 0) {
        throw new ArchiveError(
          'tampered',
          `${a.entry.path}: stream ${a.meta.stream} of ${a.meta.mountPath}/${a.meta.dir} holds symlinks (only stream 1 may); nothing was extracted`,
        );
      }
    } catch (err) {
      if (err instanceof UnsafeEntryError) {
        throw new ArchiveError(
          'tampered',
          `${a.entry.path}: ${err.message}; nothing was extracted`,
        );
      }
      throw err;
    }
  });
}

async function restoreOwnerFiles(
  c: StepContext,
  ctx: PlanContext,
  ref: ObjectRef,
  group: ArchivedFiles[],
  window?: ScaleWindow,
): Promise<void> {
  const ns = ref.namespace!;
  // Checked before anything changes: a hostile entry refuses the step, nothing extracted.
  await checkEntries(ctx, group, c.signal, c.timings);
  // In a window its scale-down does this (undoing it here could scale the servers up mid-load).
  if (!window) await resumeInterrupted(c.target, ns, c.progress);
  await timed(c, `wait for the operator: ${ref.kind} ${ref.name}`, () =>
    waitForEntandoReady(c.target, ref, ctx.waitTimeoutMs ?? 600_000, c.progress),
  );
  const owner = await c.target.get(ref);
  if (!owner) throw new OperationError(`${ref.kind} ${ref.name} is not in the target`);
  const deployments = serverDeployments(owner);
  const volumes = new Map<
    string,
    { deployment: string; container: string; claimName: string; object: KubeObject }
  >();
  for (const a of group) {
    if (volumes.has(a.meta.qualifier)) continue;
    const deployment = deployments.find((d) => d.qualifier === a.meta.qualifier)?.deployment;
    if (!deployment) {
      throw new OperationError(
        `${ref.kind} ${ref.name}: no ${a.meta.qualifier} server in its status.serverStatuses in the target`,
      );
    }
    const d = await c.target.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: deployment,
    });
    const mount = d ? dataMount(d, a.meta.container) : undefined;
    if (!mount) {
      throw new OperationError(
        `${ref.kind} ${ref.name}: deployment ${deployment} mounts no volume at ${a.meta.mountPath} in the target`,
      );
    }
    volumes.set(a.meta.qualifier, { deployment, ...mount, object: d! });
  }

  const embedded = group.some((a) => a.meta.embedded);
  const guard = new ScaleGuard(c.target, c.progress);
  const pods: VolumePod[] = [];
  try {
    const targets = new Map<string, PodTarget>();
    if (embedded || window) {
      if (window) await window.enter(c, owner);
      else
        await guard.scaleDown(
          ns,
          [...volumes.values()].map((v) => v.deployment),
        );
      for (const [qualifier, v] of volumes) {
        // The server's user and pull secrets suit the server's image, not --volume-pod-image's.
        const like = window && !ctx.volumePodImage ? podLike(v.object, v.container) : undefined;
        const pod = await timed(c, 'start a volume pod', () =>
          VolumePod.start(
            c.target,
            {
              namespace: ns,
              owner: ref.name,
              purpose: 'files',
              image: like?.image ?? ctx.volumePodImage ?? DEFAULT_VOLUME_POD_IMAGE,
              like: like?.like,
              volumes: [{ claimName: v.claimName, mountPath: group[0].meta.mountPath }],
            },
            c.progress,
          ),
        );
        pods.push(pod);
        targets.set(qualifier, {
          namespace: ns,
          pod: pod.name,
          container: pod.container,
          via: 'volume-pod',
        });
      }
    } else {
      for (const [qualifier, v] of volumes) {
        const pod = await timed(c, `wait for a pod of ${v.deployment}`, () =>
          waitForPod(c.target, ns, v.deployment, c.signal),
        );
        targets.set(qualifier, {
          namespace: ns,
          pod: pod,
          container: v.container,
          via: 'app-pod',
        });
      }
    }
    await mapLimit(filesTrees(group), ctx.parallel, async (tree) => {
      if (c.signal.aborted) throw new OperationError('interrupted');
      const a = tree[0];
      const started = Date.now();
      await timed(c, `extract ${a.meta.dir} (${ref.name} ${a.meta.qualifier})`, () =>
        extractTree(c, ctx, targets.get(a.meta.qualifier)!, tree),
      );
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const size = tree.reduce((n, t) => n + t.entry.size, 0);
      c.progress(
        `restored ${a.meta.mountPath}/${a.meta.dir} of ${ref.name} ${a.meta.qualifier}: ${formatBytes(size)}${tree.length > 1 ? ` in ${tree.length} streams` : ''} in ${seconds.toFixed(1)} s (${(size / seconds / 1e6).toFixed(1)} MB/s)`,
      );
    });
  } finally {
    for (const p of pods) await p.delete();
    if (guard.active) await timed(c, `scale back ${ref.name}`, () => guard.restore());
  }
}

async function waitForPod(
  kube: KubeClient,
  namespace: string,
  deployment: string,
  signal: AbortSignal,
  timeoutMs = 300_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await runningPod(kube, namespace, deployment);
    if (pod) return pod.metadata.name;
    if (signal.aborted) throw new OperationError('interrupted');
    if (Date.now() > deadline) {
      throw new OperationError(
        `deployment ${namespace}/${deployment} has no ready pod to extract files in after ${timeoutMs / 1000}s`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Extracts into a fresh staging directory beside the target, in the pod. */
export const EXTRACT_SCRIPT = [
  'set -e',
  'cd "$1"',
  `s="${STAGING_PREFIX}$2"`,
  // keep: another stream of the same tree is (or was) extracted there (a split tree).
  'if [ "$4" != keep ]; then rm -rf "$s" && mkdir "$s"; fi',
  '[ -d "$s" ]',
  // GNU tar recreates the holes of sparse files; busybox would write its sparse map as a file.
  'if [ "$3" = sparse ] && ! tar --version 2>/dev/null | grep -q "GNU tar"; then',
  '  echo "the archive holds sparse files (holes kept) and the tar of this pod is not GNU tar: restore into a pod with GNU tar (--volume-pod-image for a volume pod)" >&2',
  '  exit 3',
  'fi',
  'exec tar -xpf - -C "$s"',
].join('\n');

/** A fresh staging directory for the streams of a split tree. */
export const STAGE_SCRIPT = [
  'set -e',
  'cd "$1"',
  `s="${STAGING_PREFIX}$2"`,
  'rm -rf "$s"',
  'mkdir "$s"',
].join('\n');

/**
 * Swaps the extracted directory in for the old one (run only after a checked, whole stream).
 * With $3, the extracted tree must hold that many entries (what the archive's tars hold): tar
 * exits 0 on a stream that ends at a header boundary without its end blocks, and `kubectl
 * exec` can lose the end of stdin (kubernetes/kubernetes#124571); names are counted by NUL,
 * so a name holding a newline counts once.
 */
export const SWAP_SCRIPT = [
  'set -e',
  'cd "$1"',
  'd="$2"',
  `s="${STAGING_PREFIX}$d"`,
  `o="${OLD_PREFIX}$d"`,
  '[ -d "$s/$d" ]',
  'if [ -n "$3" ]; then',
  '  n=$(find "$s/$d" -print0 | tr -cd "\\000" | wc -c | tr -d " ")',
  '  if [ "$n" != "$3" ]; then',
  '    echo "the extracted tree holds $n entries, the archive $3: the stream into tar was cut short (kubernetes/kubernetes#124571); $1/$d was left as it was: run the same restore with --existing update" >&2',
  '    exit 4',
  '  fi',
  'fi',
  'rm -rf "$o"',
  'if [ -e "$d" ] || [ -L "$d" ]; then mv "$d" "$o"; fi',
  'mv "$s/$d" "$d"',
  'rm -rf "$o" "$s"',
].join('\n');

async function* counted(
  source: AsyncIterable<Buffer>,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/**
 * Streams a directory's tar (or every stream of a split tree: 2..N at once, then 1) into
 * `tar -x` in the pod, into a staging directory; only once every stream went in whole and
 * matched its sha256 is the directory swapped in for the old one. An interrupted extraction
 * leaves the old directory in place and the staging one is started over by the next run.
 */
async function extractTree(
  c: StepContext,
  ctx: PlanContext,
  target: PodTarget,
  tree: ArchivedFiles[],
): Promise<void> {
  const { mountPath, dir } = tree[0].meta;
  if (tree.length === 1) {
    await extractEntry(c, ctx, target, tree[0], false);
  } else {
    await podExecOk(
      c.target.config,
      { ...target, command: ['sh', '-c', STAGE_SCRIPT, 'sh', mountPath, dir], signal: c.signal },
      `preparing ${mountPath}/${STAGING_PREFIX}${dir}`,
    );
    const last = tree[tree.length - 1];
    await mapLimit(tree.slice(0, -1), ctx.parallel, (a) => extractEntry(c, ctx, target, a, true));
    await extractEntry(c, ctx, target, last, true);
  }
  await timed(c, 'swap the extracted directory in', () =>
    podExecOk(
      c.target.config,
      {
        namespace: target.namespace,
        pod: target.pod,
        container: target.container,
        command: ['sh', '-c', SWAP_SCRIPT, 'sh', mountPath, dir, expectedEntries(tree)],
        signal: c.signal,
      },
      `swapping ${mountPath}/${dir} in`,
    ),
  );
}

/** The entries of a tree's tars together ('' when a count is unknown: no check). */
function expectedEntries(tree: ArchivedFiles[]): string {
  if (tree.some((a) => a.entries === undefined)) return '';
  return String(tree.reduce((n, a) => n + a.entries!, 0));
}

/** One tar into the staging directory (made fresh unless `keep`: a split tree's). */
async function extractEntry(
  c: StepContext,
  ctx: PlanContext,
  target: PodTarget,
  a: ArchivedFiles,
  keep: boolean,
): Promise<void> {
  const mountPath = a.meta.mountPath;
  const dir = a.meta.dir;
  const stream = entryStream(ctx.archive, a.entry);
  let sent = 0;
  try {
    await podExecOk(
      c.target.config,
      {
        namespace: target.namespace,
        pod: target.pod,
        container: target.container,
        command: [
          'sh',
          '-c',
          EXTRACT_SCRIPT,
          'sh',
          mountPath,
          dir,
          a.sparse ? 'sparse' : '',
          keep ? 'keep' : '',
        ],
        stdin: counted(stream, (n) => (sent += n)),
        signal: c.signal,
      },
      `tar -x into ${mountPath}/${STAGING_PREFIX}${dir}`,
    );
  } catch (err) {
    if (c.signal.aborted) {
      throw new OperationError(
        `${a.entry.path}: interrupted while extracting; ${mountPath}/${dir} was left as it was`,
      );
    }
    throw err;
  } finally {
    stream.destroy();
  }
  if (sent !== a.entry.size) {
    throw new OperationError(
      `${a.entry.path}: only ${sent} of ${a.entry.size} bytes were sent to tar -x; nothing swapped in`,
    );
  }
}
