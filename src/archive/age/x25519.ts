/**
 * The X25519 recipient type: `age1...` public keys and `AGE-SECRET-KEY-1...` private keys.
 *
 * Wrapping: an ephemeral X25519 key pair; stanza `-> X25519 <base64 ephemeral share>`; wrap key =
 * HKDF-SHA256(ikm shared secret, salt share || recipient, info "age-encryption.org/v1/X25519");
 * body = ChaCha20-Poly1305(wrap key, zero nonce, file key).
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import * as bech32 from './bech32.js';
import { AgeError, badHeader } from './errors.js';
import { b64decode, b64encode, hkdf, open, seal } from './primitives.js';
import type { Identity, Recipient, Stanza } from './types.js';

const LABEL = 'age-encryption.org/v1/X25519';
export const RECIPIENT_HRP = 'age';
export const IDENTITY_HRP = 'age-secret-key-';
// DER prefixes of an X25519 SubjectPublicKeyInfo / PKCS#8 PrivateKeyInfo (OID 1.3.101.110).
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(raw: Buffer): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
}

function rawPublic(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length);
}

/** X25519(priv, pub); null when the result is all zeros (a low-order point). */
function sharedSecret(privateKey: KeyObject, publicKey: KeyObject): Buffer | null {
  let secret: Buffer;
  try {
    secret = diffieHellman({ privateKey, publicKey });
  } catch {
    return null; // OpenSSL refuses an all-zero X25519 output
  }
  return secret.every((b) => b === 0) ? null : secret;
}

export class X25519Recipient implements Recipient {
  private readonly key: KeyObject;
  constructor(readonly publicKey: Buffer) {
    if (publicKey.length !== 32) throw new Error('X25519 public key must be 32 bytes');
    this.key = publicKeyObject(publicKey);
  }

  /** Parses an `age1...` recipient; throws AgeError BAD_KEY / UNSUPPORTED. */
  static parse(text: string): X25519Recipient {
    let decoded: { hrp: string; data: Buffer };
    try {
      decoded = bech32.decode(text);
    } catch {
      throw new AgeError('BAD_KEY', `invalid age recipient ${JSON.stringify(text)}`);
    }
    if (decoded.hrp !== RECIPIENT_HRP) {
      if (decoded.hrp.startsWith('age1')) {
        throw new AgeError('UNSUPPORTED', `age plugin recipients are not supported (${text})`);
      }
      throw new AgeError('BAD_KEY', `invalid age recipient ${JSON.stringify(text)}`);
    }
    if (decoded.data.length !== 32) {
      throw new AgeError('BAD_KEY', `invalid age recipient ${JSON.stringify(text)}: wrong length`);
    }
    return new X25519Recipient(decoded.data);
  }

  wrap(fileKey: Buffer): Stanza {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const share = rawPublic(publicKey);
    const secret = sharedSecret(privateKey, this.key);
    if (secret === null) {
      throw new AgeError('BAD_KEY', `invalid age recipient ${this.toString()}: low-order point`);
    }
    const wrapKey = hkdf(secret, Buffer.concat([share, this.publicKey]), LABEL);
    return { type: 'X25519', args: [b64encode(share)], body: seal(wrapKey, fileKey) };
  }

  /** The `age1...` string. */
  toString(): string {
    return bech32.encode(RECIPIENT_HRP, this.publicKey);
  }
}

export class X25519Identity implements Identity {
  private readonly key: KeyObject;
  /** The raw 32-byte public key. */
  readonly publicKey: Buffer;

  constructor(secretKey: Buffer) {
    if (secretKey.length !== 32) throw new Error('X25519 secret key must be 32 bytes');
    this.key = privateKeyObject(secretKey);
    this.publicKey = rawPublic(createPublicKey(this.key));
  }

  /** A fresh random identity. */
  static generate(): { identity: X25519Identity; secretKey: Buffer } {
    const secretKey = randomBytes(32);
    return { identity: new X25519Identity(secretKey), secretKey };
  }

  /**
   * Parses an `AGE-SECRET-KEY-1...` string. The error message never echoes the key material.
   */
  static parse(text: string): X25519Identity {
    let decoded: { hrp: string; data: Buffer };
    try {
      decoded = bech32.decode(text);
    } catch {
      throw new AgeError('BAD_KEY', 'invalid age identity: malformed AGE-SECRET-KEY-1... string');
    }
    if (decoded.hrp !== IDENTITY_HRP || decoded.data.length !== 32) {
      throw new AgeError('BAD_KEY', 'invalid age identity: not an AGE-SECRET-KEY-1... key');
    }
    return new X25519Identity(decoded.data);
  }

  /** The matching recipient. */
  recipient(): X25519Recipient {
    return new X25519Recipient(this.publicKey);
  }

  unwrap(stanzas: Stanza[]): Buffer | null {
    for (const s of stanzas) {
      if (s.type !== 'X25519') continue;
      const share = s.args.length === 1 ? b64decode(s.args[0]) : null;
      if (share === null || share.length !== 32) throw badHeader('malformed X25519 stanza');
      if (s.body.length !== 32) throw badHeader('malformed X25519 stanza body');
      let shareKey: KeyObject;
      try {
        shareKey = publicKeyObject(share);
      } catch {
        throw badHeader('malformed X25519 ephemeral share');
      }
      const secret = sharedSecret(this.key, shareKey);
      if (secret === null) throw badHeader('X25519 stanza has a low-order ephemeral share');
      const wrapKey = hkdf(secret, Buffer.concat([share, this.publicKey]), LABEL);
      const fileKey = open(wrapKey, s.body);
      if (fileKey !== null) return fileKey;
    }
    return null;
  }
}

/** Encodes a raw secret key as `AGE-SECRET-KEY-1...` (upper case, as age-keygen writes it). */
export function formatIdentity(secretKey: Buffer): string {
  return bech32.encode(IDENTITY_HRP, secretKey, true);
}
