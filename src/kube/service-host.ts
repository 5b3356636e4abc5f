/**
 * The in-cluster Service a host name points at, if it is one: `svc`, `svc.ns`, `svc.ns.svc`,
 * `svc.ns.svc.<cluster domain>`. `namespace` is the one the name is resolved from.
 */
export function serviceOfHost(
  host: string,
  namespace: string,
): { name: string; namespace: string } | undefined {
  if (/^[0-9.]+$/.test(host) || host.includes(':')) return undefined;
  const labels = host.toLowerCase().split('.');
  if (labels.length === 1) return { name: labels[0], namespace };
  if (labels.length === 2) return { name: labels[0], namespace: labels[1] };
  if (labels[2] === 'svc') return { name: labels[0], namespace: labels[1] };
  return undefined;
}
