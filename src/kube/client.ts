import {
  ApiException,
  AuthorizationV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
} from '@kubernetes/client-node';
import type { KubeObject, ObjectRef } from './object.js';

export const FIELD_MANAGER = 'kubectl-entando';

export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  /** exec, portforward... */
  subresource?: string;
  namespace?: string;
}

/**
 * The operations our components need from one cluster, as plain JSON objects. Kept narrow so
 * restore steps and tests speak one vocabulary; everything else goes through client-node.
 */
export class KubeClient {
  private readonly objects: KubernetesObjectApi;

  constructor(readonly config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      const header = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name } };
      if (ref.namespace) Object.assign(header.metadata, { namespace: ref.namespace });
      return (await this.objects.read(header)) as unknown as KubeObject;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async list(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
        500,
        token,
      );
      for (const item of page.items) {
        // Lists omit apiVersion/kind on items; put them back so objects stand alone.
        items.push({ ...(item as unknown as KubeObject), apiVersion, kind });
      }
      token = page.metadata?._continue || undefined;
    } while (token);
    return items;
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    return (await this.objects.create(obj, undefined, undefined, FIELD_MANAGER)) as KubeObject;
  }

  /** PUT: replaces an object at its resourceVersion (409 when it changed meanwhile). */
  async replace(obj: KubeObject): Promise<KubeObject> {
    return (await this.objects.replace(obj, undefined, undefined, FIELD_MANAGER)) as KubeObject;
  }

  /** Server-side apply with force: converges an existing object to `obj`. */
  async apply(obj: KubeObject): Promise<KubeObject> {
    return (await this.objects.patch(
      obj,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    )) as KubeObject;
  }

  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    const metadata = {
      ...((patch.metadata as Record<string, unknown> | undefined) ?? {}),
      name: ref.name,
      namespace: ref.namespace,
    };
    const body = { ...patch, apiVersion: ref.apiVersion, kind: ref.kind, metadata };
    return (await this.objects.patch(
      body,
      undefined,
      undefined,
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    )) as KubeObject;
  }

  async delete(ref: ObjectRef): Promise<void> {
    try {
      await this.objects.delete({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async serverVersion(): Promise<string> {
    const info = await this.config.makeApiClient(VersionApi).getCode();
    return info.gitVersion;
  }

  async canI(check: AccessCheck): Promise<boolean> {
    const review = await this.config
      .makeApiClient(AuthorizationV1Api)
      .createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { ...check } },
        },
      });
    return review.status?.allowed === true;
  }
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

/** A one-line description of an API error, without the response dump client-node includes. */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    let detail = '';
    try {
      const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      detail = body?.message ?? '';
    } catch {
      detail = String(err.body ?? '').slice(0, 200);
    }
    return `HTTP ${err.code}${detail ? `: ${detail}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${err.message} (${cause.code})`;
    return err.message;
  }
  return String(err);
}
