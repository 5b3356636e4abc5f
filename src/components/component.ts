import type { ArchiveWriter } from '../archive/writer.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import type { Output } from '../report/output.js';
import type { Results } from '../report/results.js';
import type { RestoreMapping } from '../restore/mapping.js';
import type { PlanStep } from '../restore/plan.js';
import type { Manifest } from '../archive/manifest.js';

/** What every component's backup sees. */
export interface BackupContext {
  kube: KubeClient;
  namespace: string;
  app: KubeObject;
  archive: ArchiveWriter;
  results: Results;
  output: Output;
  signal: AbortSignal;
}

/** The archive's content as a restore plans from it: manifest plus the captured objects. */
export interface LoadedArchive {
  file: string;
  manifest: Manifest;
  objects: KubeObject[];
}

/** What to do with an object that already exists in the target. */
export type ExistingPolicy = 'fail' | 'skip' | 'update';

export interface PlanContext {
  archive: LoadedArchive;
  existing: ExistingPolicy;
  mapping: RestoreMapping;
  target: KubeClient;
  results: Results;
}

/**
 * One part of an application's backup: Kubernetes objects now; databases, files, Keycloak and
 * bundles later. The orchestrators loop over components without knowing what they are: each
 * writes its entries (and a summary in the manifest) and turns them back into plan steps.
 */
export interface Component {
  readonly name: string;
  backup(ctx: BackupContext): Promise<void>;
  plan(ctx: PlanContext): Promise<PlanStep[]>;
}
