import type { KubeObject } from '../../kube/object.js';

/** Server-owned metadata that must not travel to another cluster. */
const SERVER_FIELDS = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'ownerReferences',
  'finalizers',
] as const;

/**
 * Annotations written by tools and controllers, not by the user: kubectl's last-applied copy,
 * the operator's bookkeeping (which would otherwise tell the target operator that the object
 * was already processed, or tie it to the source app's UID), service account token bindings.
 */
const BOOKKEEPING_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'entando.org/origin-uuid',
  'entando.org/processed-by-version',
  'kubernetes.io/service-account.uid',
];

/**
 * What the source cluster wrote into a PVC (its bound volume, the node and provisioner chosen):
 * in the target the claim must be provisioned afresh.
 */
const CLAIM_ANNOTATIONS = [
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
];

/** A processing instruction the operator consumes once; others (ignore, defer) are user intent. */
const CONSUMED_INSTRUCTION = { key: 'entando.org/processing-instruction', value: 'force' };

/**
 * Returns a copy of `obj` without what the source cluster added: status, server metadata,
 * ownerReferences (their UIDs do not exist in the target, and the garbage collector would
 * delete the restored object) and bookkeeping annotations.
 */
export function cleanObject(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  delete copy.status;
  const meta = copy.metadata;
  for (const field of SERVER_FIELDS) delete meta[field];
  cleanSpec(copy);
  delete meta.generateName;
  if (meta.annotations) {
    for (const key of BOOKKEEPING_ANNOTATIONS) delete meta.annotations[key];
    if (meta.annotations[CONSUMED_INSTRUCTION.key] === CONSUMED_INSTRUCTION.value) {
      delete meta.annotations[CONSUMED_INSTRUCTION.key];
    }
    if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
  if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  return copy;
}

/** Spec fields the source cluster allocated (a Service's IPs, a claim's volume: CDS objects). */
function cleanSpec(obj: KubeObject): void {
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (!spec || obj.apiVersion !== 'v1') return;
  if (obj.kind === 'Service' && spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  if (obj.kind === 'PersistentVolumeClaim') {
    delete spec.volumeName;
    for (const key of CLAIM_ANNOTATIONS) delete obj.metadata.annotations?.[key];
  }
}
