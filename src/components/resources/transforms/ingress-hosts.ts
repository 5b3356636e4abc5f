import { rebaseHost } from '../tenants-rewrite.js';
import type { Transform } from './transform.js';

interface IngressSpec {
  rules?: { host?: string }[];
  tls?: { hosts?: string[] }[];
}

/**
 * --ingress-host on a captured Ingress (a CDS's): a host under the app's host moves under the
 * new one (`cds.qs.example.com` → `cds.qs2.example.com`), as tenants' hosts do. Any other host
 * (Entando's sample `<app>-cds.<domain>`) is kept: no rule says where it should go.
 */
export const ingressHostsTransform: Transform = {
  name: 'ingress-hosts',
  appliesTo: (obj) => obj.kind === 'Ingress' && obj.spec !== undefined,
  apply(obj, mapping) {
    const spec = structuredClone(obj.spec) as IngressSpec;
    const changes: string[] = [];
    const move = (host: string, where: string) => {
      const to = rebaseHost(host, mapping);
      if (!to || to === host) return host;
      changes.push(`${where}: ${host} -> ${to}`);
      return to;
    };
    spec.rules?.forEach((r, i) => {
      if (r.host) r.host = move(r.host, `spec.rules[${i}].host`);
    });
    spec.tls?.forEach((t, i) => {
      t.hosts = t.hosts?.map((h, j) => move(h, `spec.tls[${i}].hosts[${j}]`));
    });
    return changes.length ? { object: { ...obj, spec }, changes } : { object: obj, changes };
  },
};
