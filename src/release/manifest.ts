import fs from 'node:fs';
import path from 'node:path';
import { archiveName, binaryName, type Target } from './targets.js';

export interface ReleaseConfig {
  /** URL of the release's files; `{version}` is the version without its leading v. */
  baseUrl: string;
  homepage: string;
}

export function readReleaseConfig(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): ReleaseConfig {
  const config = JSON.parse(
    fs.readFileSync(path.join(root, 'krew/release.json'), 'utf8'),
  ) as ReleaseConfig;
  if (env.KUBECTL_ENTANDO_RELEASE_BASE_URL) config.baseUrl = env.KUBECTL_ENTANDO_RELEASE_BASE_URL;
  return config;
}

export function archiveUri(config: ReleaseConfig, version: string, t: Target): string {
  return `${config.baseUrl.replaceAll('{version}', version).replace(/\/+$/, '')}/${archiveName(t)}`;
}

/** One `platforms:` entry of the manifest, indented for the template. */
export function platformEntry(t: Target, uri: string, sha256: string): string {
  const bin = binaryName(t);
  return [
    `  - selector:`,
    `      matchLabels:`,
    `        os: ${t.os}`,
    `        arch: ${t.arch}`,
    `    uri: ${uri}`,
    `    sha256: ${sha256}`,
    `    bin: ${bin}`,
    `    files:`,
    `      - from: ${bin}`,
    `        to: .`,
    `      - from: LICENSE`,
    `        to: .`,
  ].join('\n');
}

/**
 * Renders krew/plugin.yaml.tmpl. `sha256` maps os/arch to the sha256 of each built archive; a
 * platform of the template that was not built is left out (a manifest never points at an
 * archive that does not exist; a release of a subset of platforms says so).
 */
export function renderManifest(
  template: string,
  version: string,
  config: ReleaseConfig,
  targets: readonly Target[],
  sha256: Map<string, string>,
): string {
  const rendered = template
    .replace(/^#.*\n/gm, '')
    .replaceAll('{{version}}', `v${version}`)
    .replaceAll('{{homepage}}', config.homepage)
    .replace(/^\{\{platform (\w+) (\w+)\}\}$/gm, (_m, os: string, arch: string) => {
      const t = targets.find((x) => x.os === os && x.arch === arch);
      if (!t) throw new Error(`krew/plugin.yaml.tmpl names ${os}/${arch}, which is no target`);
      const sum = sha256.get(`${os}/${arch}`);
      if (!sum) return '\0';
      return platformEntry(t, archiveUri(config, version, t), sum);
    })
    .replace(/^\0\n/gm, '');
  const left = rendered.match(/\{\{[^}]*\}\}/);
  if (left) throw new Error(`krew/plugin.yaml.tmpl: unknown placeholder ${left[0]}`);
  return rendered;
}
