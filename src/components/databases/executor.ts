import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/object.js';
import { podExec, type PodExecResult } from '../../kube/pod-exec.js';
import type { Datasource, Dbms } from './discovery.js';
import { serviceOfHost } from '../../kube/service-host.js';

/** Where a datasource's native tools run: the DBMS's own pod, or a short-lived client pod. */
export interface DbExecutor {
  /** "pod ns/name (container c)", for messages. */
  readonly where: string;
  /** dbms-pod: tools talk to the server on localhost; client-pod: to host:port over the network. */
  readonly kind: 'dbms-pod' | 'client-pod';
  exec(
    command: string[],
    io: {
      stdin?: AsyncIterable<Buffer | string> | Iterable<Buffer | string>;
      stdout?: Writable;
      signal?: AbortSignal;
    },
  ): Promise<PodExecResult>;
}

export class PodExecutor implements DbExecutor {
  readonly where: string;

  constructor(
    private readonly config: KubeConfig,
    readonly namespace: string,
    readonly pod: string,
    readonly container: string | undefined,
    readonly kind: 'dbms-pod' | 'client-pod',
  ) {
    this.where = `pod ${namespace}/${pod}${container ? ` (container ${container})` : ''}`;
  }

  exec(command: string[], io: Parameters<DbExecutor['exec']>[1]): Promise<PodExecResult> {
    return podExec(this.config, {
      namespace: this.namespace,
      pod: this.pod,
      container: this.container,
      command,
      ...io,
    });
  }
}

/** Default client images per DBMS (override with --db-client-image). */
export const DEFAULT_CLIENT_IMAGES: Record<'postgresql' | 'mysql', string> = {
  postgresql: 'docker.io/library/postgres:16-alpine',
  mysql: 'docker.io/library/mysql:8.0',
};

const CONTAINER_NAMES = ['db-container'];

/**
 * Finds where to run a datasource's tools. A JDBC host that names a Service of the cluster
 * whose selector picks running pods is an in-cluster DBMS (the in-namespace DBMS of Entando):
 * the tools run in that pod and reach the server on localhost. Anything else (an external
 * host, an ExternalName service of an EntandoDatabaseService with UseExternal) is reached from
 * a short-lived client pod in the app's namespace.
 */
export async function locateDbmsPod(
  kube: KubeClient,
  namespace: string,
  ds: Pick<Datasource, 'host' | 'dbms'>,
): Promise<{ pod: string; container?: string; namespace: string } | undefined> {
  const svc = serviceOfHost(ds.host, namespace);
  if (!svc) return undefined;
  const service = await kube.get({
    apiVersion: 'v1',
    kind: 'Service',
    namespace: svc.namespace,
    name: svc.name,
  });
  if (!service) return undefined;
  const selector = (service.spec as { selector?: Record<string, string> } | undefined)?.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const labelSelector = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await kube.list('v1', 'Pod', svc.namespace, labelSelector);
  const running = pods.filter(
    (p) =>
      (p.status as { phase?: string } | undefined)?.phase === 'Running' &&
      !p.metadata.deletionTimestamp,
  );
  if (running.length === 0) {
    throw new OperationError(
      `the DBMS service ${svc.namespace}/${svc.name} has no running pod (${pods.length} pods match its selector): start it, then run again`,
    );
  }
  const pod = running[0];
  return { pod: pod.metadata.name, container: containerOf(pod, ds.dbms), namespace: svc.namespace };
}

function containerOf(pod: KubeObject, dbms: Dbms): string | undefined {
  const names = (
    ((pod.spec as { containers?: { name: string; image?: string }[] })?.containers ?? []) as {
      name: string;
      image?: string;
    }[]
  ).map((c) => c.name);
  const known = names.find((n) => CONTAINER_NAMES.includes(n));
  if (known) return known;
  const byImage = (
    (pod.spec as { containers?: { name: string; image?: string }[] })?.containers ?? []
  ).find((c) => (c.image ?? '').includes(dbms === 'mysql' ? 'mysql' : dbms));
  return byImage?.name ?? names[0];
}

/**
 * Short-lived client pods (one per namespace and image), created when first needed and always
 * deleted by `dispose()`. They run `sleep` and die by themselves after activeDeadlineSeconds
 * should this process be killed before it can delete them.
 */
export class ClientPods {
  private readonly pods = new Map<string, Promise<PodExecutor>>();
  private readonly created: { namespace: string; name: string }[] = [];

  constructor(
    private readonly kube: KubeClient,
    private readonly owner: string,
    private readonly imageOverride: string | undefined,
    private readonly log: (m: string) => void = () => undefined,
  ) {}

  imageFor(dbms: 'postgresql' | 'mysql'): string {
    return this.imageOverride ?? DEFAULT_CLIENT_IMAGES[dbms];
  }

  get(namespace: string, dbms: 'postgresql' | 'mysql'): Promise<PodExecutor> {
    const image = this.imageFor(dbms);
    const key = `${namespace}/${image}`;
    let pod = this.pods.get(key);
    if (!pod) {
      pod = this.create(namespace, image);
      this.pods.set(key, pod);
    }
    return pod;
  }

  async dispose(): Promise<void> {
    for (const p of this.created.splice(0)) {
      this.log(`deleting the database client pod ${p.namespace}/${p.name}`);
      await this.kube
        .delete({ apiVersion: 'v1', kind: 'Pod', namespace: p.namespace, name: p.name })
        .catch(() => undefined);
    }
    this.pods.clear();
  }

  private async create(namespace: string, image: string): Promise<PodExecutor> {
    const name = `${this.owner.slice(0, 40).replace(/-+$/, '')}-db-client-${randomBytes(3).toString('hex')}`;
    this.log(`starting the database client pod ${namespace}/${name} (${image})`);
    await this.kube.create(clientPod(namespace, name, image));
    this.created.push({ namespace, name });
    const deadline = Date.now() + 180_000;
    for (;;) {
      const pod = await this.kube.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
      const status = (pod?.status ?? {}) as {
        phase?: string;
        containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
      };
      if (status.phase === 'Running') break;
      const waiting = status.containerStatuses?.[0]?.state?.waiting;
      if (status.phase === 'Failed' || status.phase === 'Succeeded' || Date.now() > deadline) {
        throw new OperationError(
          `the database client pod ${namespace}/${name} (image ${image}) did not start: ${waiting?.reason ?? status.phase ?? 'pending'}${waiting?.message ? ` (${waiting.message})` : ''}; choose another image with --db-client-image`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return new PodExecutor(this.kube.config, namespace, name, 'client', 'client-pod');
  }
}

export const CLIENT_POD_LABEL = 'kubectl-entando/db-client';

export function clientPod(namespace: string, name: string, image: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'kubectl-entando', [CLIENT_POD_LABEL]: 'true' },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      activeDeadlineSeconds: 6 * 3600,
      containers: [
        {
          name: 'client',
          image,
          command: ['sleep', '21600'],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
        },
      ],
    },
  };
}

/** The executor for a datasource: its DBMS pod, else a client pod in `namespace`. */
export async function executorFor(
  kube: KubeClient,
  namespace: string,
  ds: Pick<Datasource, 'host' | 'dbms'>,
  clients: ClientPods,
): Promise<DbExecutor> {
  const local = await locateDbmsPod(kube, namespace, ds);
  if (local) {
    return new PodExecutor(kube.config, local.namespace, local.pod, local.container, 'dbms-pod');
  }
  if (ds.dbms === 'oracle') throw new OperationError('Oracle has no client pod');
  return clients.get(namespace, ds.dbms);
}
