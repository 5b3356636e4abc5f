import { randomBytes } from 'node:crypto';
import { OperationError } from '../errors.js';
import type { KubeClient } from './client.js';
import type { KubeObject } from './object.js';
import { podExec, podExecOk, type PodExecRequest, type PodExecResult } from './pod-exec.js';

/** A small image that has `sh`, `tar`, `ls`, `mv`, `rm` and `sleep` (override: --volume-pod-image). */
export const DEFAULT_VOLUME_POD_IMAGE = 'docker.io/library/busybox:1.36';

export const VOLUME_POD_LABEL = 'kubectl-entando/volume-pod';

export interface VolumeMount {
  claimName: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface VolumePodSpec {
  namespace: string;
  /** Prefix of the pod's name (an app or plugin name); a random suffix is added. */
  owner: string;
  /** What the pod is for, in its name and label: "files", "db-client"... */
  purpose: string;
  image: string;
  /** PVCs to mount; none for a pod that only runs client tools. */
  volumes?: VolumeMount[];
  /** Seconds after which the pod dies by itself should we be killed before deleting it. */
  deadlineSeconds?: number;
  /** Runs as a server's container would (same user, pull secrets, nodes): see `podLike`. */
  like?: ServerPodLikeness;
  /**
   * Runs on this node, scheduler bypassed: a ReadWriteOnce volume that a running pod mounts is
   * attached to that pod's node only, and a pod elsewhere would wait for it forever
   * (Multi-Attach), so a reader beside a running server must land on its node.
   */
  nodeName?: string;
}

/**
 * What a volume pod takes over from a server's pod template to act on its files as it does:
 * pod-level fields (`POD_FIELDS`) and the container's `securityContext`, those set only.
 */
export interface ServerPodLikeness {
  pod: Record<string, unknown>;
  container: Record<string, unknown>;
}

/** The pod spec fields taken over: the user, pull secrets and nodes of the server's pods. */
const POD_FIELDS = [
  'securityContext',
  'imagePullSecrets',
  'serviceAccountName',
  'nodeSelector',
  'tolerations',
] as const;

/**
 * The image of a deployment's container and what a pod needs to act as it does: its files are
 * then written by the same tar, as the same user, with the image already pulled on the nodes.
 */
export function podLike(
  deployment: KubeObject,
  container: string,
): { image: string; like: ServerPodLikeness } | undefined {
  const spec = (deployment.spec as { template?: { spec?: Record<string, unknown> } } | undefined)
    ?.template?.spec;
  const containers = (spec?.containers ?? []) as {
    name: string;
    image?: string;
    securityContext?: unknown;
  }[];
  const c = containers.find((x) => x.name === container);
  if (!spec || !c?.image) return undefined;
  const pod = Object.fromEntries(
    POD_FIELDS.filter((f) => spec[f] !== undefined).map((f) => [f, spec[f]]),
  );
  const own = c.securityContext !== undefined ? { securityContext: c.securityContext } : {};
  return { image: c.image, like: { pod, container: own } };
}

const CONTAINER = 'worker';

/**
 * A short-lived pod that mounts PVCs (or none) and sleeps, for running tools in beside the
 * app: reading a volume of a deployment scaled to 0, loading one. Created by `start()`, which
 * waits until it runs; always removed by `delete()` (call it from `finally`). If this process
 * dies first, `activeDeadlineSeconds` ends the pod by itself.
 */
export class VolumePod {
  private deleted = false;

  private constructor(
    private readonly kube: KubeClient,
    readonly namespace: string,
    readonly name: string,
    readonly image: string,
  ) {}

  static manifest(spec: VolumePodSpec, name: string): KubeObject {
    const volumes = spec.volumes ?? [];
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: spec.namespace,
        labels: {
          'app.kubernetes.io/managed-by': 'kubectl-entando',
          [VOLUME_POD_LABEL]: spec.purpose,
        },
      },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 0,
        activeDeadlineSeconds: spec.deadlineSeconds ?? 6 * 3600,
        ...spec.like?.pod,
        ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
        containers: [
          {
            name: CONTAINER,
            image: spec.image,
            command: ['sleep', String(spec.deadlineSeconds ?? 6 * 3600)],
            ...spec.like?.container,
            resources: { requests: { cpu: '100m', memory: '64Mi' } },
            volumeMounts: volumes.map((v, i) => ({
              name: `data-${i}`,
              mountPath: v.mountPath,
              ...(v.readOnly ? { readOnly: true } : {}),
            })),
          },
        ],
        volumes: volumes.map((v, i) => ({
          name: `data-${i}`,
          persistentVolumeClaim: {
            claimName: v.claimName,
            ...(v.readOnly ? { readOnly: true } : {}),
          },
        })),
      },
    };
  }

  /** Creates the pod and waits until it runs (an image that cannot start is an error). */
  static async start(
    kube: KubeClient,
    spec: VolumePodSpec,
    log: (m: string) => void = () => undefined,
    timeoutMs = 180_000,
  ): Promise<VolumePod> {
    const owner = spec.owner
      .slice(0, 40)
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/-+$/, '');
    const name = `${owner}-${spec.purpose}-${randomBytes(3).toString('hex')}`;
    const what = (spec.volumes ?? []).map((v) => v.claimName).join(', ');
    log(`starting pod ${spec.namespace}/${name} (${spec.image})${what ? ` mounting ${what}` : ''}`);
    await kube.create(VolumePod.manifest(spec, name));
    const pod = new VolumePod(kube, spec.namespace, name, spec.image);
    try {
      await pod.waitRunning(timeoutMs);
    } catch (err) {
      await pod.delete();
      throw err;
    }
    return pod;
  }

  exec(req: Omit<PodExecRequest, 'namespace' | 'pod' | 'container'>): Promise<PodExecResult> {
    return podExec(this.kube.config, {
      ...req,
      namespace: this.namespace,
      pod: this.name,
      container: CONTAINER,
    });
  }

  execOk(
    req: Omit<PodExecRequest, 'namespace' | 'pod' | 'container'>,
    what: string,
  ): Promise<PodExecResult> {
    return podExecOk(
      this.kube.config,
      { ...req, namespace: this.namespace, pod: this.name, container: CONTAINER },
      what,
    );
  }

  get container(): string {
    return CONTAINER;
  }

  /** Deletes the pod (idempotent; errors are ignored: the deadline ends it anyway). */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    await this.kube
      .delete({ apiVersion: 'v1', kind: 'Pod', namespace: this.namespace, name: this.name })
      .catch(() => undefined);
  }

  private async waitRunning(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pod = await this.kube.get({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: this.namespace,
        name: this.name,
      });
      const status = (pod?.status ?? {}) as {
        phase?: string;
        containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
      };
      if (status.phase === 'Running') return;
      const waiting = status.containerStatuses?.[0]?.state?.waiting;
      const unschedulable = status.conditions?.find(
        (c) => c.type === 'PodScheduled' && c.status === 'False',
      );
      const why =
        waiting?.reason ??
        (unschedulable ? `unschedulable: ${unschedulable.message ?? unschedulable.reason}` : '');
      const fatal = /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerError/.test(
        waiting?.reason ?? '',
      );
      if (!pod || status.phase === 'Failed' || status.phase === 'Succeeded' || fatal) {
        throw new OperationError(
          `pod ${this.namespace}/${this.name} (image ${this.image}) did not start: ${why || status.phase || 'deleted'}${waiting?.message ? ` (${waiting.message})` : ''}`,
        );
      }
      if (Date.now() > deadline) {
        throw new OperationError(
          `pod ${this.namespace}/${this.name} (image ${this.image}) not running after ${timeoutMs / 1000}s${why ? `: ${why}` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
