// A small client of the component manager REST API, as `ent ecr` drives it (ENT s/utils.sh
// keycloak-get-token: client_credentials with `<app>-de-secret`; s/ecr-utils.sh: install, then
// poll GET …/install every 3 s), reaching the CM and Keycloak pods through port-forwards.
// Used by the sandbox fixture and test/sandbox/cm.test.ts.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { forwardPort, type LocalForward } from '../../src/kube/port-forward.js';

export interface CmResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class CmClient {
  constructor(
    readonly base: string,
    private token?: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  withToken(token: string | undefined): CmClient {
    return new CmClient(this.base, token, this.headers);
  }

  /** A 7.3 tenant's calls: `X-ENTANDO-TENANTCODE` selects it (CM TenantFilter). */
  forTenant(code: string): CmClient {
    return new CmClient(this.base, this.token, { ...this.headers, 'X-ENTANDO-TENANTCODE': code });
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<CmResponse<T>> {
    const res = await fetch(`${this.base}/digital-exchange${path}`, {
      method,
      headers: {
        ...this.headers,
        ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // a bare string (post-init status)
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  /** Poll GET …/install until the job is terminal; returns the job. */
  async waitInstalled(
    code: string,
    timeoutMs = 600_000,
  ): Promise<{ status: string; installErrorMessage?: string; id: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call<{ payload: { status: string; id: string } }>(
        'GET',
        `/components/${encodeURIComponent(code)}/install`,
      );
      const s = r.body?.payload?.status;
      if (r.status === 200 && s && s !== 'INSTALL_CREATED' && s !== 'INSTALL_IN_PROGRESS') {
        return r.body.payload;
      }
      if (Date.now() > deadline) throw new Error(`install of ${code}: still ${s ?? r.status}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  /** Wait until GET /post-inits/status is SUCCESSFUL or FAILED (BUNDLES.md §0.7). */
  async waitPostInit(timeoutMs = 300_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call('GET', '/post-inits/status');
      if (r.text === 'SUCCESSFUL' || r.text === 'FAILED') return r.text;
      if (Date.now() > deadline) throw new Error(`post-init still ${r.text}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
}

/** client_credentials (HTTP basic), as ent's keycloak-get-token. */
export async function clientCredentialsToken(
  keycloakBase: string,
  realm: string,
  clientId: string,
  clientSecret: string,
): Promise<string> {
  return tokenRequest(keycloakBase, realm, clientId, clientSecret, {
    grant_type: 'client_credentials',
  });
}

/** A user's token (password grant through a confidential client with direct access grants). */
export async function passwordToken(
  keycloakBase: string,
  realm: string,
  clientId: string,
  clientSecret: string,
  username: string,
  password: string,
): Promise<string> {
  return tokenRequest(keycloakBase, realm, clientId, clientSecret, {
    grant_type: 'password',
    username,
    password,
  });
}

async function tokenRequest(
  keycloakBase: string,
  realm: string,
  clientId: string,
  clientSecret: string,
  form: Record<string, string>,
): Promise<string> {
  const res = await fetch(
    `${keycloakBase}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`,
    {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(30_000),
    },
  );
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string };
  if (!res.ok || !body.access_token) {
    throw new Error(`token for ${clientId}: HTTP ${res.status} ${body.error ?? ''}`.trim());
  }
  return body.access_token;
}

export interface CmConnection {
  cm: CmClient;
  /** Keycloak through its pod's port-forward: http://127.0.0.1:<local>/auth */
  keycloakBase: string;
  close(): Promise<void>;
}

async function runningPod(core: CoreV1Api, namespace: string, deployment: string): Promise<string> {
  const pods = await core.listNamespacedPod({
    namespace,
    labelSelector: `entando.org/deployment=${deployment}`,
  });
  const pod = pods.items.find(
    (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
  );
  if (!pod?.metadata?.name) throw new Error(`no Running pod for deployment ${deployment}`);
  return pod.metadata.name;
}

/** Port-forwards to `<app>-cm-deployment`:8083 and `default-sso-in-namespace-deployment`:8080. */
export async function connect(
  kc: KubeConfig,
  namespace: string,
  app: string,
): Promise<CmConnection> {
  const core = kc.makeApiClient(CoreV1Api);
  const forwards: LocalForward[] = [];
  try {
    forwards.push(
      await forwardPort(
        kc,
        namespace,
        await runningPod(core, namespace, `${app}-cm-deployment`),
        8083,
      ),
    );
    forwards.push(
      await forwardPort(
        kc,
        namespace,
        await runningPod(core, namespace, 'default-sso-in-namespace-deployment'),
        8080,
      ),
    );
  } catch (err) {
    await Promise.all(forwards.map((f) => f.close()));
    throw err;
  }
  return {
    cm: new CmClient(forwards[0].url),
    keycloakBase: `${forwards[1].url}/auth`,
    close: async () => {
      await Promise.all(forwards.map((f) => f.close()));
    },
  };
}

/** The `<app>-de` client's token, from secret `<app>-de-secret` (clientId, clientSecret). */
export async function deToken(
  kc: KubeConfig,
  conn: CmConnection,
  namespace: string,
  app: string,
  realm = 'entando',
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const s = await core.readNamespacedSecret({ namespace, name: `${app}-de-secret` });
  const get = (k: string) => Buffer.from(s.data?.[k] ?? '', 'base64').toString('utf8');
  return clientCredentialsToken(conn.keycloakBase, realm, get('clientId'), get('clientSecret'));
}
