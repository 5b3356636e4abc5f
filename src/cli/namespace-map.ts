import type { Options } from 'yargs';
import { UserError } from '../errors.js';

/** A Kubernetes namespace name (RFC 1123 label). */
export const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** --namespace-map, shared by restore and compare so that compare can follow a restore. */
export const namespaceMapOption = (describe: string) =>
  ({ type: 'string', array: true, requiresArg: true, describe }) as const satisfies Options;

/** SRC=DST pairs, each a valid namespace name, each SRC once. */
export function parseNamespaceMap(values: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const value of values) {
    const [from, to, ...rest] = value.split('=');
    if (rest.length > 0 || !from || !to || !NAMESPACE.test(from) || !NAMESPACE.test(to)) {
      throw new UserError(
        `--namespace-map ${value}: expected SRC=DST with two namespace names, e.g. --namespace-map bundles=bundles-copy`,
      );
    }
    if (map[from] !== undefined && map[from] !== to) {
      throw new UserError(`--namespace-map maps ${from} twice (${map[from]} and ${to}): keep one`);
    }
    map[from] = to;
  }
  return map;
}
