import { randomBytes } from 'node:crypto';

/** Where a drill restores: namespaces and a host no one else uses, made for it and deleted. */
export interface DrillNames {
  id: string;
  /** The app's throw-away namespace. */
  namespace: string;
  /** The archive's other namespaces (bundle repositories), each to a throw-away one. */
  namespaceMap: Record<string, string>;
  /** The throw-away ingress host (undefined when the app has none). */
  host?: string;
}

const MAX_NAMESPACE = 63;

/** Five lowercase letters and digits: enough that two drills never meet. */
export function drillId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** `<ns>-drill-<id>`, the original shortened so the id always fits a namespace name. */
export function drillNamespace(source: string, id: string): string {
  const suffix = `-drill-${id}`;
  const head = source.slice(0, MAX_NAMESPACE - suffix.length).replace(/-+$/, '');
  return `${head}${suffix}`;
}

/**
 * The app's host with `-drill-<id>` added to its first label: the same domain, so a wildcard DNS
 * record and certificate that serve the app serve the drill too, and never the app's own host.
 */
export function drillHost(source: string, id: string): string {
  const dot = source.indexOf('.');
  const first = dot < 0 ? source : source.slice(0, dot);
  const rest = dot < 0 ? '' : source.slice(dot);
  const suffix = `-drill-${id}`;
  return `${first.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}${rest}`;
}

export function drillNames(
  source: { namespace: string; otherNamespaces: string[]; host?: string },
  id: string,
  hostOverride?: string,
): DrillNames {
  return {
    id,
    namespace: drillNamespace(source.namespace, id),
    namespaceMap: Object.fromEntries(
      source.otherNamespaces.map((ns) => [ns, drillNamespace(ns, id)]),
    ),
    host: hostOverride ?? (source.host ? drillHost(source.host, id) : undefined),
  };
}
