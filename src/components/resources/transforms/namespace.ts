import { mapNamespace } from '../../../contract/mapping.js';
import type { Transform } from './transform.js';

/** The label the operator puts on what it generates, naming the owning CR's namespace. */
export const RESOURCE_NAMESPACE_LABEL = 'entando.org/entando-resource-namespace';

/** Moves every namespaced object of the app's namespace to the target namespace. */
export const namespaceTransform: Transform = {
  name: 'namespace',
  appliesTo: (obj) => obj.metadata.namespace !== undefined,
  apply(obj, mapping) {
    const changes: string[] = [];
    const metadata = { ...obj.metadata };
    const to = mapNamespace(mapping, metadata.namespace);
    if (to !== metadata.namespace) {
      changes.push(`metadata.namespace: ${metadata.namespace} -> ${to}`);
      metadata.namespace = to;
    }
    const labelled = metadata.labels?.[RESOURCE_NAMESPACE_LABEL];
    const relabelled = mapNamespace(mapping, labelled);
    if (labelled !== undefined && relabelled !== labelled) {
      metadata.labels = { ...metadata.labels, [RESOURCE_NAMESPACE_LABEL]: relabelled! };
      changes.push(`metadata.labels[${RESOURCE_NAMESPACE_LABEL}]: ${labelled} -> ${relabelled}`);
    }
    return changes.length ? { object: { ...obj, metadata }, changes } : { object: obj, changes };
  },
};
