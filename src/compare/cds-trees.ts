/**
 * The CDS volumes of an app and its tenants (where their files live once CDS is on), found and
 * read as a backup finds and reads them (entando/cds.ts, components/files/cds-backup.ts): a
 * volume pod mounting the PVC read-only, pinned to the CDS pod's node. The CDS image has no
 * shell to list files with, so this is the one pod compare starts; it is always deleted.
 */
import { errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import type { VolumePod } from '../kube/volume-pod.js';
import { CDS_DIRS, discoverCds, type CdsServer } from '../entando/cds.js';
import { readTenants } from '../entando/tenants.js';
import { listDir } from '../components/files/backup.js';
import { startCdsReader } from '../components/files/cds-backup.js';
import { mapLimit } from '../util/limit.js';
import { readTree, type TreeState } from './files.js';

/**
 * A CDS tree's key on both sides: the tenants it serves ('primary' the app's own) and the
 * directory, never the namespace or Deployment (`tenant t1 cds/public`).
 */
export function cdsTreeKey(tenants: readonly string[], dir: string): string {
  return `${tenants.length > 1 ? 'tenants' : 'tenant'} ${tenants.join(', ')} cds/${dir}`;
}

export interface CdsTreeOptions {
  quick: boolean;
  parallel: number;
  volumePodImage?: string;
  signal?: AbortSignal;
  progress?: (m: string) => void;
}

/** Every CDS tree of the app; a tenant whose CDS cannot be followed is a problem naming it. */
export async function collectCdsTrees(
  kube: KubeClient,
  app: KubeObject,
  opts: CdsTreeOptions,
): Promise<{ trees: TreeState[]; problems: string[] }> {
  const { facts, configs } = await readTenants(kube, app);
  if (!facts.cdsEnabled && configs.length === 0) return { trees: [], problems: [] };
  const found = await discoverCds(kube, app, facts, configs);
  const problems = found.problems.map((p) => `tenant ${p.tenant}: CDS not found: ${p.message}`);
  const pods: VolumePod[] = [];
  try {
    const trees = await mapLimit(found.servers, opts.parallel, (s) =>
      readServer(kube, s, pods, opts),
    );
    return { trees: trees.flat(), problems };
  } finally {
    for (const p of pods) await p.delete();
  }
}

async function readServer(
  kube: KubeClient,
  s: CdsServer,
  pods: VolumePod[],
  opts: CdsTreeOptions,
): Promise<TreeState[]> {
  try {
    const { pod } = await startCdsReader(kube, s, opts.volumePodImage, (m) => opts.progress?.(m));
    pods.push(pod);
    const target = { namespace: s.namespace, pod: pod.name, container: pod.container };
    const present = new Set(
      await listDir(kube, { ...target, via: 'volume-pod' }, s.mountPath, opts.signal),
    );
    const out: TreeState[] = [];
    for (const dir of CDS_DIRS.filter((d) => present.has(d))) {
      out.push({
        key: cdsTreeKey(s.tenants, dir),
        entries: await readTree(kube, target, s.mountPath, dir, opts.quick, opts.signal),
      });
    }
    return out;
  } catch (err) {
    const error = `CDS ${s.namespace}/${s.deployment}: ${errorMessage(err)}`;
    return CDS_DIRS.map((dir) => ({ key: cdsTreeKey(s.tenants, dir), error }));
  }
}
