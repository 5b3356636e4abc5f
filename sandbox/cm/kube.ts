// What the CM asks entando-k8s-service for (CM client/k8ssvc/DefaultK8SServiceClient.java), done
// directly against the API server: bundles of the observed namespaces
// (K8SSVC service/EntandoDeBundleService.java), plugins (EntandoPluginService.java createOrReplace
// with ENTANDO_TIMESTAMP), links (EntandoLinkService.java), plus the plugin deployment's readiness.
import { AppsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export interface DeBundle {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    details?: {
      name?: string;
      description?: string;
      'dist-tags'?: Record<string, string>;
      versions?: string[];
      thumbnail?: string;
    };
    tags?: { version: string; tarball: string; integrity?: string; shasum?: string }[];
  };
}

export interface Cr {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: { phase?: string; observedGeneration?: number };
}

const code = (err: unknown) => {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : (e?.statusCode as number | undefined);
};

export class CmKube {
  private readonly custom: CustomObjectsApi;
  private readonly apps: AppsV1Api;

  constructor(kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  static fromFile(file: string, context?: string): CmKube {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    if (context) kc.setCurrentContext(context);
    return new CmKube(kc);
  }

  /** EntandoDeBundles of the given namespaces (the app's plus ENTANDO_COMPONENT_REPOSITORY_NAMESPACES). */
  async bundles(namespaces: string[]): Promise<DeBundle[]> {
    const out: DeBundle[] = [];
    for (const namespace of namespaces) {
      const list = (await this.custom.listNamespacedCustomObject({
        group: 'entando.org',
        version: 'v1',
        namespace,
        plural: 'entandodebundles',
      })) as { items: DeBundle[] };
      out.push(...list.items);
    }
    return out;
  }

  async get(plural: string, namespace: string, name: string): Promise<Cr | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: 'entando.org',
        version: 'v1',
        namespace,
        plural,
        name,
      })) as Cr;
    } catch (err) {
      if (code(err) === 404) return undefined;
      throw err;
    }
  }

  /** fabric8 createOrReplace: create, or replace the existing object (keeping its resourceVersion). */
  async createOrReplace(plural: string, body: Cr): Promise<Cr> {
    const namespace = body.metadata.namespace!;
    const existing = await this.get(plural, namespace, body.metadata.name);
    if (!existing) {
      return (await this.custom.createNamespacedCustomObject({
        group: 'entando.org',
        version: 'v1',
        namespace,
        plural,
        body,
      })) as Cr;
    }
    return (await this.custom.replaceNamespacedCustomObject({
      group: 'entando.org',
      version: 'v1',
      namespace,
      plural,
      name: body.metadata.name,
      body: {
        ...body,
        metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion },
      },
    })) as Cr;
  }

  async delete(plural: string, namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({
        group: 'entando.org',
        version: 'v1',
        namespace,
        plural,
        name,
      });
    } catch (err) {
      if (code(err) !== 404) throw err;
    }
  }

  async deploymentReady(namespace: string, name: string): Promise<boolean> {
    try {
      const d = await this.apps.readNamespacedDeployment({ namespace, name });
      const fresh = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
      return fresh && (d.status?.readyReplicas ?? 0) >= (d.spec?.replicas ?? 1);
    } catch (err) {
      if (code(err) === 404) return false;
      throw err;
    }
  }
}
