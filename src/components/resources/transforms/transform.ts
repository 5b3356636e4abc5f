import type { KubeObject } from '../../../kube/object.js';
import type { RestoreMapping } from '../../../contract/mapping.js';

/** What a transform did to an object: the object to apply and a line per intended change. */
export interface TransformResult {
  object: KubeObject;
  changes: string[];
  /** Set when the object must not be restored at all, with the reason. */
  skip?: string;
}

/**
 * A restore item action (Velero's term): one special case, kept out of the main loop. The loop
 * runs every transform whose `appliesTo` matches, in list order.
 */
export interface Transform {
  readonly name: string;
  appliesTo(obj: KubeObject): boolean;
  apply(obj: KubeObject, mapping: RestoreMapping): TransformResult;
}
