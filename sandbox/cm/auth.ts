// Bearer tokens as the CM checks them: CM config/security/SecurityConfiguration.java (everything
// but /actuator/health, /v3/api-docs/**, /swagger-ui/** authenticated),
// AuthenticationManagerConfiguration.java (JWT of the tenant's issuer; RS256 against the realm's
// JWKS), security/oauth2/AudienceValidator.java (`aud` contains "account").
// Write permission: CM security/AuthorizationChecker.java asks the app engine
// (GET ${ENTANDO_URL}/api/users/myGroupPermissions) for superuser/enterECR; the app engine
// (APPENGINE keycloak-plugin KeycloakAuthenticationFilter.addAuthorizations) grants superuser when
// resource_access.<app client id>.roles contains "superuser". The sandbox has no app engine
// process, so that rule is applied to the token itself (enterECR, which lives in servdb, is not
// looked up).
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'object' && body && 'message' in body ? String(body.message) : 'error');
  }
}

export interface Claims {
  iss?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  sub?: string;
  preferred_username?: string;
  azp?: string;
  resource_access?: Record<string, { roles?: string[] }>;
}

export const DENIED = {
  message: 'The user does not have the required permission to execute this operation',
};

const b64url = (s: string) => Buffer.from(s, 'base64url');

export class TokenVerifier {
  private keys = new Map<string, KeyObject>();
  private lastFetch = 0;

  constructor(
    /** The realm's certs endpoint, reached through the local Keycloak URL. */
    private readonly jwksUrl: string,
    private readonly issuer: string,
    private readonly appClientId: string,
  ) {}

  private async refresh(): Promise<void> {
    // At most one fetch per 5 s (an unknown kid from a forged token must not flood Keycloak).
    if (Date.now() - this.lastFetch < 5000 && this.keys.size > 0) return;
    this.lastFetch = Date.now();
    const res = await fetch(this.jwksUrl, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`JWKS ${this.jwksUrl}: HTTP ${res.status}`);
    const { keys } = (await res.json()) as {
      keys: (JsonWebKey & { kid?: string; use?: string })[];
    };
    const next = new Map<string, KeyObject>();
    for (const k of keys) {
      if (k.kty === 'RSA' && k.kid && (k.use ?? 'sig') === 'sig') {
        next.set(k.kid, createPublicKey({ key: k, format: 'jwk' }));
      }
    }
    this.keys = next;
  }

  /** The claims of a valid token; HttpError 401 otherwise. */
  async authenticate(header: string | undefined): Promise<Claims> {
    // Spring's BearerTokenAuthenticationEntryPoint: 401, empty body, the reason in the header.
    const unauthorized = (why: string) =>
      new HttpError(401, undefined, {
        'WWW-Authenticate': `Bearer error="invalid_token", error_description="${why}"`,
      });
    const m = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(
      header?.trim() ?? '',
    );
    if (!m) throw new HttpError(401, undefined, { 'WWW-Authenticate': 'Bearer' });
    let head: { alg?: string; kid?: string };
    let claims: Claims;
    try {
      head = JSON.parse(b64url(m[1]).toString('utf8')) as typeof head;
      claims = JSON.parse(b64url(m[2]).toString('utf8')) as Claims;
    } catch {
      throw unauthorized('malformed token');
    }
    if (head.alg !== 'RS256' || !head.kid) throw unauthorized('unsupported token algorithm');
    if (!this.keys.has(head.kid)) await this.refresh();
    const key = this.keys.get(head.kid);
    if (!key) throw unauthorized('token signed by an unknown key');
    const ok = verify('RSA-SHA256', Buffer.from(`${m[1]}.${m[2]}`), key, b64url(m[3]));
    if (!ok) throw unauthorized('bad token signature');
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now) throw unauthorized('token expired');
    if (typeof claims.nbf === 'number' && claims.nbf > now + 30)
      throw unauthorized('token not yet valid');
    if (claims.iss !== this.issuer) throw unauthorized(`issuer is not ${this.issuer}`);
    const aud = Array.isArray(claims.aud) ? claims.aud : claims.aud ? [claims.aud] : [];
    if (!aud.includes('account')) throw unauthorized('audience lacks account');
    return claims;
  }

  /** AuthorizationChecker.checkPermissions, with the app engine's superuser rule (see above). */
  checkWritePermission(claims: Claims): void {
    const roles = claims.resource_access?.[this.appClientId]?.roles ?? [];
    if (!roles.includes('superuser')) throw new HttpError(403, DENIED);
  }
}
