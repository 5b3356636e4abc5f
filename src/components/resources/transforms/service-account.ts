import type { Transform } from './transform.js';

/**
 * A ServiceAccount travels for its imagePullSecrets; its `secrets` list names token secrets of
 * the source cluster, which the target generates itself.
 */
export const serviceAccountTransform: Transform = {
  name: 'service-account',
  appliesTo: (obj) => obj.kind === 'ServiceAccount',
  apply(obj) {
    if (!obj.secrets) return { object: obj, changes: [] };
    const copy = { ...obj };
    delete copy.secrets;
    return { object: copy, changes: [] };
  },
};
