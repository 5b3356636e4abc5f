import { ENTANDO_API } from '../../../entando/kinds.js';
import { hostChanges } from '../../../contract/mapping.js';
import type { Transform, TransformResult } from './transform.js';

/** Matches `host` as a whole host name: not a suffix of a longer name, not a prefix of one. */
export function hostPattern(host: string): RegExp {
  const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9.-])${escaped}(?![A-Za-z0-9-]|\\.[A-Za-z0-9])`, 'g');
}

/**
 * --ingress-host: every string in an Entando spec or a ConfigMap's data that carries the old
 * host (ingressHostName, URLs in env vars, frontEndUrl...) gets the new one, so two instances
 * never answer on one domain; so do the specs of the Ingresses and Deployments captured (those
 * of a CDS: its ingress host, its CORS env). Secrets are left alone: they are not
 * configuration by host.
 */
export const hostTransform: Transform = {
  name: 'ingress-host',
  appliesTo: (obj) =>
    (obj.apiVersion === ENTANDO_API && obj.spec !== undefined) ||
    (obj.kind === 'ConfigMap' && obj.apiVersion === 'v1') ||
    ((obj.kind === 'Ingress' || obj.kind === 'Deployment') && obj.spec !== undefined),
  apply(obj, mapping): TransformResult {
    if (!hostChanges(mapping)) return { object: obj, changes: [] };
    const pattern = hostPattern(mapping.sourceHost!);
    const changes: string[] = [];
    const field = obj.kind === 'ConfigMap' ? 'data' : 'spec';
    const rewritten = rewriteStrings(obj[field], field, (value, where) => {
      const next = value.replace(pattern, mapping.targetHost!);
      if (next !== value) changes.push(`${where}: ${mapping.sourceHost} -> ${mapping.targetHost}`);
      return next;
    });
    if (changes.length === 0) return { object: obj, changes };
    return { object: { ...obj, [field]: rewritten }, changes };
  },
};

function rewriteStrings(
  value: unknown,
  where: string,
  rewrite: (s: string, where: string) => string,
): unknown {
  if (typeof value === 'string') return rewrite(value, where);
  if (Array.isArray(value))
    return value.map((v, i) => rewriteStrings(v, `${where}[${i}]`, rewrite));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = rewriteStrings(v, `${where}.${k}`, rewrite);
    return out;
  }
  return value;
}
