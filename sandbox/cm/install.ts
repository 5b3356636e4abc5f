// Install / uninstall as the CM runs them: CM service/digitalexchange/job/
// EntandoBundleInstallService.java (lock, plan, job INSTALL_CREATED -> async IN_PROGRESS ->
// COMPLETED | ROLLBACK | ROLLBACK_PARTIAL | ERROR, component jobs by priority, saveAsInstalledBundle),
// EntandoBundleUninstallService.java, concurrency/BundleOperationsConcurrencyManager.java (one
// global operation), model/bundle/processor/BaseComponentProcessor.java (extractInstallAction:
// NEW is always CREATE), model/bundle/installable/PluginInstallable.java (link, wait ready,
// plugin_data; SKIP: fixPluginRegistrationIfNecessary), client/model/assembler/InstallPlanAssembler.
import { createHash } from 'node:crypto';
import { HttpError } from './auth.js';
import { fromCr, repoUrl } from './bundles.js';
import type { CmConfig } from './config.js';
import type { Cr, CmKube, DeBundle } from './kube.js';
import {
  bundleCode as composeBundleCode,
  bundleId,
  k8sCompatible,
  linkName,
  parseImage,
  pluginCode,
} from './names.js';
import {
  readDescriptor,
  type BundleDescriptor,
  type PluginDescriptor,
  type WidgetDescriptor,
} from './registry.js';
import { now, type Job, type JobStatus, type Store } from './store.js';
import { tenantId } from '../../src/entando/plugin-names.js';
import { bundleForTenant, PRIMARY_TENANT, withTenant } from './tenants.js';

export type Action = 'CREATE' | 'SKIP' | 'OVERRIDE';
export type Status = 'NEW' | 'DIFF' | 'EQUAL';

export interface ComponentPlan {
  status: Status;
  hash?: string;
  action?: Action;
}

/** InstallPlan: one map per component type (CM …/job/model/InstallPlan.java). */
export interface InstallPlan {
  hasConflicts?: boolean;
  widgets: Record<string, ComponentPlan>;
  plugins: Record<string, ComponentPlan>;
  fragments: Record<string, ComponentPlan>;
  pages: Record<string, ComponentPlan>;
  pageTemplates: Record<string, ComponentPlan>;
  contents: Record<string, ComponentPlan>;
  contentTemplates: Record<string, ComponentPlan>;
  contentTypes: Record<string, ComponentPlan>;
  assets: Record<string, ComponentPlan>;
  directories: Record<string, ComponentPlan>;
  resources: Record<string, ComponentPlan>;
  categories: Record<string, ComponentPlan>;
  groups: Record<string, ComponentPlan>;
  labels: Record<string, ComponentPlan>;
  languages: Record<string, ComponentPlan>;
}

export function emptyPlan(): InstallPlan {
  return {
    widgets: {},
    plugins: {},
    fragments: {},
    pages: {},
    pageTemplates: {},
    contents: {},
    contentTemplates: {},
    contentTypes: {},
    assets: {},
    directories: {},
    resources: {},
    categories: {},
    groups: {},
    labels: {},
    languages: {},
  };
}

/** CM ComponentType priorities: PLUGIN 0 ... WIDGET 7 ... PAGE 13. */
type Kind = 'PLUGIN' | 'WIDGET' | 'PAGE';
const PLAN_KEY: Record<Kind, 'plugins' | 'widgets' | 'pages'> = {
  PLUGIN: 'plugins',
  WIDGET: 'widgets',
  PAGE: 'pages',
};

interface Installable {
  kind: Kind;
  code: string;
  status: Status;
  action: Action;
  checksum: string;
  run: (action: Action) => Promise<void>;
  rollback: () => Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** BundleOperationsConcurrencyManager: one bundle operation at a time, across all bundles. */
export class OperationLock {
  private running = false;
  start(): void {
    if (this.running) {
      throw new HttpError(409, {
        message:
          'Another bundle operation (analysis, install, etc.) is already running. Multiple concurrent operations are not supported.',
      });
    }
    this.running = true;
  }
  end(): void {
    this.running = false;
  }
}

export class InstallService {
  /** The global lock: one per CM process, shared by every tenant's service. */
  readonly lock: OperationLock;
  /** The tenant whose datasource `store` is, whose bundles and plugins this service handles. */
  readonly tenant: string;

  constructor(
    private readonly cfg: CmConfig,
    private readonly store: Store,
    private readonly kube: CmKube,
    private readonly log: (m: string) => void,
    opts: { tenant?: string; lock?: OperationLock } = {},
  ) {
    this.tenant = opts.tenant ?? PRIMARY_TENANT;
    this.lock = opts.lock ?? new OperationLock();
  }

  /** ENTANDO_TENANTS given: the 7.3 tenant behaviours (annotation, tenantCode, env). */
  private get multiTenant(): boolean {
    return this.cfg.tenants.length > 0;
  }

  private get logPrefix(): string {
    return this.tenant === PRIMARY_TENANT ? '' : `tenant ${this.tenant}: `;
  }

  /**
   * BundleUtilities.composeIngressPathForV5 for a secondary tenant: `/<code>-<tenantId>/<plugin>`;
   * the primary keeps the stand-in's `/<code>/<plugin>`.
   */
  private ingressPath(code: string, plugin: string): string {
    const suffix = this.tenant === PRIMARY_TENANT ? '' : `-${tenantId(this.tenant)}`;
    return `/${k8sCompatible(code)}${suffix}/${k8sCompatible(plugin)}`;
  }

  // ---- bundles ----

  /** The namespaces k8s-service observes for this app: its own plus the repository ones. */
  namespaces(): string[] {
    return [...new Set([this.cfg.namespace, ...this.cfg.repositoryNamespaces])];
  }

  /** K8SSVC EntandoDeBundleService.getAll: bundles of this tenant (no tenants = primary). */
  async allCrs(): Promise<DeBundle[]> {
    return (await this.kube.bundles(this.namespaces())).filter((b) =>
      bundleForTenant(b.metadata.annotations, this.tenant),
    );
  }

  /**
   * CM KubernetesService.fetchBundleByName: by name in ENTANDO_COMPONENT_REPOSITORY_NAMESPACES
   * when set, else in the app's namespace; K8SSVC findByNameAndNamespace (7.3) skips bundles
   * whose metadata.annotations is null. Also accepts `repoUrl=<base64 url>` ids.
   */
  async findCr(id: string): Promise<DeBundle | undefined> {
    const m = /^repoUrl=(.+)$/.exec(id);
    if (m) {
      const url = Buffer.from(decodeURIComponent(m[1]), 'base64').toString('utf8');
      return (await this.allCrs()).find((b) => repoUrl(b) === url);
    }
    const where = this.cfg.repositoryNamespaces.length
      ? this.cfg.repositoryNamespaces
      : [this.cfg.namespace];
    for (const ns of where) {
      const found = (await this.kube.bundles([ns])).find(
        (b) =>
          b.metadata.name === id &&
          b.metadata.annotations &&
          bundleForTenant(b.metadata.annotations, this.tenant),
      );
      if (found) return found;
    }
    return undefined;
  }

  async requireCr(id: string): Promise<DeBundle> {
    const b = await this.findCr(id);
    if (!b) throw new HttpError(404, { message: `Bundle '${id}' has not been found` });
    return b;
  }

  /** The installed job: EntandoBundleServiceImpl.getInstalledBundle. */
  async installedState(code: string) {
    const installed = (await this.store.installedBundles()).find((b) => b.bundleCode === code);
    const installedJob = installed ? await this.store.job(installed.jobId) : undefined;
    const jobs = await this.store.jobs({ component_id: code });
    return { installed, installedJob, lastJob: jobs[0] };
  }

  async bundleView(b: DeBundle) {
    const s = await this.installedState(b.metadata.name);
    return fromCr(b, s.installed, s.installedJob, s.lastJob);
  }

  /** EntandoBundleOperationResourceController.getBundleTagOrFail (+ "latest" via dist-tags). */
  tagOf(b: DeBundle, version: string | undefined): { version: string; tarball: string } {
    const wanted = version ?? 'latest';
    let v = wanted;
    if (wanted === 'latest') {
      const latest = b.spec?.details?.['dist-tags']?.latest;
      if (!latest) {
        throw new HttpError(500, {
          message: `Invalid version '${wanted}' for bundle '${b.spec?.details?.name ?? b.metadata.name}'`,
        });
      }
      v = latest;
    }
    const tag = (b.spec?.tags ?? []).find((t) => t.version === v);
    if (!tag) throw new HttpError(422, { message: `Version ${v} not defined in bundle versions` });
    return tag;
  }

  /** EntandoBundleJobService.findCompletedOrConflictingInstallJob: 409 when the last job is unfinished. */
  async checkNoUnfinishedJob(code: string): Promise<void> {
    const last = (await this.store.jobs({ component_id: code }))[0];
    if (
      last &&
      [
        'INSTALL_CREATED',
        'INSTALL_IN_PROGRESS',
        'UNINSTALL_CREATED',
        'UNINSTALL_IN_PROGRESS',
      ].includes(last.status)
    ) {
      throw new HttpError(409, {
        message: `Conflict with another job for the component ${last.componentId} - JOB ID: ${last.id}`,
      });
    }
  }

  // ---- analysis ----

  private descriptorOf(tag: { version: string; tarball: string }): BundleDescriptor {
    const d = readDescriptor(this.cfg.registryDir, tag.tarball, tag.version);
    if (!d) {
      throw new Error(
        `Error downloading the bundle ${tag.tarball}@${tag.version}: not in the sandbox registry ${this.cfg.registryDir}`,
      );
    }
    return d;
  }

  private installables(d: BundleDescriptor, code: string): Promise<Installable[]> {
    return Promise.all([
      ...(d.plugins ?? []).map((p) => this.pluginInstallable(d, code, p)),
      ...(d.widgets ?? []).map((w) => this.widgetInstallable(d, w)),
      ...(d.pages ?? []).map((p) => this.pageInstallable(d, p.code)),
    ]);
  }

  private hook(d: BundleDescriptor, kind: Kind, code: string): void {
    const f = d.sandbox?.failComponent;
    if (f && f.component === `${kind.toLowerCase()}:${code}`) throw new Error(f.message);
  }

  /** K8SSVC analysis of a plugin: NEW without a CR of that name, EQUAL with the same image, else DIFF. */
  private async pluginInstallable(
    d: BundleDescriptor,
    code: string,
    p: PluginDescriptor,
  ): Promise<Installable> {
    const name = pluginCode(d.url, p, this.tenant);
    const ns = this.cfg.namespace;
    const existing = await this.kube.get('entandoplugins', ns, name);
    const status: Status = !existing ? 'NEW' : existing.spec?.image === p.image ? 'EQUAL' : 'DIFF';
    const link = linkName(this.cfg.appName, name);
    const created = { plugin: false };
    const record = () =>
      this.store.savePluginData({
        bundleId: bundleId(d.url),
        pluginName: p.name,
        pluginCode: name,
        // BundleUtilities.composeIngressPathForV5 and the ingressPath property.
        endpoint: this.ingressPath(code, p.name),
        customEndpoint: p.ingressPath,
        roles: p.roles ?? [],
        dockerTag: parseImage(p.image).tag,
        dockerSha256: undefined,
      });
    return {
      kind: 'PLUGIN',
      code: name,
      status,
      action: 'CREATE',
      checksum: sha256(p.image),
      run: async (action) => {
        if (action === 'SKIP') {
          // fixPluginRegistrationIfNecessary: a linked plugin without its plugin_data row.
          const hasLink = await this.kube.get('entandoapppluginlinks', ns, link);
          const rows = await this.store.pluginData({ plugin_code: name });
          if (hasLink && rows.length === 0) await record();
          return;
        }
        this.hook(d, 'PLUGIN', name);
        if (action === 'OVERRIDE') await this.kube.delete('entandoapppluginlinks', ns, link);
        created.plugin = !existing;
        await this.kube.createOrReplace('entandoplugins', this.pluginCr(d, code, p, name));
        await this.kube.createOrReplace('entandoapppluginlinks', this.linkCr(name));
        await this.waitPluginReady(name, link);
        await record();
      },
      rollback: async () => {
        await this.kube.delete('entandoapppluginlinks', ns, link);
        if (created.plugin) await this.kube.delete('entandoplugins', ns, name);
        await this.store.deletePluginData(name);
      },
    };
  }

  /** K8SSVC EntandoPluginService.createOrReplacePlugin: the CR plus ENTANDO_TIMESTAMP. */
  private pluginCr(d: BundleDescriptor, code: string, p: PluginDescriptor, name: string): Cr {
    const img = parseImage(p.image);
    const scheme = this.cfg.useTls ? 'https' : 'http';
    return {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoPlugin',
      metadata: {
        name,
        namespace: this.cfg.namespace,
        // BundleUtilities.getLabelsFromImage, plus the bundle the plugin came from.
        labels: {
          organization: img.organization.replace(/\//g, '.'),
          name: img.name,
          version: img.tag,
          'entando.org/bundle-name': d.name,
        },
      },
      spec: {
        image: p.image,
        ...(p.dbms ? { dbms: p.dbms } : {}),
        replicas: 1,
        ingressPath: p.ingressPath ?? this.ingressPath(code, p.name),
        ingressHostName: this.cfg.appHostName || undefined,
        healthCheckPath: p.healthCheckPath ?? '/api/health',
        roles: (p.roles ?? []).map((r) => ({ code: r, name: r })),
        permissions: p.permissions ?? [],
        securityLevel: 'strict',
        environmentVariables: [
          ...(p.environmentVariables ?? []),
          // PluginProcessor: the CM's own endpoint.
          {
            name: 'ENTANDO_ECR_INGRESS_URL',
            value: `${scheme}://${this.cfg.appHostName}/digital-exchange`,
          },
          // BundleUtilities (7.3): every plugin learns its tenant.
          ...(this.multiTenant ? [{ name: 'ENTANDO_TENANT_CODE', value: this.tenant }] : []),
          { name: 'ENTANDO_TIMESTAMP', value: String(Date.now()) },
        ],
        // BundleUtilities .withTenantCode (7.3 CRDs).
        ...(this.multiTenant ? { tenantCode: this.tenant } : {}),
      },
    };
  }

  /** EntandoLinkService.buildEntandoAppPluginLink: in the app's namespace, no ownerReferences. */
  private linkCr(plugin: string): Cr {
    const ns = this.cfg.namespace;
    return {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoAppPluginLink',
      metadata: { name: linkName(this.cfg.appName, plugin), namespace: ns },
      spec: {
        entandoAppName: this.cfg.appName,
        entandoAppNamespace: ns,
        entandoPluginName: plugin,
        entandoPluginNamespace: ns,
        // K8SSVC EntandoLinkService: copied from the plugin.
        ...(this.multiTenant ? { tenantCode: this.tenant } : {}),
      },
    };
  }

  /**
   * DefaultK8SServiceClient.isPluginReadyToServeApp: link `successful`, then an HTTP health check
   * through the app's ingress host. The sandbox has no DNS for that host: the plugin deployment's
   * readiness stands in for the health check (documented deviation).
   */
  private async waitPluginReady(plugin: string, link: string): Promise<void> {
    const deadline = Date.now() + this.cfg.pluginReadinessTimeoutMs;
    for (;;) {
      const l = await this.kube.get('entandoapppluginlinks', this.cfg.namespace, link);
      const p = await this.kube.get('entandoplugins', this.cfg.namespace, plugin);
      const linked = l?.status?.phase === 'successful';
      const ready =
        p?.status?.phase === 'successful' &&
        (await this.kube.deploymentReady(this.cfg.namespace, `${plugin}-deployment`));
      if (linked && ready) return;
      if (Date.now() > deadline) {
        throw new Error(
          `Plugin ${plugin} not ready after ${this.cfg.pluginReadinessTimeoutMs / 60000} minutes (link ${l?.status?.phase ?? 'absent'}, plugin ${p?.status?.phase ?? 'absent'})`,
        );
      }
      await sleep(this.cfg.pluginPollMs);
    }
  }

  /** Widgets: created in the app engine (no process here); component_data records them. */
  private async widgetInstallable(d: BundleDescriptor, w: WidgetDescriptor): Promise<Installable> {
    const code = `${w.code}-${bundleId(d.url)}`;
    const existing = await this.store.componentData({
      component_type: 'WIDGET',
      component_code: code,
    });
    const descriptor = { ...w, code };
    const hash = sha256(JSON.stringify(descriptor));
    const status: Status = existing.length === 0 ? 'NEW' : 'EQUAL';
    let created = false;
    return {
      kind: 'WIDGET',
      code,
      status,
      action: 'CREATE',
      checksum: hash,
      run: async (action) => {
        if (action === 'SKIP') return;
        this.hook(d, 'WIDGET', code);
        created = existing.length === 0;
        await this.store.saveComponentData({
          bundleId: bundleId(d.url),
          type: 'WIDGET',
          code,
          name: w.code,
          group: w.group ?? 'free',
          descriptor,
        });
      },
      rollback: async () => {
        if (created) await this.store.deleteComponentData('WIDGET', code);
      },
    };
  }

  private async pageInstallable(d: BundleDescriptor, page: string): Promise<Installable> {
    const code = `${page}-${bundleId(d.url)}`;
    return {
      kind: 'PAGE',
      code,
      status: 'NEW',
      action: 'CREATE',
      checksum: sha256(code),
      run: async (action) => {
        if (action !== 'SKIP') this.hook(d, 'PAGE', code);
      },
      rollback: async () => {},
    };
  }

  /** InstallPlanAssembler + BaseComponentProcessor.extractInstallAction. */
  private applyStrategy(items: Installable[], strategy: Action | undefined, plan?: InstallPlan) {
    for (const it of items) {
      const fromPlan = plan?.[PLAN_KEY[it.kind]]?.[it.code]?.action;
      if (it.status === 'NEW') it.action = 'CREATE';
      else if (plan) it.action = fromPlan!;
      else it.action = strategy ?? 'CREATE';
    }
  }

  private planOf(items: Installable[], withActions: boolean): InstallPlan {
    const plan = emptyPlan();
    for (const it of items) {
      plan[PLAN_KEY[it.kind]][it.code] = {
        status: it.status,
        ...(it.status !== 'NEW' ? { hash: it.checksum } : {}),
        ...(withActions ? { action: it.action } : {}),
      };
    }
    plan.hasConflicts = items.some((i) => i.status !== 'NEW');
    return plan;
  }

  /** POST …/installplans: a dry-run analysis under the lock. */
  async installPlan(b: DeBundle, tag: { version: string; tarball: string }): Promise<InstallPlan> {
    this.lock.start();
    try {
      const d = this.descriptorOf(tag);
      return this.planOf(await this.installables(d, b.metadata.name), false);
    } finally {
      this.lock.end();
    }
  }

  /** PUT …/installplans validation: NEW must be CREATE (422), a missing action is a 500. */
  async validatePlan(b: DeBundle, tag: { version: string; tarball: string }, plan: InstallPlan) {
    const d = this.descriptorOf(tag);
    for (const it of await this.installables(d, b.metadata.name)) {
      const p = plan[PLAN_KEY[it.kind]]?.[it.code];
      if (!p?.action) throw new HttpError(500, { message: `Null action for component ${it.code}` });
      if (it.status === 'NEW' && p.action !== 'CREATE') {
        throw new HttpError(422, {
          message: `The component ${it.code} is NEW: its action must be CREATE`,
        });
      }
    }
  }

  /** EntandoBundleInstallService.install: job INSTALL_CREATED now, the rest asynchronously. */
  async install(
    b: DeBundle,
    tag: { version: string; tarball: string },
    strategy: Action | undefined,
    plan: InstallPlan | undefined,
    userId: string | undefined,
  ): Promise<Job> {
    this.lock.start();
    let job: Job;
    try {
      let planJson: string | undefined;
      let custom = false;
      if (plan) {
        planJson = JSON.stringify(plan);
        custom = Object.values(plan).some(
          (m) =>
            m &&
            typeof m === 'object' &&
            Object.values(m as Record<string, ComponentPlan>).some((c) => c.action === 'SKIP'),
        );
      } else if (strategy && strategy !== 'CREATE') {
        try {
          const items = await this.installables(this.descriptorOf(tag), b.metadata.name);
          planJson = JSON.stringify(this.planOf(items, false));
        } catch {
          planJson = undefined; // the async part reports the error as INSTALL_ERROR
        }
      }
      job = await this.store.createJob({
        componentId: b.metadata.name,
        componentName: b.spec?.details?.name ?? b.metadata.name,
        componentVersion: tag.version,
        userId,
        progress: 0,
        status: 'INSTALL_CREATED',
        installPlan: planJson,
        customInstallation: custom,
      });
    } catch (err) {
      this.lock.end();
      throw err;
    }
    void this.runInstall(job, b, tag, strategy, plan).finally(() => this.lock.end());
    return job;
  }

  private async runInstall(
    job: Job,
    b: DeBundle,
    tag: { version: string; tarball: string },
    strategy: Action | undefined,
    plan: InstallPlan | undefined,
  ): Promise<void> {
    const code = b.metadata.name;
    const started = now();
    await this.store.updateJob(job.id, { status: 'INSTALL_IN_PROGRESS', startedAt: started });
    this.log(
      `${this.logPrefix}install ${code}@${tag.version} (${strategy ?? 'CREATE'}): job ${job.id} in progress`,
    );
    let items: Installable[];
    let d: BundleDescriptor;
    try {
      d = this.descriptorOf(tag);
      const delay = d.sandbox?.installDelaySeconds ?? 0;
      if (delay > 0) await sleep(delay * 1000);
      items = await this.installables(d, code);
      this.applyStrategy(items, strategy, plan);
    } catch (err) {
      await this.finish(job.id, 'INSTALL_ERROR', {
        installErrorCode: 100,
        installErrorMessage: msg(err),
      });
      return;
    }
    const priority: Record<Kind, number> = { PLUGIN: 0, WIDGET: 7, PAGE: 13 };
    items.sort((a, z) => priority[a.kind] - priority[z.kind]);
    const done: { it: Installable; cj: string }[] = [];
    for (const [i, it] of items.entries()) {
      const cj = await this.store.createComponentJob({
        parentJobId: job.id,
        type: it.kind,
        componentId: it.code,
        checksum: it.checksum,
        action: it.action,
        status: 'INSTALL_IN_PROGRESS',
        startedAt: now(),
      });
      try {
        await it.run(it.action);
        await this.store.updateComponentJob(cj.id, {
          status: 'INSTALL_COMPLETED',
          finishedAt: now(),
        });
        done.push({ it, cj: cj.id });
        await this.store.updateJob(job.id, {
          progress: Math.max(0.01, Math.floor(((i + 1) / (items.length + 1)) * 100) / 100),
        });
      } catch (err) {
        const message = msg(err);
        this.log(`install ${code}: ${it.kind} ${it.code} failed: ${message}; rolling back`);
        await this.store.updateComponentJob(cj.id, {
          status: 'INSTALL_ERROR',
          finishedAt: now(),
          installErrorCode: 100,
          installErrorMessage: message,
        });
        const rollbackError = await this.rollback(done);
        await this.finish(job.id, rollbackError ? 'INSTALL_ROLLBACK_PARTIAL' : 'INSTALL_ROLLBACK', {
          installErrorCode: 100,
          installErrorMessage: message,
          ...(rollbackError ? { rollbackErrorCode: 100, rollbackErrorMessage: rollbackError } : {}),
        });
        return;
      }
    }
    await this.store.saveInstalledBundle({
      bundleCode: code,
      name: b.spec?.details?.name ?? code,
      description: b.spec?.details?.description,
      image: b.spec?.details?.thumbnail,
      installed: true,
      jobId: job.id,
      lastUpdate: now(),
      version: tag.version,
      type: [...new Set(items.map((i) => i.kind.toLowerCase()))].join(','),
      bundleType: b.metadata.labels?.['bundle-type'] ?? 'standard-bundle',
      repoUrl: tag.tarball,
      pbcList: b.metadata.annotations?.['entando.org/pbc'],
    });
    await this.markTenant(b, true);
    await this.finish(job.id, 'INSTALL_COMPLETED', { progress: 1 });
  }

  /**
   * With tenants, the bundle's `entando.org/tenants` annotation names the tenants it is
   * installed for: this one added on install, removed on uninstall (K8SSVC createBundle /
   * removeTenantAnnotationFromBundle@release/7.3). Single-tenant: left alone.
   */
  private async markTenant(b: DeBundle | undefined, present: boolean): Promise<void> {
    if (!this.multiTenant || !b) return;
    const next = withTenant(b.metadata.annotations, this.tenant, present);
    if (!next) return;
    const fresh = (await this.kube.bundles([b.metadata.namespace])).find(
      (x) => x.metadata.name === b.metadata.name,
    );
    const base = fresh ?? b;
    const annotations = withTenant(base.metadata.annotations, this.tenant, present);
    if (!annotations) return;
    await this.kube.createOrReplace('entandodebundles', {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoDeBundle',
      ...(base as Omit<Cr, 'metadata'>),
      metadata: { ...base.metadata, annotations },
    } as Cr);
  }

  private async rollback(done: { it: Installable; cj: string }[]): Promise<string | undefined> {
    let error: string | undefined;
    for (const { it, cj } of [...done].reverse()) {
      try {
        await it.rollback();
        await this.store.updateComponentJob(cj, { status: 'INSTALL_ROLLBACK', finishedAt: now() });
      } catch (err) {
        error = msg(err);
        await this.store.updateComponentJob(cj, {
          status: 'INSTALL_ROLLBACK_PARTIAL' as JobStatus,
          rollbackErrorCode: 100,
          rollbackErrorMessage: error,
        });
      }
    }
    return error;
  }

  private async finish(id: string, status: JobStatus, extra: Partial<Job>): Promise<void> {
    await this.store.updateJob(id, { ...extra, status, finishedAt: now() });
    this.log(
      `${this.logPrefix}job ${id}: ${status}${extra.installErrorMessage ? ` (${extra.installErrorMessage})` : ''}`,
    );
  }

  /** EntandoBundleUninstallService: UNINSTALL_CREATED, then delete what the installed job CREATEd. */
  async uninstall(code: string, userId: string | undefined): Promise<Job> {
    const s = await this.installedState(code);
    if (!s.installed || !s.installedJob) {
      throw new HttpError(404, { message: `Bundle '${code}' has not been found` });
    }
    await this.checkNoUnfinishedJob(code);
    this.lock.start();
    let job: Job;
    try {
      job = await this.store.createJob({
        componentId: code,
        componentName: s.installedJob.componentName,
        componentVersion: s.installedJob.componentVersion,
        userId,
        progress: 0,
        status: 'UNINSTALL_CREATED',
      });
    } catch (err) {
      this.lock.end();
      throw err;
    }
    const installedJobId = s.installedJob.id;
    void (async () => {
      await this.store.updateJob(job.id, { status: 'UNINSTALL_IN_PROGRESS', startedAt: now() });
      try {
        const cjs = await this.store.componentJobs(installedJobId);
        for (const c of cjs.filter((x) => x.action === 'CREATE').reverse()) {
          if (c.type === 'PLUGIN') {
            await this.kube.delete(
              'entandoapppluginlinks',
              this.cfg.namespace,
              linkName(this.cfg.appName, c.componentId),
            );
            await this.kube.delete('entandoplugins', this.cfg.namespace, c.componentId);
            await this.store.deletePluginData(c.componentId);
          } else if (c.type === 'WIDGET') {
            await this.store.deleteComponentData('WIDGET', c.componentId);
          }
        }
        await this.store.db.delete('installed_entando_bundles', { bundle_code: code });
        await this.markTenant(await this.findCr(code), false);
        await this.store.updateJob(job.id, {
          status: 'UNINSTALL_COMPLETED',
          progress: 1,
          finishedAt: now(),
        });
      } catch (err) {
        await this.store.updateJob(job.id, {
          status: 'UNINSTALL_ERROR',
          finishedAt: now(),
          uninstallErrorCode: 100,
          uninstallErrorMessage: msg(err),
        });
      }
    })().finally(() => this.lock.end());
    return job;
  }
}

function msg(err: unknown): string {
  const e = err as { body?: unknown; message?: string };
  if (e?.body) return typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  return e?.message ?? String(err);
}

export { composeBundleCode };
