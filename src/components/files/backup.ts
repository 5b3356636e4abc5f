import { Writable } from 'node:stream';
import { dataPath } from '../../archive/layout.js';
import type { ManifestEntry } from '../../archive/manifest.js';
import { OperationError, UserError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { CUT_HINT, podExec } from '../../kube/pod-exec.js';
import { TarEndCheck } from './tar-end.js';
import { DEFAULT_VOLUME_POD_IMAGE, VolumePod } from '../../kube/volume-pod.js';
import type { BackupContext } from '../component.js';
import type { FilesEntryMeta, FilesSummary } from '../../contract/manifest.js';
import { whenAborted } from '../../util/abort.js';
import { discoverVolumes, runningPod, type DataVolume } from './discover.js';
import { nulSeparated, parseTreeList, splitTree, type StreamShare } from './split.js';
import {
  LIST_TREE_SCRIPT,
  LIST_UNSUPPORTED,
  TAR_CREATE_SCRIPT,
  TAR_LIST_SCRIPT,
} from './pod-scripts.js';

export const COMPONENT = 'files';

/** Where a volume is read or written: the server's own pod, or a short-lived volume pod. */
export interface PodTarget {
  namespace: string;
  pod: string;
  container: string;
  via: 'app-pod' | 'volume-pod';
}

export type { FilesEntryMeta, FilesSummary } from '../../contract/manifest.js';

/**
 * Archive path of one directory's tar: data/files/<app|plugin>/<owner>/<qualifier>/<dir>.tar;
 * stream 2 and later of a split tree: <dir>.stream-<n>.tar.
 */
export function entryPathFor(
  v: Pick<DataVolume, 'owner' | 'qualifier' | 'cds'>,
  dir: string,
  stream = 1,
): string {
  const suffix = stream > 1 ? `.stream-${stream}` : '';
  // A CDS volume: data/files/cds/<namespace>/<deployment>/<dir>.tar (same depth, see precheck.ts).
  if (v.cds)
    return dataPath(COMPONENT, `cds/${v.cds.namespace}/${v.owner.name}/${dir}${suffix}.tar`);
  const kind = v.owner.kind === 'EntandoApp' ? 'app' : 'plugin';
  return dataPath(COMPONENT, `${kind}/${v.owner.name}/${v.qualifier}/${dir}${suffix}.tar`);
}

/** How a pod command runs: `podExec`, or a test's stand-in. */
export type PodExecFn = typeof podExec;

/** One tree streamed into the archive, with what its tar held. */
export interface StreamedDir {
  entry: ManifestEntry;
  /** Regular files in the tar, and their bytes. */
  files: number;
  fileBytes: number;
}

export function embeddedRefusal(owners: string[]): UserError {
  return new UserError(
    `${owners.join(', ')} ${owners.length === 1 ? 'uses' : 'use'} embedded databases (Derby/H2 files under /entando-data/databases): they are only consistent when copied with the app stopped. Run the backup again with --quiesce: the app and its plugins are scaled to 0 while their volumes are read through a short-lived pod, and always scaled back (on error and Ctrl-C too)`,
  );
}

/** `ls -1A` of a directory in a pod: the names in it. */
export async function listDir(
  kube: KubeClient,
  target: PodTarget,
  path: string,
  signal?: AbortSignal,
  exec: PodExecFn = podExec,
): Promise<string[]> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  const ran = await exec(kube.config, { ...target, command: ['ls', '-1A', path], stdout, signal });
  if (ran.exitCode !== 0) {
    const detail = ran.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new OperationError(
      `ls ${path} failed in pod ${target.namespace}/${target.pod} (exit code ${ran.exitCode})${detail ? `: ${detail}` : ''}`,
    );
  }
  return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
}

/**
 * Streams `tar -c` of one top-level directory from the pod's stdout straight into the archive
 * (in parts; no temporary tarball in the pod, no local copy). A tar that exits non-zero, or
 * an exec that ends without a status (the pod went away), fails with tar's stderr, even if
 * bytes were streamed.
 */
export async function streamDir(
  ctx: BackupContext,
  target: PodTarget,
  v: DataVolume,
  dir: string,
  signal: AbortSignal,
  split?: { stream: number; streams: number; share: StreamShare },
  exec: PodExecFn = podExec,
): Promise<StreamedDir> {
  const label = `files ${v.owner.name} ${v.qualifier}/${dir}${split ? ` (stream ${split.stream}/${split.streams})` : ''}`;
  const meta: FilesEntryMeta = {
    component: 'files',
    owner: v.owner,
    qualifier: v.qualifier,
    deployment: v.deployment,
    container: v.container,
    claimName: v.claimName,
    mountPath: v.mountPath,
    dir,
    embedded: dir === 'databases' && v.embedded,
    via: target.via,
    format: 'tar',
    ...(split ? { stream: split.stream, streams: split.streams } : {}),
    ...(v.cds ? { cds: v.cds } : {}),
  };
  // tar's stdout goes straight into the archive entry (no intermediate stream); its structure
  // is followed on the way, so that a stream cut short is not taken for a whole tree.
  const end = new TarEndCheck();
  const entry = ctx.archive.openEntry(entryPathFor(v, dir, split?.stream), meta, (n, chunk) => {
    end.see(chunk);
    ctx.progress.add(label, n);
  });
  let archiveError: Error | undefined;
  entry.on('error', (err) => (archiveError ??= err));
  const command = split
    ? ['sh', '-c', TAR_LIST_SCRIPT, 'sh', v.mountPath]
    : ['sh', '-c', TAR_CREATE_SCRIPT, 'sh', v.mountPath, dir];
  const ran = await exec(ctx.kube.config, {
    namespace: target.namespace,
    pod: target.pod,
    container: target.container,
    command,
    stdout: entry,
    ...(split ? { stdin: nulSeparated(split.share.names) } : {}),
    signal,
  }).catch((err: Error) => {
    entry.destroy();
    if (signal.aborted) throw new OperationError(`${label}: interrupted`);
    // The archive gave up first (and the exec was stopped for it): its reason is the real one.
    if (archiveError) throw archiveError;
    throw new OperationError(`${label}: ${err.message}`, { cause: err });
  });
  if (archiveError) throw archiveError;
  if (ran.exitCode !== 0) {
    const stderr = ran.stderr.trim().split('\n').slice(-3).join(' | ');
    const changed = /changed as we read it|shrank by|Cannot stat: No such file/.test(ran.stderr)
      ? ' (files changed while they were read: run with --quiesce for a point-in-time copy)'
      : '';
    throw new OperationError(
      `${label}: tar -c ${v.mountPath}/${dir} failed in pod ${target.namespace}/${target.pod} (exit code ${ran.exitCode})${stderr ? `: ${stderr}` : ''}${changed}`,
    );
  }
  const cut = end.problem();
  if (cut) {
    throw new OperationError(
      `${label}: tar -c ${v.mountPath}/${dir} in pod ${target.namespace}/${target.pod}: ${cut}; ${CUT_HINT}`,
    );
  }
  if (!entry.entry) throw new OperationError(`${label}: the archive entry was not completed`);
  ctx.progress.finish(label);
  return { entry: entry.entry, files: end.files, fileBytes: end.fileBytes };
}

/**
 * The files of the app and its plugins: /entando-data/protected and resources of the app
 * engine, databases/ of every embedded server, entando-indices on request. Read in the
 * server's pod while the app runs; with --quiesce (the orchestrator has scaled everything to
 * 0) through a short-lived pod that mounts the PVC read-only.
 */
export async function backupFiles(ctx: BackupContext): Promise<void> {
  const { volumes } = await discoverVolumes(ctx.kube, ctx.app, ctx.options.includeIndices);
  const embeddedOwners = [
    ...new Set(volumes.filter((v) => v.embedded).map((v) => `${v.owner.kind} ${v.owner.name}`)),
  ];
  if (embeddedOwners.length > 0 && !ctx.options.quiesce) throw embeddedRefusal(embeddedOwners);
  const summary: FilesSummary = (ctx.archive.manifest.components.files ??= { volumes: [] });
  if (volumes.length === 0) return;

  const local = new AbortController();
  const stopWatching = whenAborted(ctx.signal, () => local.abort());
  const pods: VolumePod[] = [];
  const image = ctx.options.volumePodImage ?? DEFAULT_VOLUME_POD_IMAGE;
  try {
    const prepared = await Promise.all(
      volumes.map(async (v) => {
        let target: PodTarget | undefined;
        const pod = ctx.options.quiesce
          ? undefined
          : await runningPod(ctx.kube, ctx.namespace, v.deployment);
        if (pod) {
          target = {
            namespace: ctx.namespace,
            pod: pod.metadata.name,
            container: v.container,
            via: 'app-pod',
          };
        } else {
          if (
            !ctx.options.quiesce &&
            !(await scaledToZero(ctx.kube, ctx.namespace, v.deployment))
          ) {
            throw new OperationError(
              `${v.owner.kind} ${v.owner.name}: deployment ${v.deployment} has no ready pod to read ${v.mountPath} from: wait until it is ready, or run with --quiesce`,
            );
          }
          const vp = await VolumePod.start(
            ctx.kube,
            {
              namespace: ctx.namespace,
              owner: v.owner.name,
              purpose: 'files',
              image,
              volumes: [{ claimName: v.claimName, mountPath: v.mountPath, readOnly: true }],
            },
            (m) => ctx.output.progress(m),
          );
          pods.push(vp);
          target = {
            namespace: ctx.namespace,
            pod: vp.name,
            container: vp.container,
            via: 'volume-pod',
          };
        }
        const present = new Set(await listDir(ctx.kube, target, v.mountPath, local.signal));
        return { v, target, present };
      }),
    );
    const work: Promise<unknown>[] = [];
    for (const { v, target, present } of prepared) {
      const record: FilesSummary['volumes'][number] = {
        owner: v.owner,
        qualifier: v.qualifier,
        claimName: v.claimName,
        via: target.via,
        dirs: [],
        missing: v.dirs.filter((d) => !present.has(d)),
      };
      summary.volumes.push(record);
      if (v.embedded && record.missing.includes('databases')) {
        ctx.results.warn(
          `${v.owner.kind} ${v.owner.name}`,
          `uses embedded databases but ${v.claimName} has no ${v.mountPath}/databases (never started?)`,
        );
      }
      for (const dir of v.dirs.filter((d) => present.has(d))) {
        const stream = (split?: { stream: number; streams: number; share: StreamShare }) =>
          ctx.streams
            .run(() => {
              if (local.signal.aborted) throw new OperationError('interrupted');
              ctx.output.debug(
                `tar -c ${v.mountPath}/${dir}${split ? ` stream ${split.stream}/${split.streams} (${split.share.names.length} names)` : ''} in ${target.via} ${target.pod}`,
              );
              return streamDir(ctx, target, v, dir, local.signal, split);
            })
            .then(
              ({ entry }) =>
                record.dirs.push({
                  dir,
                  entry: entry.path,
                  bytes: entry.size,
                  ...(split ? { stream: split.stream } : {}),
                }),
              (err: unknown) => {
                local.abort();
                throw err;
              },
            );
        const wanted = ctx.options.fileStreams ?? 1;
        if (wanted <= 1) {
          work.push(stream());
          continue;
        }
        // The listing runs outside the stream bound (it is short), so that the streams it
        // leads to never wait behind a slot their own listing holds.
        work.push(
          treeShares(ctx, target, v, dir, wanted, local.signal).then(
            async (shares): Promise<unknown> =>
              shares.length <= 1
                ? stream()
                : settleAll(
                    shares.map((share, i) =>
                      stream({ stream: i + 1, streams: shares.length, share }),
                    ),
                  ),
            (err: unknown) => {
              local.abort();
              throw err;
            },
          ),
        );
      }
    }
    await settleAll(work);
  } finally {
    stopWatching();
    for (const p of pods) await p.delete();
  }
}

/**
 * How one directory is dealt to `wanted` streams (see split.ts); one share (read as before)
 * where the pod lacks GNU find and tar, or the tree is small.
 */
async function treeShares(
  ctx: BackupContext,
  target: PodTarget,
  v: DataVolume,
  dir: string,
  wanted: number,
  signal: AbortSignal,
): Promise<StreamShare[]> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  const label = `files ${v.owner.name} ${v.qualifier}/${dir}`;
  const ran = await podExec(ctx.kube.config, {
    ...target,
    command: ['sh', '-c', LIST_TREE_SCRIPT, 'sh', v.mountPath, dir],
    stdout,
    signal,
  }).catch((err: Error) => {
    if (signal.aborted) throw new OperationError(`${label}: interrupted`);
    throw new OperationError(`${label}: listing the tree: ${err.message}`, { cause: err });
  });
  if (ran.exitCode === LIST_UNSUPPORTED) {
    ctx.output.debug(`${label}: one stream (the pod has no GNU find and tar to split it)`);
    return [];
  }
  if (ran.exitCode !== 0) {
    const stderr = ran.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new OperationError(
      `${label}: find ${v.mountPath}/${dir} failed in pod ${target.namespace}/${target.pod} (exit code ${ran.exitCode})${stderr ? `: ${stderr}` : ''}`,
    );
  }
  return splitTree(parseTreeList(Buffer.concat(chunks)), wanted);
}

/** Waits for every task (none left running); then throws the first real failure, if any. */
async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw firstReal(settled) ?? failed.reason;
}

/** The first failure that is not a consequence of our own abort of the others. */
function firstReal(settled: PromiseSettledResult<unknown>[]): unknown {
  return settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => s.reason as Error)
    .find((e) => !/interrupted/.test(e?.message ?? ''));
}

async function scaledToZero(kube: KubeClient, namespace: string, name: string): Promise<boolean> {
  const d = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
  const replicas = (d?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const current = (d?.status as { replicas?: number } | undefined)?.replicas ?? 0;
  return replicas === 0 && current === 0;
}
