/**
 * A small client of Keycloak's admin REST API (legacy WildFly distribution: everything under
 * `/auth`). Tokens come from the master realm's `admin-cli` client with the admin's password
 * and are renewed before they expire (the master realm's tokens live 60 s by default).
 * Errors name the call and Keycloak's own message, never a credential.
 */
import { OperationError } from '../../errors.js';

export interface AdminCredentials {
  username: string;
  password: string;
}

export class KeycloakHttpError extends OperationError {
  constructor(
    readonly status: number,
    readonly call: string,
    detail: string,
  ) {
    super(`Keycloak ${call}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
}

/** Seconds left on a token below which it is renewed. */
const RENEW_MARGIN_S = 20;

export class KeycloakAdmin {
  private token?: { value: string; expires: number };

  constructor(
    /** e.g. http://127.0.0.1:8080/auth */
    readonly base: string,
    private readonly credentials: AdminCredentials,
    private readonly timeoutMs = 120_000,
  ) {}

  /** A token of `realm` with the password grant (also what the tests use to log users in). */
  static async passwordGrant(
    base: string,
    realm: string,
    form: Record<string, string>,
  ): Promise<{ access_token: string; expires_in: number }> {
    const res = await fetch(
      `${base}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(60_000),
      },
    );
    const text = await res.text();
    if (!res.ok) throw new KeycloakHttpError(res.status, `token (${realm})`, errorDetail(text));
    return JSON.parse(text) as { access_token: string; expires_in: number };
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expires - Date.now() > RENEW_MARGIN_S * 1000) {
      return this.token.value;
    }
    const t = await KeycloakAdmin.passwordGrant(this.base, 'master', {
      grant_type: 'password',
      client_id: 'admin-cli',
      username: this.credentials.username,
      password: this.credentials.password,
    });
    this.token = { value: t.access_token, expires: Date.now() + t.expires_in * 1000 };
    return t.access_token;
  }

  /** One admin call; resolves with the parsed JSON (or undefined for an empty body). */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { allow404?: boolean; contentType?: string; timeoutMs?: number } = {},
  ): Promise<T | undefined> {
    const token = await this.accessToken();
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
    };
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(`${this.base}/admin${path}`, {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
    });
    const text = await res.text();
    if (res.status === 404 && opts.allow404) return undefined;
    if (!res.ok) throw new KeycloakHttpError(res.status, `${method} ${path}`, errorDetail(text));
    if (!text) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as unknown as T;
    }
  }

  async get<T = unknown>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)) as T;
  }

  async realmExists(realm: string): Promise<boolean> {
    return (
      (await this.call('GET', `/realms/${encodeURIComponent(realm)}`, undefined, {
        allow404: true,
      })) !== undefined
    );
  }

  async serverVersion(): Promise<string | undefined> {
    const info = await this.call<{ systemInfo?: { version?: string } }>('GET', '/serverinfo');
    return info?.systemInfo?.version;
  }

  async findClient(realm: string, clientId: string): Promise<ClientRepresentation | undefined> {
    const found = await this.get<ClientRepresentation[]>(
      `/realms/${encodeURIComponent(realm)}/clients?clientId=${encodeURIComponent(clientId)}`,
    );
    return found.find((c) => c.clientId === clientId);
  }

  async clientSecret(realm: string, id: string): Promise<string | undefined> {
    const s = await this.get<{ value?: string }>(
      `/realms/${encodeURIComponent(realm)}/clients/${id}/client-secret`,
    );
    return s.value;
  }
}

export interface ClientRepresentation {
  id?: string;
  clientId: string;
  secret?: string;
  publicClient?: boolean;
  serviceAccountsEnabled?: boolean;
  redirectUris?: string[];
  webOrigins?: string[];
  [key: string]: unknown;
}

/** Keycloak's error body (`{"error":..,"errorMessage":..}`) as one short phrase. */
function errorDetail(text: string): string {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const parts = [j.error, j.errorMessage, j.error_description].filter(
      (v): v is string => typeof v === 'string',
    );
    if (parts.length) return parts.join(': ').slice(0, 300);
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}
