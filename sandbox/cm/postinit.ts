// Post-init as CM service/digitalexchange/job/PostInitServiceImpl.java runs it at start: once the
// EntandoApp is `successful`, the default item entando-epc-bootstrap 1.0.3 is deployed (its
// EntandoDeBundle built as EntandoDeBundleComposer does, annotated by k8s-service with
// entando.org/tenants) and installed with strategy OVERRIDE unless it is already installed;
// status UNKNOWN -> STARTED -> SUCCESSFUL | FAILED (GET /post-inits/status returns the bare name).
import type { CmConfig } from './config.js';
import type { InstallService } from './install.js';
import type { CmKube, Cr } from './kube.js';
import { bundleCode } from './names.js';
import {
  BOOTSTRAP,
  bootstrapDescriptor,
  listVersions,
  readDescriptor,
  writeDescriptor,
} from './registry.js';
import type { Store } from './store.js';

export type PostInitStatus = 'UNKNOWN' | 'STARTED' | 'SUCCESSFUL' | 'FAILED';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FREQUENCY_MS = 5000;
const MAX_APP_WAIT_MS = 600_000;
const MAX_JOB_WAIT_MS = 360_000;

export class PostInit {
  status: PostInitStatus = 'UNKNOWN';

  constructor(
    private readonly cfg: CmConfig,
    private readonly kube: CmKube,
    private readonly store: Store,
    private readonly install: InstallService,
    private readonly log: (m: string) => void,
  ) {}

  async run(): Promise<void> {
    const deadline = Date.now() + MAX_APP_WAIT_MS;
    while (Date.now() < deadline) {
      const app = await this.kube
        .get('entandoapps', this.cfg.namespace, this.cfg.appName)
        .catch(() => undefined);
      if (app?.status?.phase === 'successful') return this.installBootstrap();
      this.status = 'UNKNOWN';
      await sleep(FREQUENCY_MS);
    }
    this.log('post-init: the EntandoApp never became successful');
  }

  private async installBootstrap(): Promise<void> {
    this.status = 'STARTED';
    const code = bundleCode(BOOTSTRAP.name, BOOTSTRAP.url);
    try {
      // Sandbox only: the registry always has the bootstrap bundle (the internet has it).
      if (!readDescriptor(this.cfg.registryDir, BOOTSTRAP.url, BOOTSTRAP.version)) {
        writeDescriptor(this.cfg.registryDir, bootstrapDescriptor());
      }
      let cr = await this.install.findCr(code);
      if (!cr) {
        await this.kube.createOrReplace('entandodebundles', this.bundleCr(code));
        cr = await this.install.findCr(code);
      }
      if (!cr) throw new Error(`Bundle '${code}' has not been found`);
      const s = await this.install.installedState(code);
      const installed = !!s.installed?.installed && s.installedJob?.status === 'INSTALL_COMPLETED';
      const upgrade = installed && s.installedJob?.componentVersion !== BOOTSTRAP.version;
      if (installed && !upgrade) {
        this.status = 'SUCCESSFUL';
        this.log(`post-init: ${code} already installed`);
        return;
      }
      const tag = this.install.tagOf(cr, BOOTSTRAP.version);
      let job = await this.waitForLock(() =>
        this.install.install(cr, tag, 'OVERRIDE', undefined, undefined),
      );
      const until = Date.now() + MAX_JOB_WAIT_MS;
      while (!['INSTALL_COMPLETED', 'INSTALL_ROLLBACK', 'INSTALL_ERROR'].includes(job.status)) {
        if (Date.now() > until) throw new Error(`job ${job.id} still ${job.status}`);
        await sleep(1000);
        job = (await this.store.job(job.id)) ?? job;
      }
      this.status = job.status === 'INSTALL_COMPLETED' ? 'SUCCESSFUL' : 'FAILED';
      this.log(`post-init: ${code} ${job.status} -> ${this.status}`);
    } catch (err) {
      this.status = 'FAILED';
      this.log(`post-init: ${code} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The global lock may be held by a user's install: retry until it is free. */
  private async waitForLock<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if ((err as { status?: number }).status !== 409 || i > 120) throw err;
        await sleep(FREQUENCY_MS);
      }
    }
  }

  /** EntandoDeBundleComposer + k8s-service createBundle (tenants annotation). */
  private bundleCr(code: string): Cr {
    const versions = listVersions(this.cfg.registryDir, BOOTSTRAP.url).sort();
    const d = bootstrapDescriptor();
    return {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoDeBundle',
      metadata: {
        name: code,
        namespace: this.cfg.namespace,
        labels: { 'bundle-type': 'system-level-bundle', widget: 'true' },
        annotations: { 'entando.org/tenants': 'primary', 'entando.org/pbc': '[]' },
      },
      spec: {
        details: {
          name: BOOTSTRAP.name,
          description: d.description,
          'dist-tags': { latest: versions[versions.length - 1] ?? BOOTSTRAP.version },
          versions,
          thumbnail: '',
        },
        tags: versions.map((version) => ({
          version,
          tarball: BOOTSTRAP.url,
          integrity: '',
          shasum: '',
        })),
      },
    };
  }
}
