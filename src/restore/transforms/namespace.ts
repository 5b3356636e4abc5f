import { mapNamespace } from '../mapping.js';
import type { Transform } from './transform.js';

/** Moves every namespaced object of the app's namespace to the target namespace. */
export const namespaceTransform: Transform = {
  name: 'namespace',
  appliesTo: (obj) => obj.metadata.namespace !== undefined,
  apply(obj, mapping) {
    const from = obj.metadata.namespace;
    const to = mapNamespace(mapping, from);
    if (to === from) return { object: obj, changes: [] };
    return {
      object: { ...obj, metadata: { ...obj.metadata, namespace: to } },
      changes: [`metadata.namespace: ${from} -> ${to}`],
    };
  },
};
