// Small Kubernetes client adapter for the operator stand-in.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  GROUP,
  PLURALS,
  VERSION,
  type EntandoResource,
  type Kind,
  type OwnerReference,
} from './model.js';
import { foreignEnvPatch } from './env-drop.js';
import type { K8sObject } from './resources.js';

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}
export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;

export function errorMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (e?.code !== undefined && e.body !== undefined) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    try {
      return `HTTP ${e.code}: ${(JSON.parse(body) as { message?: string }).message ?? body}`;
    } catch {
      return `HTTP ${e.code}: ${body}`;
    }
  }
  return e instanceof Error ? e.message : String(err);
}

/** Retry `fn` on 409 Conflict (optimistic concurrency), re-reading state each attempt. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * i));
    }
  }
}

export class Kube {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly objects: KubernetesObjectApi;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  static fromFile(file: string, context?: string): Kube {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    if (context) kc.setCurrentContext(context);
    return new Kube(kc);
  }

  /**
   * Server-side apply (create or converge) of a generated object; a Deployment then loses env
   * it was not generated with, as the real operator's patch does (env-drop.ts).
   */
  async apply(obj: K8sObject): Promise<KubernetesObject> {
    const live = await this.objects.patch(
      obj as KubernetesObject,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
    const ops = obj.kind === 'Deployment' ? foreignEnvPatch(obj, live) : [];
    if (ops.length === 0) return live;
    return this.apps.patchNamespacedDeployment(
      {
        namespace: obj.metadata.namespace!,
        name: obj.metadata.name,
        body: ops,
        fieldManager: FIELD_MANAGER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }

  /** Create unless an object of that name exists; returns whether it was created. */
  async createIfAbsent(obj: K8sObject): Promise<boolean> {
    try {
      await this.objects.create(obj as KubernetesObject, undefined, undefined, FIELD_MANAGER);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getCr(kind: Kind, namespace: string, name: string): Promise<EntandoResource | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURALS[kind],
        namespace,
        name,
      })) as EntandoResource;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listCrs(kind: Kind): Promise<EntandoResource[]> {
    const list = (await this.custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS[kind],
    })) as { items: EntandoResource[] };
    return list.items.map((i) => ({ ...i, kind }));
  }

  async patchCrStatus(cr: EntandoResource, status: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURALS[cr.kind],
        namespace: cr.metadata.namespace,
        name: cr.metadata.name,
        body: { status },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async patchCrMetadata(cr: EntandoResource, metadata: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURALS[cr.kind],
        namespace: cr.metadata.namespace,
        name: cr.metadata.name,
        body: { metadata },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Add a non-controller ownerReference (shared objects such as the in-namespace DBMS). */
  async addOwner(obj: K8sObject, owner: OwnerReference): Promise<void> {
    await retryOnConflict(async () => {
      const current = await this.objects.read({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
      });
      const refs = current.metadata?.ownerReferences ?? [];
      if (refs.some((r) => r.uid === owner.uid)) return;
      const hasController = refs.some((r) => r.controller);
      current.metadata!.ownerReferences = [
        ...refs,
        { ...owner, controller: hasController ? false : owner.controller },
      ];
      await this.objects.replace(current);
    });
  }
}
