// The CM's JPA repositories over dedb (CM repository/*Repository.java): jobs, component jobs,
// installed bundles, plugin_data, component_data. Rows are normalised across dialects
// (MySQL booleans 0/1, DATETIME "YYYY-MM-DD hh:mm:ss.ffffff") to the Java-side values.
import { randomUUID } from 'node:crypto';
import type { Db, Row } from './db.js';
import { TABLES } from './schema.js';

export type JobStatus =
  | 'INSTALL_CREATED'
  | 'INSTALL_IN_PROGRESS'
  | 'INSTALL_COMPLETED'
  | 'INSTALL_ROLLBACK'
  | 'INSTALL_ROLLBACK_PARTIAL'
  | 'INSTALL_ERROR'
  | 'UNINSTALL_CREATED'
  | 'UNINSTALL_IN_PROGRESS'
  | 'UNINSTALL_COMPLETED'
  | 'UNINSTALL_PARTIAL_COMPLETED'
  | 'UNINSTALL_ERROR';

/** CM model/job/JobType.java. */
export const JOB_TYPES = {
  INSTALL: [
    'INSTALL_CREATED',
    'INSTALL_IN_PROGRESS',
    'INSTALL_ERROR',
    'INSTALL_COMPLETED',
    'INSTALL_ROLLBACK',
    'INSTALL_ROLLBACK_PARTIAL',
  ],
  UNINSTALL: [
    'UNINSTALL_CREATED',
    'UNINSTALL_IN_PROGRESS',
    'UNINSTALL_ERROR',
    'UNINSTALL_COMPLETED',
    'UNINSTALL_PARTIAL_COMPLETED',
  ],
  UNFINISHED: [
    'INSTALL_CREATED',
    'INSTALL_IN_PROGRESS',
    'UNINSTALL_CREATED',
    'UNINSTALL_IN_PROGRESS',
  ],
} as const satisfies Record<string, readonly JobStatus[]>;

export const COMPLETED_STATUSES: JobStatus[] = [
  'INSTALL_COMPLETED',
  'INSTALL_ROLLBACK',
  'INSTALL_ROLLBACK_PARTIAL',
  'INSTALL_ERROR',
  'UNINSTALL_COMPLETED',
  'UNINSTALL_PARTIAL_COMPLETED',
  'UNINSTALL_ERROR',
];

export interface Job {
  id: string;
  componentId: string;
  componentName: string;
  componentVersion: string;
  startedAt?: string;
  finishedAt?: string;
  userId?: string;
  progress: number;
  status: JobStatus;
  installErrorCode?: number;
  installErrorMessage?: string;
  rollbackErrorCode?: number;
  rollbackErrorMessage?: string;
  installPlan?: string;
  customInstallation?: boolean;
  uninstallErrorCode?: number;
  uninstallErrorMessage?: string;
  uninstallErrors?: string;
}

export interface ComponentJob {
  id: string;
  parentJobId: string;
  type: string;
  componentId: string;
  checksum?: string;
  action?: string;
  status: JobStatus;
  startedAt?: string;
  finishedAt?: string;
  installErrorCode?: number;
  installErrorMessage?: string;
  rollbackErrorCode?: number;
  rollbackErrorMessage?: string;
}

export interface InstalledBundle {
  id: string;
  bundleCode: string;
  name: string;
  description?: string;
  image?: string;
  installed: boolean;
  jobId: string;
  lastUpdate: string;
  version: string;
  type?: string;
  bundleType?: string;
  repoUrl?: string;
  pbcList?: string;
  ext?: string;
  imageDigest?: string;
}

/** LocalDateTime as Jackson writes it: ISO without zone, milliseconds (UNCONFIRMED precision). */
export function now(): string {
  return new Date().toISOString().replace('Z', '');
}

const toSql = (iso: string | undefined) => (iso ? iso.replace('T', ' ') : undefined);

function fromSql(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = String(v).replace(' ', 'T');
  // Trim MySQL's microseconds / PostgreSQL's to milliseconds.
  return s.replace(/(\.\d{3})\d*$/, '$1');
}

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
const bool = (v: unknown) =>
  v === null || v === undefined ? undefined : v === true || v === 1 || v === '1' || v === 't';

function jobFromRow(r: Row): Job {
  return {
    id: String(r.id),
    componentId: String(r.component_id),
    componentName: String(r.component_name),
    componentVersion: String(r.component_version),
    startedAt: fromSql(r.started_at),
    finishedAt: fromSql(r.finished_at),
    userId: str(r.user_id),
    progress: Number(r.progress ?? 0),
    status: String(r.status) as JobStatus,
    installErrorCode: num(r.install_error_code),
    installErrorMessage: str(r.install_error_message),
    rollbackErrorCode: num(r.rollback_error_code),
    rollbackErrorMessage: str(r.rollback_error_message),
    installPlan: str(r.install_plan),
    customInstallation: bool(r.custom_installation),
    uninstallErrorCode: num(r.uninstall_error_code),
    uninstallErrorMessage: str(r.uninstall_error_message),
    uninstallErrors: str(r.uninstall_errors),
  };
}

function jobToRow(j: Partial<Job>): Row {
  return {
    id: j.id,
    component_id: j.componentId,
    component_name: j.componentName,
    component_version: j.componentVersion,
    started_at: toSql(j.startedAt),
    finished_at: toSql(j.finishedAt),
    user_id: j.userId,
    status: j.status,
    progress: j.progress,
    install_error_code: j.installErrorCode,
    install_error_message: j.installErrorMessage,
    rollback_error_code: j.rollbackErrorCode,
    rollback_error_message: j.rollbackErrorMessage,
    install_plan: j.installPlan,
    custom_installation: j.customInstallation,
    uninstall_error_code: j.uninstallErrorCode,
    uninstall_error_message: j.uninstallErrorMessage,
    uninstall_errors: j.uninstallErrors,
  };
}

function componentJobFromRow(r: Row): ComponentJob {
  return {
    id: String(r.id),
    parentJobId: String(r.parent_entando_bundle_job_id),
    type: String(r.component_type),
    componentId: String(r.component_id),
    checksum: str(r.checksum),
    action: str(r.action),
    status: String(r.status) as JobStatus,
    startedAt: fromSql(r.started_at),
    finishedAt: fromSql(r.finished_at),
    installErrorCode: num(r.install_error_code),
    installErrorMessage: str(r.install_error_message),
    rollbackErrorCode: num(r.rollback_error_code),
    rollbackErrorMessage: str(r.rollback_error_message),
  };
}

/** Latest first by startedAt; a job not started yet (null) counts as the latest, as in PostgreSQL. */
function byStartedDesc(a: Job, b: Job): number {
  if (!a.startedAt && !b.startedAt) return 0;
  if (!a.startedAt) return -1;
  if (!b.startedAt) return 1;
  return b.startedAt.localeCompare(a.startedAt);
}

export class Store {
  constructor(readonly db: Db) {}

  async jobs(where: Partial<Record<'component_id' | 'status', string>> = {}): Promise<Job[]> {
    return (await this.db.select(TABLES.jobs, where)).map(jobFromRow).sort(byStartedDesc);
  }

  async job(id: string): Promise<Job | undefined> {
    return (await this.db.select(TABLES.jobs, { id })).map(jobFromRow)[0];
  }

  async createJob(j: Omit<Job, 'id'>): Promise<Job> {
    const job = { id: randomUUID(), ...j };
    await this.db.insert(TABLES.jobs, jobToRow(job));
    return job;
  }

  async updateJob(id: string, set: Partial<Job>): Promise<void> {
    const row = jobToRow(set);
    delete row.id;
    await this.db.update(TABLES.jobs, row, { id });
  }

  async componentJobs(parentJobId: string): Promise<ComponentJob[]> {
    return (
      await this.db.select(TABLES.componentJobs, { parent_entando_bundle_job_id: parentJobId })
    ).map(componentJobFromRow);
  }

  async createComponentJob(c: Omit<ComponentJob, 'id'>): Promise<ComponentJob> {
    const cj = { ...c, id: randomUUID() };
    await this.db.insert(TABLES.componentJobs, {
      id: cj.id,
      parent_entando_bundle_job_id: cj.parentJobId,
      component_type: cj.type,
      component_id: cj.componentId,
      checksum: cj.checksum,
      action: cj.action,
      status: cj.status,
      started_at: toSql(cj.startedAt),
      finished_at: toSql(cj.finishedAt),
    });
    return cj;
  }

  async updateComponentJob(id: string, set: Partial<ComponentJob>): Promise<void> {
    await this.db.update(
      TABLES.componentJobs,
      {
        status: set.status,
        started_at: toSql(set.startedAt),
        finished_at: toSql(set.finishedAt),
        install_error_code: set.installErrorCode,
        install_error_message: set.installErrorMessage,
        rollback_error_code: set.rollbackErrorCode,
        rollback_error_message: set.rollbackErrorMessage,
      },
      { id },
    );
  }

  async installedBundles(): Promise<InstalledBundle[]> {
    return (await this.db.select(TABLES.bundles)).map((r) => ({
      id: String(r.id),
      bundleCode: String(r.bundle_code),
      name: String(r.name),
      description: str(r.description),
      image: str(r.image),
      installed: bool(r.installed) ?? false,
      jobId: String(r.job_id),
      lastUpdate: fromSql(r.last_update) ?? '',
      version: String(r.version),
      type: str(r.type),
      bundleType: str(r.bundle_type),
      repoUrl: str(r.repo_url),
      pbcList: str(r.pbc_list),
      ext: str(r.ext),
      imageDigest: str(r.image_digest),
    }));
  }

  /** EntandoBundleInstallService.saveAsInstalledBundle: upsert by bundle_code. */
  async saveInstalledBundle(b: Omit<InstalledBundle, 'id'>): Promise<void> {
    const existing = (await this.installedBundles()).find((x) => x.bundleCode === b.bundleCode);
    const row: Row = {
      bundle_code: b.bundleCode,
      name: b.name,
      description: b.description,
      image: b.image,
      installed: b.installed,
      job_id: b.jobId,
      last_update: toSql(b.lastUpdate),
      version: b.version,
      type: b.type,
      bundle_type: b.bundleType,
      repo_url: b.repoUrl,
      pbc_list: b.pbcList,
      ext: b.ext,
      image_digest: b.imageDigest,
    };
    if (existing) await this.db.update(TABLES.bundles, row, { id: existing.id });
    else await this.db.insert(TABLES.bundles, { id: randomUUID(), ...row });
  }

  async pluginData(where: Row = {}): Promise<Row[]> {
    return this.db.select(TABLES.plugins, where);
  }

  async savePluginData(r: {
    bundleId: string;
    pluginName: string;
    pluginCode: string;
    endpoint: string;
    customEndpoint?: string;
    roles: string[];
    dockerTag: string;
    dockerSha256?: string;
  }): Promise<void> {
    await this.db.delete(TABLES.plugins, { plugin_code: r.pluginCode });
    await this.db.insert(TABLES.plugins, {
      id: randomUUID(),
      bundle_id: r.bundleId,
      plugin_name: r.pluginName,
      plugin_code: r.pluginCode,
      endpoint: r.endpoint,
      custom_endpoint: r.customEndpoint,
      // PluginDataEntity roles: a Set<String> through a comma-joining converter.
      roles: r.roles.join(','),
      docker_tag: r.dockerTag,
      docker_sha256: r.dockerSha256,
    });
  }

  async deletePluginData(pluginCode: string): Promise<void> {
    await this.db.delete(TABLES.plugins, { plugin_code: pluginCode });
  }

  async componentData(where: Row = {}): Promise<Row[]> {
    return this.db.select(TABLES.components, where);
  }

  async saveComponentData(r: {
    bundleId: string;
    type: string;
    code: string;
    name: string;
    group?: string;
    descriptor: unknown;
  }): Promise<void> {
    await this.db.delete(TABLES.components, { component_type: r.type, component_code: r.code });
    await this.db.insert(TABLES.components, {
      id: randomUUID(),
      bundle_id: r.bundleId,
      component_type: r.type,
      component_sub_type: r.type === 'WIDGET' ? 'widget' : undefined,
      component_id: r.code,
      component_name: r.name,
      component_code: r.code,
      component_group: r.group,
      component_descriptor: JSON.stringify(r.descriptor).slice(0, 4000),
    });
  }

  async deleteComponentData(type: string, code: string): Promise<void> {
    await this.db.delete(TABLES.components, { component_type: type, component_code: code });
  }
}
