/**
 * Small wrappers over node:crypto shared by the age modules: HKDF-SHA256, ChaCha20-Poly1305 with
 * a caller-supplied nonce, and age's strict "raw standard" base64 (no padding, canonical).
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

export const TAG_SIZE = 16;
const ZERO_NONCE = Buffer.alloc(12);

/** HKDF-SHA256 with a 32-byte output (every derivation in age). */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/** ChaCha20-Poly1305 encryption: returns ciphertext || 16-byte tag. */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  nonce: Uint8Array = ZERO_NONCE,
): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  const head = c.update(plaintext);
  c.final();
  return Buffer.concat([head, c.getAuthTag()]);
}

/** ChaCha20-Poly1305 decryption of ciphertext || tag; returns null if authentication fails. */
export function open(
  key: Uint8Array,
  sealed: Uint8Array,
  nonce: Uint8Array = ZERO_NONCE,
): Buffer | null {
  if (sealed.length < TAG_SIZE) return null;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const out = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    d.final();
  } catch {
    return null;
  }
  return out;
}

/** Base64 (standard alphabet) without padding. */
export function b64encode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    .toString('base64')
    .replace(/=+$/, '');
}

const B64_CHARS = /^[A-Za-z0-9+/]*$/;

/**
 * Strict decoding of age's base64: standard alphabet, no padding, canonical (unused trailing bits
 * zero, no impossible lengths). Returns null when `text` is not canonical.
 */
export function b64decode(text: string): Buffer | null {
  if (!B64_CHARS.test(text) || text.length % 4 === 1) return null;
  const data = Buffer.from(text, 'base64');
  return b64encode(data) === text ? data : null;
}
