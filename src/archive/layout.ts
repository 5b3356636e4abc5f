import type { ObjectRef } from '../kube/object.js';

/**
 * Every path inside an archive is built here, so the layout can be read in one place:
 *
 *   format-version                                  "1": written first, read first
 *   resources/<kind>.<group>/<namespace>/<name>.json one cleaned-later object, as captured
 *   data/<component>/<name>[.part-NNNNN]            streamed data (dumps, tars) in parts
 *   manifest.json                                   written last: entries with size + sha256
 */
export const FORMAT_VERSION = 1;
export const FORMAT_VERSION_PATH = 'format-version';
export const MANIFEST_PATH = 'manifest.json';
const RESOURCES = 'resources';
const DATA = 'data';

export function resourcePath(ref: ObjectRef): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : 'core';
  const ns = ref.namespace ?? '_cluster';
  return `${RESOURCES}/${ref.kind}.${group}/${ns}/${ref.name}.json`;
}

export function isResourcePath(path: string): boolean {
  return path.startsWith(`${RESOURCES}/`) && path.endsWith('.json');
}

/** A data entry of a component, e.g. dataPath('databases', 'portdb.sql'). */
export function dataPath(component: string, name: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(component)) throw new Error(`bad component name ${component}`);
  if (name.includes('..') || name.startsWith('/')) throw new Error(`bad data entry name ${name}`);
  return `${DATA}/${component}/${name}`;
}

/** Tar member name of part `index` (0-based) of a chunked logical entry. */
export function partPath(path: string, index: number): string {
  return `${path}.part-${String(index + 1).padStart(5, '0')}`;
}

/** Five digits at least (100,000 parts and more simply have more digits). */
const PART_SUFFIX = /\.part-(\d{5,})$/;

/** Splits a tar member name into its logical entry path and part index, if it is a part. */
export function parsePartPath(member: string): { path: string; index: number } | undefined {
  const match = PART_SUFFIX.exec(member);
  if (!match) return undefined;
  return { path: member.slice(0, match.index), index: Number(match[1]) - 1 };
}
