// HTTP side of the CM stand-in (node:http, base path /digital-exchange). Endpoints, bodies and
// status codes follow CM controller/digitalexchange/component/EntandoBundleResourceController.java,
// job/EntandoBundleOperationResourceController.java, job/EntandoBundleJobResourceController.java,
// component/PostInitResourceController.java; envelopes web/response/SimpleRestResponse and
// PagedRestResponse; errors controller/GlobalControllerExceptionHandler.java ({"message": …}).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpError, type Claims, type TokenVerifier } from './auth.js';
import { bundleJob, compact, fromInstalledOnly, jobEntity, repoUrl } from './bundles.js';
import type { Action, InstallPlan, InstallService } from './install.js';
import type { PostInit } from './postinit.js';
import { JOB_TYPES, type Job, type Store } from './store.js';
import { PRIMARY_TENANT, selectTenant, type CmTenant } from './tenants.js';

const BASE = '/digital-exchange';

/** What serves one tenant: its issuer, its datasource, its bundles. */
export interface TenantDeps {
  auth: TokenVerifier;
  install: InstallService;
  store: Store;
}

/** The primary's deps, plus (ENTANDO_TENANTS given) each secondary tenant's. */
export interface Deps extends TenantDeps {
  postInit: PostInit;
  log: (m: string) => void;
  tenants?: { configs: CmTenant[]; deps: Map<string, TenantDeps> };
}

/**
 * TenantFilter: the request's tenant, then its deps (TenantDataSource, MultipleIdps). Without
 * tenants every request is the primary's, whatever its headers. A tenant code no configuration
 * names has no issuer: its tokens are refused (401).
 */
export function tenantDeps(deps: Deps, headers: IncomingMessage['headers']): TenantDeps {
  if (!deps.tenants?.configs.length) return deps;
  const code = selectTenant(deps.tenants.configs, headers);
  if (code === PRIMARY_TENANT) return deps;
  const found = deps.tenants.deps.get(code);
  if (found) return found;
  throw new HttpError(401, undefined, {
    'WWW-Authenticate': `Bearer error="invalid_token", error_description="no issuer for tenant ${code}"`,
  });
}

interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

interface Res {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: string;
}

const simple = (payload: unknown, status = 200, headers?: Record<string, string>): Res => ({
  status,
  headers,
  body: { payload, metaData: {}, errors: [] },
});

/** PagedRestResponse over an in-memory list (RestListRequest: page from 1, pageSize 100). */
function paged<T>(items: T[], q: URLSearchParams, sortDefault: string): Res {
  const page = Math.max(1, Number(q.get('page') ?? 1) || 1);
  const pageSize = Math.max(0, Number(q.get('pageSize') ?? 100) || 100);
  const sort = q.get('sort') ?? sortDefault;
  const direction = (q.get('direction') ?? 'ASC').toUpperCase();
  const sorted = [...items].sort((a, b) => {
    const x = String((a as Record<string, unknown>)[sort] ?? '');
    const y = String((b as Record<string, unknown>)[sort] ?? '');
    return direction === 'DESC' ? y.localeCompare(x) : x.localeCompare(y);
  });
  const slice = pageSize === 0 ? sorted : sorted.slice((page - 1) * pageSize, page * pageSize);
  const filters = filtersOf(q);
  return {
    status: 200,
    body: {
      payload: slice,
      metaData: {
        page,
        pageSize,
        lastPage: pageSize === 0 ? 1 : Math.max(1, Math.ceil(items.length / pageSize)),
        totalItems: items.length,
        sort,
        direction,
        filters,
        additionalParams: {},
      },
      errors: [],
    },
  };
}

interface Filter {
  attribute: string;
  operator: string;
  value?: string;
  allowedValues?: string[];
}

/** filters[i].attribute / operator (eq, like, not, gt, lt) / value / allowedValues[j]. */
function filtersOf(q: URLSearchParams): Filter[] {
  const out: Filter[] = [];
  for (let i = 0; q.has(`filters[${i}].attribute`); i++) {
    const allowed: string[] = [];
    for (let j = 0; q.has(`filters[${i}].allowedValues[${j}]`); j++) {
      allowed.push(q.get(`filters[${i}].allowedValues[${j}]`)!);
    }
    out.push(
      compact({
        attribute: q.get(`filters[${i}].attribute`)!,
        operator: q.get(`filters[${i}].operator`) ?? 'like',
        value: q.get(`filters[${i}].value`) ?? undefined,
        allowedValues: allowed.length ? allowed : undefined,
      }) as Filter,
    );
  }
  return out;
}

function matches(item: Record<string, unknown>, f: Filter): boolean {
  const v = item[f.attribute];
  const s = v === undefined || v === null ? '' : String(v);
  if (f.allowedValues) return f.allowedValues.includes(s);
  const want = f.value ?? '';
  switch (f.operator.toLowerCase()) {
    case 'eq':
      return s === want;
    case 'not':
      return s !== want;
    case 'gt':
      return s > want;
    case 'lt':
      return s < want;
    default:
      return s.toLowerCase().includes(want.toLowerCase());
  }
}

const userOf = (c: Claims) => c.preferred_username ?? c.sub;

function strategyOf(v: unknown): Action | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'CREATE' || v === 'SKIP' || v === 'OVERRIDE') return v;
  throw new HttpError(400, { message: `Invalid conflictStrategy '${String(v)}'` });
}

export function route(deps: Deps) {
  return async function handle(req: Req): Promise<Res> {
    const p = req.path.slice(BASE.length) || '/';
    if (req.method === 'GET' && (p === '/actuator/health' || p === '/actuator/health/')) {
      return { status: 200, body: { status: 'UP' } };
    }
    return tenantRoute(deps, tenantDeps(deps, req.headers))(req);
  };
}

function tenantRoute(deps: Deps, { auth, install, store }: TenantDeps) {
  async function lastOfType(code: string, statuses: readonly string[]): Promise<Job> {
    const job = (await store.jobs({ component_id: code })).find((j) => statuses.includes(j.status));
    if (!job) throw new HttpError(404, { message: `Job '${code}' has not been found` });
    return job;
  }

  async function componentJobs(jobId: string) {
    return (await store.componentJobs(jobId)).map((c) =>
      compact({
        id: c.id,
        type: c.type,
        componentId: c.componentId,
        checksum: c.checksum,
        status: c.status,
        action: c.action,
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
        installErrorCode: c.installErrorCode,
        installErrorMessage: c.installErrorMessage,
        rollbackErrorCode: c.rollbackErrorCode,
        rollbackErrorMessage: c.rollbackErrorMessage,
      }),
    );
  }

  async function installResponse(job: Job): Promise<Res> {
    return simple(jobEntity(job), 201, { Location: `${BASE}/jobs/${job.id}` });
  }

  return async function handle(req: Req): Promise<Res> {
    const p = req.path.slice(BASE.length) || '/';
    const claims = await auth.authenticate(req.headers.authorization);
    const write = () => auth.checkWritePermission(claims);
    const body = (req.body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;

    if (p === '/components' && req.method === 'GET') {
      const crs = await install.allCrs();
      const items: Record<string, unknown>[] = [];
      for (const b of crs)
        items.push((await install.bundleView(b)) as unknown as Record<string, unknown>);
      const codes = new Set(crs.map((b) => b.metadata.name));
      for (const i of await store.installedBundles()) {
        if (codes.has(i.bundleCode)) continue;
        const job = await store.job(i.jobId);
        items.push(fromInstalledOnly(i, job) as unknown as Record<string, unknown>);
      }
      const filtered = items.filter((it) => filtersOf(req.query).every((f) => matches(it, f)));
      return paged(filtered, req.query, 'code');
    }
    if (p === '/components/status/query' && req.method === 'POST') {
      const ids = Array.isArray(body.ids) ? (body.ids as string[]) : [];
      const crs = await install.allCrs();
      const installed = await store.installedBundles();
      const statuses = [];
      for (const id of ids) {
        let valid = true;
        try {
          new URL(id);
        } catch {
          valid = false;
        }
        const cr = crs.find((b) => repoUrl(b) === id);
        const inst = installed.find((i) => i.repoUrl === id && i.installed);
        const job = inst ? await store.job(inst.jobId) : undefined;
        const isInst = !!inst && job?.status === 'INSTALL_COMPLETED';
        const status =
          !valid && !id.startsWith('docker://')
            ? 'INVALID_REPO_URL'
            : isInst
              ? cr
                ? 'INSTALLED'
                : 'INSTALLED_NOT_DEPLOYED'
              : cr
                ? 'DEPLOYED'
                : 'NOT_FOUND';
        statuses.push(
          compact({
            id,
            name: cr?.spec?.details?.name ?? inst?.name,
            status,
            installedVersion: isInst ? inst?.version : undefined,
          }),
        );
      }
      return simple({ bundlesStatuses: statuses });
    }
    if ((m = /^\/components\/([^/]+)$/.exec(p)) && req.method === 'GET') {
      const id = decodeURIComponent(m[1]);
      const cr = await install.findCr(id);
      if (cr) return simple(await install.bundleView(cr));
      const inst = (await store.installedBundles()).find((i) => i.bundleCode === id);
      if (!inst) throw new HttpError(404, { message: `Bundle '${id}' has not been found` });
      return simple(fromInstalledOnly(inst, await store.job(inst.jobId)));
    }
    if ((m = /^\/components\/([^/]+)\/install$/.exec(p))) {
      const code = decodeURIComponent(m[1]);
      if (req.method === 'GET') return simple(jobEntity(await lastOfType(code, JOB_TYPES.INSTALL)));
      if (req.method === 'POST') {
        write();
        const strategy = strategyOf(body.conflictStrategy);
        const s = await install.installedState(code);
        const installed =
          !!s.installed?.installed && s.installedJob?.status === 'INSTALL_COMPLETED';
        if (installed && (strategy === undefined || strategy === 'CREATE')) {
          throw new HttpError(409, {
            message: `Error install request conflict strategy:'${strategy ?? 'null'}' not compatible with the status of the bundle:'${code}'`,
          });
        }
        const cr = await install.requireCr(code);
        const tag = install.tagOf(cr, body.version as string | undefined);
        await install.checkNoUnfinishedJob(cr.metadata.name);
        return installResponse(await install.install(cr, tag, strategy, undefined, userOf(claims)));
      }
    }
    if ((m = /^\/components\/([^/]+)\/installplans$/.exec(p))) {
      const code = decodeURIComponent(m[1]);
      if (req.method === 'GET') return simple(jobEntity(await lastOfType(code, JOB_TYPES.INSTALL)));
      write();
      const cr = await install.requireCr(code);
      const tag = install.tagOf(cr, body.version as string | undefined);
      if (req.method === 'POST') return simple(await install.installPlan(cr, tag));
      if (req.method === 'PUT') {
        const plan = body as unknown as InstallPlan;
        await install.validatePlan(cr, tag, plan);
        await install.checkNoUnfinishedJob(cr.metadata.name);
        const { version: _v, ...rest } = body;
        void _v;
        return installResponse(
          await install.install(cr, tag, undefined, rest as unknown as InstallPlan, userOf(claims)),
        );
      }
    }
    if ((m = /^\/components\/([^/]+)\/uninstall$/.exec(p))) {
      const code = decodeURIComponent(m[1]);
      if (req.method === 'GET') {
        const job = await lastOfType(code, JOB_TYPES.UNINSTALL);
        return simple(
          compact({
            id: job.id,
            componentId: job.componentId,
            status: job.status,
            progress: job.progress,
            errorCode: job.uninstallErrorCode,
            errorMessage: job.uninstallErrorMessage,
          }),
        );
      }
      if (req.method === 'POST') {
        write();
        const job = await install.uninstall(code, userOf(claims));
        return simple(jobEntity(job), 201, { Location: `${BASE}/jobs/${job.id}` });
      }
    }
    if ((m = /^\/components\/([^/]+)\/lastJob$/.exec(p)) && req.method === 'GET') {
      const code = decodeURIComponent(m[1]);
      const last = (await store.jobs({ component_id: code }))[0];
      if (last?.status === 'INSTALL_IN_PROGRESS') return simple({ status: 'installing' });
      if (last?.status === 'UNINSTALL_IN_PROGRESS') return simple({ status: 'uninstalling' });
      throw new HttpError(404, { message: `Job '${code}' has not been found` });
    }
    if (p === '/jobs' && req.method === 'GET') {
      const jobs = (await store.jobs()).map((j) => bundleJob(j));
      const filtered = jobs.filter((it) => filtersOf(req.query).every((f) => matches(it, f)));
      const q = new URLSearchParams(req.query);
      if (!q.has('sort')) {
        q.set('sort', 'startedAt');
        if (!q.has('direction')) q.set('direction', 'DESC');
      }
      return paged(filtered, q, 'startedAt');
    }
    if ((m = /^\/jobs\/([^/]+)$/.exec(p)) && req.method === 'GET') {
      const id = decodeURIComponent(m[1]);
      const job = await store.job(id);
      if (!job) {
        return {
          status: 404,
          headers: { 'Content-Type': 'application/problem+json' },
          body: { title: 'Not Found', status: 404, detail: `Job '${id}' has not been found` },
        };
      }
      return simple(bundleJob(job, await componentJobs(job.id)));
    }
    if (p === '/post-inits/status' && req.method === 'GET') {
      return { status: 200, raw: deps.postInit.status };
    }
    return { status: 404, body: { message: `No handler for ${req.method} ${req.path}` } };
  };
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new HttpError(413, { message: 'request body too large' }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, { message: 'malformed JSON body' }));
      }
    });
    req.on('error', reject);
  });
}

export function startServer(deps: Deps, host: string, port: number): Promise<Server> {
  const handle = route(deps);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      let out: Res;
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        if (!url.pathname.startsWith(BASE)) {
          out = { status: 404, body: { message: `No handler for ${req.method} ${url.pathname}` } };
        } else {
          const body = await readBody(req);
          out = await handle({
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            body,
          });
        }
      } catch (err) {
        if (err instanceof HttpError) {
          out = { status: err.status, body: err.body, headers: err.headers };
        } else {
          deps.log(
            `${req.method} ${url.pathname}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
          );
          out = {
            status: 500,
            body: { message: err instanceof Error ? err.message : String(err) },
          };
        }
      }
      const headers: Record<string, string> = { ...(out.headers ?? {}) };
      let payload = '';
      if (out.raw !== undefined) {
        payload = out.raw;
        headers['Content-Type'] ??= 'application/json';
      } else if (out.body !== undefined) {
        payload = JSON.stringify(out.body);
        headers['Content-Type'] ??= 'application/json';
      }
      res.writeHead(out.status, headers);
      res.end(payload);
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
