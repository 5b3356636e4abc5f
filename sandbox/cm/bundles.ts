// Bundles as GET /components shows them: CM service/digitalexchange/component/
// EntandoBundleServiceImpl.java (listBundles: CR bundles plus installed bundles whose CR is gone,
// getInstalledBundle), model/bundle/EntandoBundle.java (isInstalled), and the DTO assembly from an
// EntandoDeBundle (BundleEntity/EntandoBundle fields; NON_NULL serialisation).
import type { DeBundle } from './kube.js';
import type { InstalledBundle, Job } from './store.js';

export interface EntandoBundle {
  code: string;
  title: string;
  description?: string;
  repoUrl?: string;
  bundleType: string;
  thumbnail?: string;
  componentTypes: string[];
  installedJob?: unknown;
  lastJob?: unknown;
  customInstallation?: boolean;
  latestVersion?: { version: string };
  versions: { version: string }[];
  annotations?: Record<string, string>;
  installed: boolean;
}

/** EntandoBundleJob (no installPlan, no userId): the shape embedded in bundles and /jobs/{id}. */
export function bundleJob(j: Job, componentJobs?: unknown[]): Record<string, unknown> {
  return compact({
    id: j.id,
    componentId: j.componentId,
    componentName: j.componentName,
    componentVersion: j.componentVersion,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    progress: j.progress,
    status: j.status,
    componentJobs,
    installErrorCode: j.installErrorCode,
    installErrorMessage: j.installErrorMessage,
    rollbackErrorCode: j.rollbackErrorCode,
    rollbackErrorMessage: j.rollbackErrorMessage,
    customInstallation: j.customInstallation,
    uninstallErrorCode: j.uninstallErrorCode,
    uninstallErrorMessage: j.uninstallErrorMessage,
  });
}

/** EntandoBundleJobEntity: what POST/GET …/install return. */
export function jobEntity(j: Job): Record<string, unknown> {
  return compact({ ...j, progress: j.progress });
}

/** Jackson NON_NULL: null/undefined fields are omitted. */
export function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined && v !== null),
  ) as T;
}

const COMPONENT_LABELS = [
  'widget',
  'plugin',
  'fragment',
  'category',
  'page',
  'pageTemplate',
  'content',
  'contentTemplate',
  'contentType',
  'asset',
  'group',
  'label',
  'language',
  'resource',
  'directory',
];

export function repoUrl(b: DeBundle): string | undefined {
  return b.spec?.tags?.[0]?.tarball;
}

/** EntandoBundle of a CR, with its dedb state (installed job, last job). */
export function fromCr(
  b: DeBundle,
  installed: InstalledBundle | undefined,
  installedJob: Job | undefined,
  lastJob: Job | undefined,
): EntandoBundle {
  const d = b.spec?.details ?? {};
  const versions = (b.spec?.tags ?? []).map((t) => ({ version: t.version }));
  const latest = d['dist-tags']?.latest;
  const labels = b.metadata.labels ?? {};
  return compact({
    code: b.metadata.name,
    title: d.name ?? b.metadata.name,
    description: d.description,
    repoUrl: repoUrl(b),
    bundleType: labels['bundle-type'] ?? 'standard-bundle',
    thumbnail: d.thumbnail,
    componentTypes: ['bundle', ...COMPONENT_LABELS.filter((l) => labels[l] === 'true')],
    installedJob: installedJob ? bundleJob(installedJob) : undefined,
    lastJob: lastJob ? bundleJob(lastJob) : undefined,
    customInstallation: installedJob?.customInstallation,
    latestVersion: latest ? { version: latest } : undefined,
    versions,
    annotations: b.metadata.annotations,
    installed: isInstalled(installed, installedJob),
  });
}

/** An installed bundle whose CR is missing (INSTALLED_NOT_DEPLOYED). */
export function fromInstalledOnly(
  i: InstalledBundle,
  installedJob: Job | undefined,
): EntandoBundle {
  return compact({
    code: i.bundleCode,
    title: i.name,
    description: i.description,
    repoUrl: i.repoUrl,
    bundleType: i.bundleType ?? 'standard-bundle',
    thumbnail: i.image,
    componentTypes: ['bundle', ...(i.type ?? '').split(',').filter(Boolean)],
    installedJob: installedJob ? bundleJob(installedJob) : undefined,
    customInstallation: installedJob?.customInstallation,
    versions: [{ version: i.version }],
    installed: isInstalled(i, installedJob),
  });
}

/** EntandoBundle.isInstalled: an installed job that completed. */
export function isInstalled(i: InstalledBundle | undefined, job: Job | undefined): boolean {
  return !!i?.installed && job?.status === 'INSTALL_COMPLETED';
}
