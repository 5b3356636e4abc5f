import fs from 'node:fs';
import path from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { listArchive, sha256File } from './archive.js';

/**
 * What krew-index's validation (and `kubectl krew install`) checks of a plugin manifest and its
 * archives, done without Krew: the manifest's schema (apiVersion, kind, name, semver version
 * with a leading v, descriptions, platforms), selectors that never match the same os/arch twice,
 * and for every platform: its archive's sha256, and after Krew's `files` operations, the `bin`
 * and a LICENSE file present.
 */

export const KREW_API_VERSION = 'krew.googlecontainertools.github.com/v1alpha2';

/** The os/arch pairs krew-index checks selectors against. */
export const KREW_PLATFORMS = [
  'darwin/386',
  'darwin/amd64',
  'darwin/arm64',
  'linux/386',
  'linux/amd64',
  'linux/arm',
  'linux/arm64',
  'linux/ppc64le',
  'linux/s390x',
  'windows/386',
  'windows/amd64',
  'windows/arm64',
];

const SEMVER =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface Platform {
  selector?: Selector;
  uri?: string;
  sha256?: string;
  bin?: string;
  files?: { from?: string; to?: string }[];
}

export interface Plugin {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    version?: string;
    homepage?: string;
    shortDescription?: string;
    description?: string;
    caveats?: string;
    platforms?: Platform[];
  };
}

/** Label selector semantics of Kubernetes (matchLabels and In/NotIn/Exists/DoesNotExist). */
export function selectorMatches(
  sel: Selector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Problems with the manifest itself (empty when valid). */
export function validateManifest(p: Plugin, expectedName?: string): string[] {
  const problems: string[] = [];
  if (p.apiVersion !== KREW_API_VERSION) problems.push(`apiVersion must be ${KREW_API_VERSION}`);
  if (p.kind !== 'Plugin') problems.push('kind must be Plugin');
  const name = p.metadata?.name ?? '';
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) problems.push(`invalid plugin name "${name}"`);
  if (expectedName !== undefined && name !== expectedName) {
    problems.push(`plugin name "${name}" does not match "${expectedName}"`);
  }
  const spec = p.spec;
  if (!spec) return [...problems, 'spec is missing'];
  if (!spec.version || !SEMVER.test(spec.version)) {
    problems.push(
      `spec.version "${spec.version ?? ''}" is not a semantic version with a leading v`,
    );
  }
  if (!spec.shortDescription?.trim()) problems.push('spec.shortDescription is empty');
  else if (spec.shortDescription.length > 50) {
    problems.push('spec.shortDescription is longer than 50 characters');
  }
  if (!spec.description?.trim()) problems.push('spec.description is empty');
  if (spec.homepage !== undefined && !/^https?:\/\//.test(spec.homepage)) {
    problems.push('spec.homepage is not a URL');
  }
  const platforms = spec.platforms ?? [];
  if (platforms.length === 0) problems.push('spec.platforms is empty');
  platforms.forEach((pl, i) => {
    const where = `spec.platforms[${i}]`;
    if (!pl.selector) problems.push(`${where}.selector is missing`);
    if (!pl.uri || !/^https:\/\//.test(pl.uri)) problems.push(`${where}.uri is not an https URL`);
    if (!pl.sha256 || !/^[a-f0-9]{64}$/.test(pl.sha256)) {
      problems.push(`${where}.sha256 is not a lowercase hex sha256`);
    }
    if (!pl.bin) problems.push(`${where}.bin is empty`);
    else if (path.isAbsolute(pl.bin) || pl.bin.split(/[\\/]/).includes('..')) {
      problems.push(`${where}.bin escapes the plugin directory`);
    }
    for (const [j, f] of (pl.files ?? []).entries()) {
      if (!f.from || !f.to) problems.push(`${where}.files[${j}] needs from and to`);
      else if (path.isAbsolute(f.to) || f.to.split(/[\\/]/).includes('..')) {
        problems.push(`${where}.files[${j}].to escapes the plugin directory`);
      }
    }
  });
  for (const osArch of KREW_PLATFORMS) {
    const [os, arch] = osArch.split('/') as [string, string];
    const matching = platforms
      .map((pl, i) => (selectorMatches(pl.selector, { os, arch }) ? i : -1))
      .filter((i) => i >= 0);
    if (matching.length > 1) {
      problems.push(`selectors overlap: ${osArch} matches platforms ${matching.join(', ')}`);
    }
  }
  return problems;
}

function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/\\/g, '/')
    .replace(/[.+^${}()|[\]]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/**
 * Krew's `files` operations on an archive's file list: each `from` glob moves what it matches
 * into `to` (the file keeps its base name). Returns the installed paths.
 */
export function applyFileOperations(
  entries: string[],
  files: { from?: string; to?: string }[] | undefined,
): string[] {
  if (!files || files.length === 0) return entries;
  const out: string[] = [];
  for (const op of files) {
    const re = globToRegExp(op.from ?? '');
    const to = path.posix.normalize((op.to ?? '.').replace(/\\/g, '/'));
    for (const e of entries) {
      if (re.test(e))
        out.push(to === '.' ? path.posix.basename(e) : `${to}/${path.posix.basename(e)}`);
    }
  }
  return out;
}

export interface CheckResult {
  problems: string[];
  checked: string[];
}

/**
 * Validates the manifest and, for every platform, the archive in `archiveDir` named by the last
 * part of its uri: the sha256, and `bin` and LICENSE after the file operations, `bin` executable.
 */
export async function checkRelease(manifestFile: string, archiveDir: string): Promise<CheckResult> {
  const plugin = loadYaml(fs.readFileSync(manifestFile, 'utf8')) as Plugin;
  const problems = validateManifest(plugin, 'entando');
  const checked: string[] = [];
  for (const [i, pl] of (plugin.spec?.platforms ?? []).entries()) {
    const where = `platforms[${i}]`;
    const file = path.join(archiveDir, path.posix.basename(pl.uri ?? ''));
    if (!pl.uri || !fs.existsSync(file)) {
      problems.push(`${where}: archive ${file} missing`);
      continue;
    }
    const sum = sha256File(file);
    if (sum !== pl.sha256) problems.push(`${where}: sha256 of ${file} is ${sum}, not ${pl.sha256}`);
    const entries = await listArchive(file);
    const regular = entries.filter((e) => e.type === 'file');
    const installed = applyFileOperations(
      regular.map((e) => e.name),
      pl.files,
    );
    if (!pl.bin || !installed.includes(pl.bin.replace(/\\/g, '/'))) {
      problems.push(
        `${where}: bin ${pl.bin} is not in ${path.basename(file)} after its file operations`,
      );
    }
    if (!installed.some((n) => /^LICEN[SC]E(\.\w+)?$/i.test(path.posix.basename(n)))) {
      problems.push(`${where}: ${path.basename(file)} has no LICENSE`);
    }
    const osLabel = pl.selector?.matchLabels?.os;
    const binEntry = regular.find((e) => e.name === pl.bin);
    if (binEntry && osLabel !== 'windows' && (binEntry.mode & 0o111) === 0) {
      problems.push(`${where}: ${pl.bin} is not executable in ${path.basename(file)}`);
    }
    checked.push(path.basename(file));
  }
  return { problems, checked };
}
