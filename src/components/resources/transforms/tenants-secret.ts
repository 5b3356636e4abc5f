import { TENANTS_SECRET } from '../../../entando/kinds.js';
import type { KubeObject } from '../../../kube/object.js';
import type { RestoreMapping } from '../../../contract/mapping.js';
import { rewriteTenants, type Tenant, type TenantsRewrite } from '../tenants-rewrite.js';
import type { Transform, TransformResult } from './transform.js';

export const TENANTS_KEY = 'ENTANDO_TENANTS';

/** The tenants array of the Secret (`data`, base64, or `stringData`); undefined if none or not JSON. */
export function tenantsOf(secret: KubeObject): Tenant[] | undefined {
  const stringData = (secret as { stringData?: Record<string, string> }).stringData;
  const data = secret.data as Record<string, string> | undefined;
  const text =
    stringData?.[TENANTS_KEY] ??
    (data?.[TENANTS_KEY] !== undefined
      ? Buffer.from(data[TENANTS_KEY], 'base64').toString('utf8')
      : undefined);
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as Tenant[]) : undefined;
  } catch {
    return undefined;
  }
}

export const isTenantsSecret = (obj: KubeObject) =>
  obj.kind === 'Secret' && obj.apiVersion === 'v1' && obj.metadata.name === TENANTS_SECRET;

/** The rewrite the archived tenants Secret gets for this mapping (plan notes included). */
export function tenantsRewriteOf(
  archived: KubeObject,
  mapping: RestoreMapping,
): TenantsRewrite | undefined {
  const tenants = tenantsOf(archived);
  return tenants && rewriteTenants(tenants, mapping);
}

/**
 * `entando-tenants-secret`: namespaces and hosts inside ENTANDO_TENANTS follow the restore
 * (tenants-rewrite.ts), written back as `data` (stringData would win over data on a later
 * apply, and the API server turns it into data anyway). Restored in the secrets phase, it
 * exists before the operator makes `<app>-deployment`, whose env reads it (optional: false).
 */
export const tenantsSecretTransform: Transform = {
  name: 'tenants-secret',
  appliesTo: isTenantsSecret,
  apply(obj, mapping): TransformResult {
    const rewrite = tenantsRewriteOf(obj, mapping);
    if (!rewrite) {
      const data = obj.data as Record<string, string> | undefined;
      const stringData = obj.stringData as Record<string, string> | undefined;
      const has = data?.[TENANTS_KEY] !== undefined || stringData?.[TENANTS_KEY] !== undefined;
      return {
        object: obj,
        changes: has ? [`${TENANTS_KEY} is not a JSON array: restored as archived`] : [],
      };
    }
    if (rewrite.changes.length === 0) return { object: obj, changes: [] };
    const copy = structuredClone(obj) as KubeObject & { stringData?: Record<string, string> };
    const encoded = Buffer.from(JSON.stringify(rewrite.tenants)).toString('base64');
    copy.data = { ...((copy.data as Record<string, string> | undefined) ?? {}) };
    (copy.data as Record<string, string>)[TENANTS_KEY] = encoded;
    if (copy.stringData) {
      // Every stringData key becomes data, so the object carries one form.
      for (const [k, v] of Object.entries(copy.stringData)) {
        if (k !== TENANTS_KEY)
          (copy.data as Record<string, string>)[k] = Buffer.from(v).toString('base64');
      }
      delete copy.stringData;
    }
    return { object: copy, changes: rewrite.changes.map((c) => `${TENANTS_KEY}: ${c}`) };
  },
};
