import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { apiErrorMessage, type KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/object.js';
import { UserError } from '../../errors.js';

/** The app to back up: the one named, or the only EntandoApp in the namespace. */
export async function findApp(
  kube: KubeClient,
  namespace: string,
  name?: string,
): Promise<KubeObject> {
  let apps: KubeObject[];
  try {
    apps = await kube.list(ENTANDO_API, EntandoKind.App, namespace);
  } catch (err) {
    throw new UserError(
      `cannot list EntandoApps in namespace ${namespace}: ${apiErrorMessage(err)} (are the Entando CRDs installed, and is the context right?)`,
    );
  }
  const names = apps.map((a) => a.metadata.name);
  if (name) {
    const app = apps.find((a) => a.metadata.name === name);
    if (!app) {
      throw new UserError(
        `EntandoApp ${name} not found in namespace ${namespace} (found: ${names.join(', ') || 'none'})`,
      );
    }
    return app;
  }
  if (apps.length === 1) return apps[0];
  if (apps.length === 0) {
    throw new UserError(
      `no EntandoApp in namespace ${namespace}: pass -n NAMESPACE where the app runs`,
    );
  }
  throw new UserError(
    `${apps.length} EntandoApps in namespace ${namespace} (${names.join(', ')}): name the one to back up`,
  );
}
