import type { Transform } from './transform.js';

/** Token secrets belong to the source cluster's service accounts: the target makes its own. */
export const secretTransform: Transform = {
  name: 'secret',
  appliesTo: (obj) => obj.kind === 'Secret',
  apply(obj) {
    if (obj.type === 'kubernetes.io/service-account-token') {
      return { object: obj, changes: [], skip: 'service account token: the target issues its own' };
    }
    return { object: obj, changes: [] };
  },
};
