// The sandbox's bundle "registry": there is no network, so what `crane`/git would download
// (CM model/bundle/downloader/*) is a descriptor file per bundle URL and version in a directory
// shared by both clusters, like the internet (default <repo>/.sandbox/cm-registry). The fixture
// writes it. Sandbox only: the `sandbox` block of a descriptor holds test hooks.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export interface PluginDescriptor {
  /** descriptor `name`; the plugin name's last part when deploymentBaseName is absent. */
  name: string;
  image: string;
  deploymentBaseName?: string;
  dbms?: 'postgresql' | 'mysql' | 'embedded' | 'none';
  roles?: string[];
  permissions?: { clientId: string; role: string }[];
  ingressPath?: string;
  healthCheckPath?: string;
  environmentVariables?: { name: string; value?: string; valueFrom?: unknown }[];
}

export interface WidgetDescriptor {
  code: string;
  titles?: Record<string, string>;
  group?: string;
  customUiPath?: string;
}

export interface PageDescriptor {
  code: string;
  titles?: Record<string, string>;
  parentCode?: string;
  pageModel?: string;
}

export interface BundleDescriptor {
  url: string;
  version: string;
  /** descriptor `name` (the bundle code is `<name>-<bundleId>`, BundleUtilities.composeDescriptorCode). */
  name: string;
  description?: string;
  descriptorVersion?: string;
  plugins?: PluginDescriptor[];
  widgets?: WidgetDescriptor[];
  pages?: PageDescriptor[];
  /** SANDBOX-ONLY test hooks (no Entando equivalent). */
  sandbox?: {
    /** Make this component (e.g. "widget:my-widget") fail with this message: the job rolls back. */
    failComponent?: { component: string; message: string };
    /** Hold the install (and the global lock) this many seconds before processing components. */
    installDelaySeconds?: number;
  };
}

export function registryDir(env: NodeJS.ProcessEnv, root: string): string {
  return env.SANDBOX_CM_REGISTRY_DIR ?? join(root, '.sandbox', 'cm-registry');
}

/** One file per (url, version): `<sha256(url)[0:16]>/<version>.json`. */
export function descriptorPath(dir: string, url: string, version: string): string {
  const key = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return join(dir, key, `${encodeURIComponent(version)}.json`);
}

export function readDescriptor(
  dir: string,
  url: string,
  version: string,
): BundleDescriptor | undefined {
  const file = descriptorPath(dir, url, version);
  if (!existsSync(file)) return undefined;
  const d = JSON.parse(readFileSync(file, 'utf8')) as BundleDescriptor;
  if (d.url !== url || d.version !== version) {
    throw new Error(`${file}: holds ${d.url}@${d.version}, not ${url}@${version}`);
  }
  return d;
}

export function writeDescriptor(dir: string, d: BundleDescriptor): string {
  const file = descriptorPath(dir, d.url, d.version);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(d, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** The versions the registry holds for a bundle URL (what `crane ls` would list). */
export function listVersions(dir: string, url: string): string[] {
  const sub = join(descriptorPath(dir, url, 'x'), '..');
  if (!existsSync(sub)) return [];
  return readdirSync(sub)
    .filter((f) => f.endsWith('.json'))
    .map((f) => decodeURIComponent(f.slice(0, -'.json'.length)));
}

/**
 * PostInitServiceImpl's default item: entando-epc-bootstrap 1.0.3. The real image carries the
 * app-builder menu plugin; the sandbox's stand-in descriptor has one widget only (no image to run).
 */
export const BOOTSTRAP = {
  name: 'entando-epc-bootstrap',
  url: 'docker://registry.hub.docker.com/entando/entando-bootstrap-bundle',
  version: '1.0.3',
};

export function bootstrapDescriptor(): BundleDescriptor {
  return {
    url: BOOTSTRAP.url,
    version: BOOTSTRAP.version,
    name: BOOTSTRAP.name,
    description: 'Entando bootstrap bundle (sandbox stand-in: one widget, no plugin)',
    widgets: [{ code: 'epc-bootstrap-menu', titles: { en: 'Bootstrap menu' }, group: 'free' }],
  };
}
