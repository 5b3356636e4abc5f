import { EntandoKind, serverStatuses } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject } from '../../kube/object.js';
import { linkedPlugins } from '../resources/deployments.js';
import type { CdsVolumeFacts } from '../../contract/manifest.js';

export { linkedPlugins };

/** Where every Entando server keeps its files (REFERENCE.md: /entando-data). */
export const DATA_PATH = '/entando-data';

/** Top-level directories of /entando-data and when they are copied. */
export const APP_DIRS = ['protected', 'resources'] as const;
export const DATABASES_DIR = 'databases';
export const INDICES_DIR = 'entando-indices';

/** Servers with no volume or with their own data the operator regenerates. */
const NO_FILES = new Set(['db', 'sso', 'ab']);

export interface Owner {
  kind: string;
  name: string;
  /** A secondary tenant's code (a CDS volume's first tenant). */
  tenant?: string;
}

/** One PVC of an Entando server, mounted at /entando-data in its deployment. */
export interface DataVolume {
  owner: Owner;
  /** serverStatuses key: main (app engine), cm (component manager), server (a plugin). */
  qualifier: string;
  deployment: string;
  container: string;
  claimName: string;
  mountPath: string;
  /** The owner's databases are embedded (Derby/H2 files under databases/). */
  embedded: boolean;
  /** Top-level directories to copy, if they exist. */
  dirs: string[];
  /** A CDS volume (owner: its Deployment), not an Entando server's. */
  cds?: CdsVolumeFacts;
}

/** dbms omitted means embedded (REFERENCE.md). */
export function isEmbedded(owner: KubeObject): boolean {
  const dbms = spec(owner).dbms as string | undefined;
  return dbms === undefined || dbms === '' || dbms === 'embedded';
}

interface Container {
  name: string;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  spec?: {
    containers?: Container[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
}

/** The container and PVC mounted at /entando-data in a deployment's pod template. */
export function dataMount(
  deployment: KubeObject,
  preferredContainer?: string,
): { container: string; claimName: string; mountPath: string } | undefined {
  const template = (deployment.spec as { template?: PodTemplate } | undefined)?.template;
  const containers = template?.spec?.containers ?? [];
  const volumes = template?.spec?.volumes ?? [];
  const ordered = [
    ...containers.filter((c) => c.name === preferredContainer),
    ...containers.filter((c) => c.name !== preferredContainer),
  ];
  for (const c of ordered) {
    for (const m of c.volumeMounts ?? []) {
      if (m.mountPath.replace(/\/+$/, '') !== DATA_PATH) continue;
      const claim = volumes.find((v) => v.name === m.name)?.persistentVolumeClaim?.claimName;
      if (claim) return { container: c.name, claimName: claim, mountPath: DATA_PATH };
    }
  }
  return undefined;
}

/** Deployments of an Entando CR's servers that may hold files, by qualifier (from status). */
export function serverDeployments(owner: KubeObject): { qualifier: string; deployment: string }[] {
  return Object.entries(serverStatuses(owner))
    .filter(([q, s]) => !NO_FILES.has(q) && s.deploymentName)
    .map(([qualifier, s]) => ({ qualifier, deployment: s.deploymentName! }));
}

/** What to copy of one volume: the app engine's content, and databases/ when embedded. */
export function dirsFor(
  qualifier: string,
  ownerKind: string,
  embedded: boolean,
  includeIndices: boolean,
): string[] {
  const appEngine = ownerKind === EntandoKind.App && qualifier === 'main';
  const dirs: string[] = appEngine ? [...APP_DIRS] : [];
  if (embedded) dirs.push(DATABASES_DIR);
  if (appEngine && includeIndices) dirs.push(INDICES_DIR);
  return dirs;
}

/** The volumes of the owner's servers, with the deployment and container that mount them. */
export async function ownerVolumes(
  kube: KubeClient,
  owner: KubeObject,
  includeIndices: boolean,
): Promise<DataVolume[]> {
  const ns = owner.metadata.namespace!;
  const embedded = isEmbedded(owner);
  const out: DataVolume[] = [];
  for (const { qualifier, deployment } of serverDeployments(owner)) {
    const dirs = dirsFor(qualifier, owner.kind, embedded, includeIndices);
    if (dirs.length === 0) continue;
    const d = await kube.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: deployment,
    });
    if (!d) {
      throw new OperationError(
        `${owner.kind} ${owner.metadata.name}: its ${qualifier} deployment ${deployment} (status.serverStatuses) does not exist`,
      );
    }
    const mount = dataMount(d);
    if (!mount) continue; // a server without a volume at /entando-data has no files to keep
    out.push({
      owner: { kind: owner.kind, name: owner.metadata.name },
      qualifier,
      deployment,
      ...mount,
      embedded,
      dirs,
    });
  }
  return out;
}

/** Every volume of the app and its linked plugins that holds files worth keeping. */
export async function discoverVolumes(
  kube: KubeClient,
  app: KubeObject,
  includeIndices: boolean,
): Promise<{ volumes: DataVolume[]; owners: KubeObject[] }> {
  const owners = [app, ...(await linkedPlugins(kube, app))];
  const volumes: DataVolume[] = [];
  for (const owner of owners) volumes.push(...(await ownerVolumes(kube, owner, includeIndices)));
  return { volumes, owners };
}

/** A running pod of a deployment, found by the operator's `entando.org/deployment` label. */
export async function runningPod(
  kube: KubeClient,
  namespace: string,
  deployment: string,
): Promise<KubeObject | undefined> {
  const pods = await kube.list('v1', 'Pod', namespace, `entando.org/deployment=${deployment}`);
  return pods.find((p) => {
    const status = (p.status ?? {}) as {
      phase?: string;
      conditions?: { type: string; status: string }[];
    };
    return (
      status.phase === 'Running' &&
      !p.metadata.deletionTimestamp &&
      (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
    );
  });
}
