/**
 * A small client of Entando's component manager (CM) REST API, 7.x (see BUNDLES.md §1):
 * `GET /components`, `POST|GET /components/{id}/install`, `GET /jobs`, `GET /post-inits/status`,
 * `GET /bundles/{bundleId}/plugins`. Every call carries a bearer token from a TokenSource;
 * errors name the call and the CM's own message (`{message}`, `{errors:[{message}]}` or a
 * problem+json `{title, detail}`), never the token.
 */
import { OperationError } from '../../errors.js';

/** A job as the CM returns it (EntandoBundleJobEntity / EntandoBundleJob); null fields omitted. */
export interface CmJob {
  id: string;
  componentId?: string;
  componentName?: string;
  componentVersion?: string;
  status: string;
  progress?: number;
  installErrorMessage?: string;
  rollbackErrorMessage?: string;
  uninstallErrorMessage?: string;
}

/** An item of `GET /components` (EntandoBundle). */
export interface CmBundle {
  code: string;
  title?: string;
  repoUrl?: string;
  bundleType?: string;
  componentTypes?: string[];
  installed?: boolean;
  installedJob?: CmJob;
  lastJob?: CmJob;
  latestVersion?: { version: string };
}

/** An item of `GET /bundles/{bundleId}/plugins` (PluginData). */
export interface CmPlugin {
  bundleId?: string;
  pluginName?: string;
  pluginCode: string;
  ingressPath?: string;
  roles?: string[];
}

export const UNFINISHED_STATUSES = [
  'INSTALL_CREATED',
  'INSTALL_IN_PROGRESS',
  'UNINSTALL_CREATED',
  'UNINSTALL_IN_PROGRESS',
];
export const INSTALL_FAILED_STATUSES = [
  'INSTALL_ROLLBACK',
  'INSTALL_ROLLBACK_PARTIAL',
  'INSTALL_ERROR',
];

export class CmHttpError extends OperationError {
  constructor(
    readonly status: number,
    readonly call: string,
    readonly detail: string,
  ) {
    super(`component manager ${call}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
}

/** Gives a valid bearer token (renewed when needed). */
export interface TokenSource {
  token(): Promise<string>;
}

/** The CM's message from an error body of any of its three shapes, cut to one line. */
export function cmErrorDetail(text: string): string {
  let detail = text.trim();
  try {
    const body = JSON.parse(text) as {
      message?: string;
      errors?: { message?: string }[];
      title?: string;
      detail?: string;
      error?: string;
      error_description?: string;
    };
    detail =
      body.message ??
      body.errors?.map((e) => e.message).filter(Boolean)[0] ??
      body.detail ??
      body.error_description ??
      body.title ??
      body.error ??
      detail;
  } catch {
    // not JSON: the text itself
  }
  detail = detail.replace(/\s+/g, ' ');
  return detail.length > 300 ? `${detail.slice(0, 300)}...` : detail;
}

export class ComponentManagerClient {
  constructor(
    /** e.g. http://127.0.0.1:41234/digital-exchange */
    readonly base: string,
    private readonly tokens: TokenSource,
    private readonly timeoutMs = 60_000,
    /** Sent with every call: `X-ENTANDO-TENANTCODE` for a secondary tenant. */
    readonly headers: Record<string, string> = {},
  ) {}

  /** One call; resolves with the parsed JSON body (a bare string for text bodies). */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const call = `${method} ${path.replace(/\?.*$/, '')}`;
    const token = await this.tokens.token();
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...this.headers,
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new OperationError(
        `component manager ${call}: not answering (${(err as Error).message})`,
      );
    }
    const text = await res.text();
    if (!res.ok) throw new CmHttpError(res.status, call, cmErrorDetail(text));
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text.trim() as T;
    }
  }

  /** Every bundle the CM knows (its CRs, plus installed ones whose CR is missing). */
  async components(): Promise<CmBundle[]> {
    const all: CmBundle[] = [];
    for (let page = 1; ; page++) {
      const r = await this.call<{ payload: CmBundle[]; metaData?: { lastPage?: number } }>(
        'GET',
        `/components?page=${page}&pageSize=100`,
      );
      all.push(...(r.payload ?? []));
      if (!r.metaData?.lastPage || page >= r.metaData.lastPage) return all;
    }
  }

  async plugins(bundleId: string): Promise<CmPlugin[]> {
    const r = await this.call<{ payload: CmPlugin[] }>(
      'GET',
      `/bundles/${encodeURIComponent(bundleId)}/plugins`,
    );
    return r.payload ?? [];
  }

  /** Every job of the CM (for unfinished ones at backup time). */
  async jobs(): Promise<CmJob[]> {
    const all: CmJob[] = [];
    for (let page = 1; ; page++) {
      const r = await this.call<{ payload: CmJob[]; metaData?: { lastPage?: number } }>(
        'GET',
        `/jobs?page=${page}&pageSize=100`,
      );
      all.push(...(r.payload ?? []));
      if (!r.metaData?.lastPage || page >= r.metaData.lastPage) return all;
    }
  }

  /** STARTED | SUCCESSFUL | FAILED | UNKNOWN (a bare string, maybe quoted or enveloped). */
  async postInitStatus(): Promise<string> {
    const r = await this.call<unknown>('GET', '/post-inits/status');
    if (typeof r === 'string') return r.replace(/^"|"$/g, '').trim();
    const p = (r as { payload?: unknown; status?: unknown } | undefined) ?? {};
    return String(p.payload ?? p.status ?? 'UNKNOWN');
  }

  async install(code: string, version: string): Promise<CmJob> {
    const r = await this.call<{ payload: CmJob }>(
      'POST',
      `/components/${encodeURIComponent(code)}/install`,
      { version, conflictStrategy: 'SKIP' },
    );
    return r.payload;
  }

  /** The bundle's latest install-type job. */
  async installJob(code: string): Promise<CmJob> {
    const r = await this.call<{ payload: CmJob }>(
      'GET',
      `/components/${encodeURIComponent(code)}/install`,
    );
    return r.payload;
  }
}
