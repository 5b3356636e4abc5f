// Bearer check of the internal port, as upstream wires it: src/main.rs wraps the whole internal
// App in `KeycloakAuth::default_with_pk(DecodingKey::from_rsa_pem(KEYCLOAK_PUBLIC_KEY))` from
// actix-web-middleware-keycloak-auth 0.4.0 (src/lib.rs, src/errors.rs), which decodes with
// jsonwebtoken 8.1 `Validation::new(<alg of the token header>)`. So: the signature against the
// one key, `exp` required and checked with 60 s leeway, and nothing else (no iss, aud, realm,
// client or role checks). `detailed_responses` is true: the body is the error text, no
// content type.
import { createPublicKey, verify, constants, type KeyObject } from 'node:crypto';

export interface AuthFailure {
  status: number;
  body: string;
}

/**
 * `DecodingKey::from_rsa_pem(..).unwrap()`: a PEM ("PUBLIC KEY" or "RSA PUBLIC KEY") or the
 * process dies. The bare base64 body Keycloak's realm endpoint shows is NOT accepted upstream
 * (pem::parse finds no BEGIN line), so it is refused here too.
 */
export function loadPublicKey(pem: string | undefined): KeyObject {
  if (!pem) throw new Error('KEYCLOAK_PUBLIC_KEY is not set (upstream: unwrap on a NotPresent)');
  const m = /-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY)-----/.exec(pem);
  if (!m || !pem.includes(`-----END ${m[1]}-----`)) {
    throw new Error(
      'KEYCLOAK_PUBLIC_KEY is not an RSA public key PEM; upstream panics on it (wrap the bare ' +
        'base64 body in -----BEGIN PUBLIC KEY----- / -----END PUBLIC KEY----- lines)',
    );
  }
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('KEYCLOAK_PUBLIC_KEY is not an RSA key');
  return key;
}

// jsonwebtoken 8 `Algorithm`; only the RSA family passes its key-family check for an RSA key.
const RSA_ALGS: Record<string, { hash: string; pss: boolean }> = {
  RS256: { hash: 'sha256', pss: false },
  RS384: { hash: 'sha384', pss: false },
  RS512: { hash: 'sha512', pss: false },
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
};
const OTHER_ALGS = ['HS256', 'HS384', 'HS512', 'ES256', 'ES384', 'EdDSA'];
const LEEWAY_SECONDS = 60;

class JwtError extends Error {}

const fail = (status: number, body: string): AuthFailure => ({ status, body });

/** null when the request may pass; the middleware's response otherwise. */
export function checkAuthorization(
  header: string | undefined,
  key: KeyObject,
  nowSeconds = Math.floor(Date.now() / 1000),
): AuthFailure | null {
  if (header === undefined) return fail(401, 'No bearer token was provided');
  // HeaderValue::to_str: visible ASCII only.
  if (!/^[\t\x20-\x7e]*$/.test(header)) {
    return fail(400, 'Authorization header value is invalid (cannot convert it into string)');
  }
  // `trim_start_matches("Bearer ")`: strips the prefix repeatedly, and a bare token passes too.
  let token = header;
  while (token.startsWith('Bearer ')) token = token.slice('Bearer '.length);
  let alg: string;
  try {
    alg = decodeHeader(token);
  } catch (e) {
    return fail(401, `Invalid JWT token (${(e as Error).message})`);
  }
  try {
    const claims = decode(token, alg, key, nowSeconds);
    checkRoleClaims(claims);
  } catch (e) {
    if (e instanceof RoleError) {
      return fail(401, `Error while parsing Keycloak roles from JWT token (${e.message})`);
    }
    return fail(401, `Error while decoding JWT token (${(e as Error).message})`);
  }
  return null;
}

/** jsonwebtoken `decode_header`: `rsplitn(2, '.')` twice, then the header JSON's `alg`. */
function decodeHeader(token: string): string {
  const [, message] = rsplit2(token);
  const [, header] = rsplit2(message);
  const h = parseJson(b64(header));
  const alg = (h as { alg?: unknown } | null)?.alg;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) {
    throw new JwtError('JSON error: invalid type, expected struct Header');
  }
  if (alg === undefined) throw new JwtError('JSON error: missing field `alg`');
  if (typeof alg !== 'string' || !(alg in RSA_ALGS || OTHER_ALGS.includes(alg))) {
    throw new JwtError(`JSON error: unknown variant \`${String(alg)}\``);
  }
  return alg;
}

function decode(token: string, alg: string, key: KeyObject, now: number): unknown {
  const spec = RSA_ALGS[alg];
  if (!spec) throw new JwtError('InvalidAlgorithm'); // key family != algorithm family
  const [signature, message] = rsplit2(token);
  const [payload] = rsplit2(message);
  const sig = b64(signature);
  // ring (behind jsonwebtoken) accepts 2048..8192-bit moduli only; anything else never verifies.
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const ok =
    bits >= 2048 &&
    bits <= 8192 &&
    verify(
      spec.hash,
      Buffer.from(message),
      spec.pss
        ? {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          }
        : { key, padding: constants.RSA_PKCS1_PADDING },
      sig,
    );
  if (!ok) throw new JwtError('InvalidSignature');
  const claims = parseJson(b64(payload));
  const exp = (claims as { exp?: unknown } | null)?.exp;
  // `exp` must parse as u64; a missing or non-integer one is "missing".
  if (typeof exp !== 'number' || !Number.isInteger(exp) || exp < 0) {
    throw new JwtError('Missing required claim: exp');
  }
  if (exp < now - LEEWAY_SECONDS) throw new JwtError('ExpiredSignature');
  return claims;
}

class RoleError extends Error {}

/** The middleware then parses `realm_access` / `resource_access` ({roles: [string]}) if present. */
function checkRoleClaims(claims: unknown): void {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new RoleError('invalid type, expected struct RoleClaims');
  }
  const c = claims as Record<string, unknown>;
  const access = (v: unknown, what: string) => {
    const roles = (v as { roles?: unknown } | null)?.roles;
    if (typeof v !== 'object' || v === null || !Array.isArray(roles)) {
      throw new RoleError(`invalid ${what}, expected struct Access`);
    }
    if (!roles.every((r) => typeof r === 'string')) throw new RoleError('invalid type in roles');
  };
  if (c.realm_access != null) access(c.realm_access, 'realm_access');
  if (c.resource_access != null) {
    if (typeof c.resource_access !== 'object' || Array.isArray(c.resource_access)) {
      throw new RoleError('invalid resource_access, expected a map');
    }
    for (const v of Object.values(c.resource_access)) access(v, 'resource_access entry');
  }
}

function rsplit2(s: string): [string, string] {
  const i = s.lastIndexOf('.');
  if (i < 0) throw new JwtError('InvalidToken');
  return [s.slice(i + 1), s.slice(0, i)];
}

/** URL-safe base64 without padding, strictly (the base64 crate refuses other alphabets). */
function b64(s: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) {
    throw new JwtError('Base64 error: Invalid byte or length');
  }
  return Buffer.from(s, 'base64url');
}

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new JwtError(`JSON error: ${(e as Error).message}`);
  }
}
