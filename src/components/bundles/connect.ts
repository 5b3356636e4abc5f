/**
 * How this machine reaches an app's component manager: a port-forward to the running pod of
 * `<app>-cm-deployment` (container port 8083, context path `/digital-exchange`), with a token
 * from the client credentials of `<app>-de` (secret `<app>-de-secret`), asked of the app's realm
 * the way the Keycloak component reaches it (a port-forward to the Keycloak pod); an external
 * Keycloak through `external-sso-secret` (clientId, clientSecret, authUrl, realm), as `ent` does.
 * Real Entando Keycloaks carry a frontend URL, so the token's issuer is the public one either way.
 */
import http from 'node:http';
import { serverStatuses, TENANTS_SECRET } from '../../entando/kinds.js';
import type { TenantConfig } from '../../entando/tenants.js';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject } from '../../kube/object.js';
import { forwardPort, type LocalForward } from '../../kube/port-forward.js';
import { runningPod } from '../files/discover.js';
import { frontEndUrl } from '../keycloak/locate.js';
import { keycloakPod, locateKeycloak, realmOf } from '../keycloak/locate.js';
import { cmErrorDetail, ComponentManagerClient, type TokenSource } from './cm-client.js';

export const CM_PORT = 8083;
export const CM_CONTEXT = '/digital-exchange';

/** Why the CM cannot be reached, in one line (the backup records it; a restore fails on it). */
export class CmUnavailable extends OperationError {}

/** Keycloak refused the client credentials: retrying does not help. */
export class TokenRefused extends OperationError {}

export interface CmSession {
  cm: ComponentManagerClient;
  /** The client whose token is used, for messages. */
  clientId: string;
  secretName: string;
  /**
   * The same CM as a secondary tenant (7.3): `X-ENTANDO-TENANTCODE: <code>` on every call and a
   * token of the tenant's realm (its deKcClientId/deKcClientSecret), asked of the Keycloak the
   * app's token comes from (the tenant's kcAuthUrl when that Keycloak is external). Uses this
   * session's port-forwards: nothing to close. CmUnavailable when the tenant lacks the fields.
   */
  forTenant(t: TenantConfig): CmSession;
  close(): Promise<void>;
}

/** The header the 7.3 CM picks the tenant by (CM TenantFilter). */
export const TENANT_HEADER = 'X-ENTANDO-TENANTCODE';

/** What a tenant's CM token needs from its ENTANDO_TENANTS object, or why it cannot be had. */
export function tenantCmAccess(
  t: TenantConfig,
): { clientId: string; clientSecret: string; realm: string; authUrl?: string } | { why: string } {
  const f = (k: string) => t.fields[k]?.trim() ?? '';
  const missing = ['deKcClientId', 'deKcClientSecret'].filter((k) => !f(k));
  if (missing.length) {
    return {
      why: `tenant ${t.code} has no ${missing.join('/')} (${t.from}): the component manager's client of its realm is unknown (Entando 7.2 tenants have no bundles)`,
    };
  }
  return {
    clientId: f('deKcClientId'),
    clientSecret: f('deKcClientSecret'),
    // ent uses the tenant code as realm; the CM checks the issuer of kcRealm.
    realm: f('kcRealm') || t.code,
    ...(f('kcAuthUrl') ? { authUrl: f('kcAuthUrl').replace(/\/+$/, '') } : {}),
  };
}

export function cmDeploymentName(app: KubeObject): string {
  return serverStatuses(app).cm?.deploymentName ?? `${app.metadata.name}-cm-deployment`;
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  secretName: string;
}

async function secretData(
  kube: KubeClient,
  ns: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const s = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  if (!s) return undefined;
  const data = (s.data ?? {}) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** Client credentials grant against `tokenUrl`, renewed 20 s before expiry. */
export class ClientCredentialsTokens implements TokenSource {
  private cached?: { value: string; expires: number };

  constructor(
    private readonly tokenUrl: string,
    private readonly creds: ClientCredentials,
    /**
     * The Keycloak's public host, sent as Host through a port-forward: a Keycloak without a
     * frontend URL names its issuer after the Host it is asked on, and the CM wants the public one.
     */
    private readonly publicHost?: string,
  ) {}

  async token(): Promise<string> {
    if (this.cached && this.cached.expires - Date.now() > 20_000) return this.cached.value;
    const basic = Buffer.from(
      `${encodeURIComponent(this.creds.clientId)}:${encodeURIComponent(this.creds.clientSecret)}`,
    ).toString('base64');
    let res: { status: number; text: string };
    try {
      res = await postForm(
        this.tokenUrl,
        'grant_type=client_credentials',
        { authorization: `Basic ${basic}` },
        this.publicHost,
      );
    } catch (err) {
      throw new OperationError(`Keycloak token endpoint not answering: ${(err as Error).message}`);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new TokenRefused(
        `Keycloak refused the credentials of client ${this.creds.clientId} (secret ${this.creds.secretName}): HTTP ${res.status} ${cmErrorDetail(res.text)}; the secret must match the client in the realm (restore with --keycloak realm, or let the operator rewrite the secret)`,
      );
    }
    const t = JSON.parse(res.text) as { access_token: string; expires_in?: number };
    this.cached = { value: t.access_token, expires: Date.now() + (t.expires_in ?? 60) * 1000 };
    return t.access_token;
  }
}

/** A form POST; with `host`, over node:http so the Host header can be set (fetch forbids it). */
async function postForm(
  url: string,
  body: string,
  headers: Record<string, string>,
  host?: string,
): Promise<{ status: number; text: string }> {
  const all = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  if (!host) {
    const r = await fetch(url, {
      method: 'POST',
      headers: all,
      body,
      signal: AbortSignal.timeout(60_000),
    });
    return { status: r.status, text: await r.text() };
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { ...all, host }, timeout: 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** The token endpoint of a realm of the app's in-namespace Keycloak (through its forward). */
interface RealmEndpoint {
  url(realm: string): string;
  publicHost?: string;
}

const tokenPath = (base: string, realm: string) =>
  `${base}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`;

/** Where to get tokens: the in-namespace Keycloak (port-forward) or external-sso-secret. */
async function tokenSource(
  kube: KubeClient,
  app: KubeObject,
  forwards: LocalForward[],
): Promise<{
  tokens: TokenSource;
  clientId: string;
  secretName: string;
  realms?: RealmEndpoint;
}> {
  const ns = app.metadata.namespace!;
  const where = await locateKeycloak(kube, app);
  if (where.kind === 'in-namespace') {
    const secretName = `${app.metadata.name}-de-secret`;
    const data = await secretData(kube, ns, secretName);
    if (!data?.clientId || !data.clientSecret) {
      throw new CmUnavailable(
        `secret ${ns}/${secretName} ${data ? 'has no clientId/clientSecret' : 'not found'}: the component manager's client credentials are needed for its token`,
      );
    }
    const { pod, port } = await keycloakPod(kube, where);
    const kcNs = where.server.metadata.namespace!;
    const forward = await forwardPort(kube.config, kcNs, pod, port);
    forwards.push(forward);
    const base = await keycloakBase(forward.url);
    const realms: RealmEndpoint = {
      url: (realm) => tokenPath(base, realm),
      publicHost: publicHostOf(where.server),
    };
    return {
      tokens: new ClientCredentialsTokens(
        realms.url(realmOf(app)),
        { clientId: data.clientId, clientSecret: data.clientSecret, secretName },
        realms.publicHost,
      ),
      clientId: data.clientId,
      secretName,
      realms,
    };
  }
  const secretName = 'external-sso-secret';
  const data = await secretData(kube, ns, secretName);
  if (!data?.clientId || !data.clientSecret || !data.authUrl) {
    throw new CmUnavailable(
      `${where.reason}, and secret ${ns}/${secretName} ${data ? 'lacks clientId, clientSecret or authUrl' : 'is not there'}: create it (keys clientId, clientSecret, authUrl, realm) as for ent`,
    );
  }
  const realm = data.realm || realmOf(app);
  const url = tokenPath(data.authUrl.replace(/\/+$/, ''), realm);
  return {
    tokens: new ClientCredentialsTokens(url, {
      clientId: data.clientId,
      clientSecret: data.clientSecret,
      secretName,
    }),
    clientId: data.clientId,
    secretName,
  };
}

function publicHostOf(server: KubeObject): string | undefined {
  const url = frontEndUrl(server);
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** `/auth` (legacy WildFly, Entando's image) or the root (plain Quarkus). */
async function keycloakBase(url: string): Promise<string> {
  for (const base of [`${url}/auth`, url]) {
    const res = await fetch(`${base}/realms/master`, { signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    if (res.ok) return base;
  }
  throw new CmUnavailable(
    `Keycloak at ${url} answers neither /auth/realms/master nor /realms/master`,
  );
}

/**
 * Opens a session to the app's CM: its pod must be running and ready and its health endpoint
 * answer; otherwise a CmUnavailable saying which.
 */
export async function connectCm(kube: KubeClient, app: KubeObject): Promise<CmSession> {
  const ns = app.metadata.namespace!;
  const deployment = cmDeploymentName(app);
  const forwards: LocalForward[] = [];
  const close = async () => {
    for (const f of forwards) await f.close();
  };
  try {
    const d = await kube.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: deployment,
    });
    if (!d)
      throw new CmUnavailable(
        `the app has no component manager (deployment ${ns}/${deployment} not found)`,
      );
    const pod = await runningPod(kube, ns, deployment);
    if (!pod) {
      throw new CmUnavailable(
        `the component manager is not ready (deployment ${ns}/${deployment} has no running and ready pod)`,
      );
    }
    const forward = await forwardPort(kube.config, ns, pod.metadata.name, CM_PORT);
    forwards.push(forward);
    const base = `${forward.url}${CM_CONTEXT}`;
    await checkHealth(base, `${ns}/${pod.metadata.name}`);
    const { tokens, clientId, secretName, realms } = await tokenSource(kube, app, forwards);
    const forTenant = (t: TenantConfig): CmSession => {
      const access = tenantCmAccess(t);
      if ('why' in access) throw new CmUnavailable(access.why);
      const tenantSecret = `${TENANTS_SECRET} (tenant ${t.code}: deKcClientSecret)`;
      if (!realms && !access.authUrl) {
        throw new CmUnavailable(
          `tenant ${t.code} has no kcAuthUrl: the Keycloak of its realm ${access.realm} is unknown`,
        );
      }
      const url = realms ? realms.url(access.realm) : tokenPath(access.authUrl!, access.realm);
      const tenantTokens = new ClientCredentialsTokens(
        url,
        { clientId: access.clientId, clientSecret: access.clientSecret, secretName: tenantSecret },
        realms?.publicHost,
      );
      return {
        cm: new ComponentManagerClient(base, tenantTokens, undefined, {
          [TENANT_HEADER]: t.code,
        }),
        clientId: access.clientId,
        secretName: tenantSecret,
        forTenant,
        close: () => Promise.resolve(),
      };
    };
    return { cm: new ComponentManagerClient(base, tokens), clientId, secretName, forTenant, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function checkHealth(base: string, pod: string): Promise<void> {
  let detail: string;
  try {
    const res = await fetch(`${base}/actuator/health`, { signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.ok) return;
    detail = `HTTP ${res.status} ${cmErrorDetail(text)}`;
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    detail = `no answer (${cause?.message ?? (err as Error).message})`;
  }
  throw new CmUnavailable(
    `the component manager is not ready (pod ${pod} port ${CM_PORT}${CM_CONTEXT}/actuator/health: ${detail})`,
  );
}
