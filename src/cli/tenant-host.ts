import { UserError } from '../errors.js';

/** A DNS host name as an ingress takes it (lower case). */
export const HOST =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * --tenant-host CODE=HOST pairs: the hosts each tenant code gets, in order (repeat the flag for
 * a tenant served on several). Whether the codes exist is checked against the archive later.
 */
export function parseTenantHosts(values: readonly string[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    const code = value.slice(0, Math.max(at, 0));
    const host = value.slice(at + 1);
    if (at <= 0 || !HOST.test(host)) {
      throw new UserError(
        `--tenant-host ${value}: expected CODE=HOST with a DNS host name (lower case), e.g. --tenant-host t1=t1.new.example.com`,
      );
    }
    map[code] = [...new Set([...(map[code] ?? []), host])];
  }
  return map;
}
