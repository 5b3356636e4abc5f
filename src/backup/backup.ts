import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionKeys } from '../archive/encryption.js';
import { newManifest, type Manifest } from '../archive/manifest.js';
import { ArchiveWriter } from '../archive/writer.js';
import { COMPONENTS } from '../components/index.js';
import {
  DEFAULT_BACKUP_OPTIONS,
  type BackupOptions,
  type Component,
} from '../components/component.js';
import { estimateStreams } from './estimate.js';
import { resumeInterrupted, ScaleGuard } from '../kube/scale.js';
import { Limiter } from '../util/limit.js';
import { whenAborted } from '../util/abort.js';
import { appDeployments } from '../components/resources/deployments.js';
import { findApp } from '../components/resources/find-app.js';
import { entandoVersion, IMAGE_INFO } from '../entando/kinds.js';
import { OperationError, UserError } from '../errors.js';
import { KubeClient, apiErrorMessage } from '../kube/client.js';
import type { ResolvedKube } from '../kube/kubeconfig.js';
import type { Output } from '../report/output.js';
import { Results } from '../report/results.js';
import { TOOL } from '../version.js';

export interface BackupRequest {
  kube: ResolvedKube;
  appName?: string;
  /** Destination file; default `<app>-<namespace>-<UTC timestamp>.tar[.age]` in the cwd. */
  file?: string;
  /** Undefined: a plain tar (the user asked for --no-encrypt). */
  keys: EncryptionKeys | undefined;
  output: Output;
  signal: AbortSignal;
  components?: readonly Component[];
  options?: Partial<BackupOptions>;
  now?: Date;
}

export interface BackupOutcome {
  file: string;
  manifest: Manifest;
  results: Results;
  encryption: string;
}

export async function runBackup(req: BackupRequest): Promise<BackupOutcome> {
  const kube = new KubeClient(req.kube.config);
  const ns = req.kube.namespace;
  const app = await findApp(kube, ns, req.appName);
  const appName = app.metadata.name;
  const now = req.now ?? new Date();
  const file = req.file ?? defaultFileName(appName, ns, now, !!req.keys);
  const imageInfo = await kube.get({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ns,
    name: IMAGE_INFO,
  });
  const manifest = newManifest(
    TOOL,
    {
      server: req.kube.server,
      context: req.kube.contextName,
      namespace: ns,
      app: appName,
      entandoVersion: entandoVersion(imageInfo?.data as Record<string, string> | undefined),
    },
    now,
  );
  const results = new Results();
  const options = { ...DEFAULT_BACKUP_OPTIONS, ...req.options };
  const progress = req.output.streamProgress();
  if (fs.existsSync(file))
    throw new UserError(`${file} already exists: choose another --file or remove it`);
  let writer: ArchiveWriter;
  try {
    writer = await ArchiveWriter.open(file, manifest, {
      encryptor: req.keys ? await req.keys.encryptor() : undefined,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOENT' || code === 'EACCES') {
      throw new UserError(`cannot write next to ${file} (${code}): choose another --file`);
    }
    throw err;
  }
  const guard = new ScaleGuard(kube, (m) => req.output.progress(m));
  const stopWatching = whenAborted(
    req.signal,
    () => void writer.abort(new OperationError('interrupted')),
  );
  try {
    const deployments = await appDeployments(kube, app);
    // Before any scale-down: the sizes are read in the running pods.
    await estimateStreams(kube, app, options, progress, req.signal);
    if (options.quiesce) {
      // Honours what an earlier, killed run recorded: the original replicas, not today's 0.
      req.output.progress('quiescing: scaling the app and its plugins to 0');
      await guard.scaleDown(ns, deployments);
    } else {
      await undoLeftScaleDown(kube, ns, deployments, guard, req.output);
    }
    const streams = new Limiter(options.parallel);
    const context = {
      options,
      streams,
      progress,
      kube,
      namespace: ns,
      app,
      archive: writer,
      results,
      output: req.output,
      signal: req.signal,
    };
    const running = (req.components ?? COMPONENTS).map((component) =>
      component.backup(context).catch((err: unknown) => {
        throw err instanceof UserError || err instanceof OperationError
          ? err
          : new OperationError(`${component.name}: ${apiErrorMessage(err)}`, { cause: err });
      }),
    );
    const settled = await Promise.allSettled(running);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (!results.ok)
      throw new OperationError(
        `backup failed: ${results.errors.map((e) => `${e.where}: ${e.message}`).join('; ')}`,
      );
    manifest.warnings = results.warnings.map((w) => `${w.where}: ${w.message}`);
    await writer.commit();
  } catch (err) {
    await writer.abort(err instanceof Error ? err : new Error(String(err)));
    if (req.signal.aborted) throw new OperationError('backup interrupted: no archive was written');
    if (err instanceof UserError || err instanceof OperationError) throw err;
    throw new OperationError(`backup failed: ${apiErrorMessage(err)}`, { cause: err });
  } finally {
    progress.stop();
    stopWatching();
    if (guard.active) {
      req.output.progress('scaling the app and its plugins back');
      await guard.restore();
    }
  }
  return { file, manifest, results, encryption: req.keys?.description ?? 'none' };
}

/**
 * A --quiesce run that was killed outright (no chance to undo) leaves the app at 0 with the
 * original replicas in an annotation: a live backup puts them back first and waits for them.
 */
async function undoLeftScaleDown(
  kube: KubeClient,
  ns: string,
  deployments: string[],
  guard: ScaleGuard,
  output: Output,
): Promise<void> {
  const undone = await resumeInterrupted(kube, ns, (m) => output.progress(m), deployments);
  for (const s of undone) await guard.waitForPods(ns, s.name, s.replicas, 300_000);
}

export function defaultFileName(app: string, ns: string, now: Date, encrypted: boolean): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return path.join(process.cwd(), `${app}-${ns}-${stamp}.tar${encrypted ? '.age' : ''}`);
}
