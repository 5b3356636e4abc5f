/**
 * age (https://age-encryption.org/v1) file encryption on node:crypto, for backup archives.
 *
 * Files written here open with the `age` CLI (`age -d -i key.txt`, or with the passphrase), and
 * files from `age -e` open here. Supported: X25519 recipients/identities (`age1...` /
 * `AGE-SECRET-KEY-1...`) and passphrases (scrypt). Not supported: ASCII armor, SSH keys, plugins.
 *
 * Usage:
 * ```ts
 * await pipeline(tarStream, createEncryptStream([parseRecipient('age1...')]), createWriteStream(f));
 * await pipeline(createReadStream(f), createDecryptStream(parseIdentities(keyFile)), tarParser);
 * ```
 * Every failure is an {@link AgeError} with a `code` and a one-line message for the user.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { AgeError } from './errors.js';
import { encodeHeader, HeaderParser, sniff, verifyHeaderMac, type ParsedHeader } from './header.js';
import { ScryptIdentity, ScryptRecipient } from './scrypt.js';
import {
  DecryptTransform,
  EncryptTransform,
  PAYLOAD_NONCE_SIZE,
  payloadKey,
  startPayload,
  type EncryptionStart,
  type PayloadSealer,
} from './stream.js';
import type { Identity, Recipient, Stanza } from './types.js';
import { formatIdentity, X25519Identity, X25519Recipient } from './x25519.js';

export { AgeError, type AgeErrorCode } from './errors.js';
export type { Identity, Recipient, Stanza } from './types.js';
export { DEFAULT_LOG_N, MAX_LOG_N } from './scrypt.js';
export type { DecryptTransform, PayloadSealer } from './stream.js';
export { openChunkAt, SEALED_CHUNK_SIZE, CHUNK_SIZE } from './stream.js';

const FILE_KEY_SIZE = 16;

/** Parses an `age1...` X25519 recipient (surrounding whitespace ignored). */
export function parseRecipient(text: string): Recipient {
  const t = text.trim();
  if (t.startsWith('ssh-')) {
    throw new AgeError('UNSUPPORTED', 'SSH public keys are not supported as age recipients');
  }
  return X25519Recipient.parse(t);
}

/** Parses a recipients file: one `age1...` per line; blank lines and `#` comments ignored. */
export function parseRecipientsFile(text: string): Recipient[] {
  const out: Recipient[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      out.push(parseRecipient(line));
    } catch (err) {
      if (err instanceof AgeError) {
        throw new AgeError(err.code, `recipients file line ${i + 1}: ${err.message}`);
      }
      throw err;
    }
  });
  if (out.length === 0) throw new AgeError('BAD_KEY', 'the recipients file contains no recipients');
  return out;
}

/**
 * Parses an age identity file (as written by `age-keygen`): one `AGE-SECRET-KEY-1...` per line;
 * blank lines and `#` comments ignored. Errors never echo key material.
 */
export function parseIdentities(text: string): Identity[] {
  const out: Identity[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('AGE-PLUGIN-')) {
      throw new AgeError(
        'UNSUPPORTED',
        `identity file line ${i + 1}: age plugins are not supported`,
      );
    }
    try {
      out.push(X25519Identity.parse(line));
    } catch (err) {
      if (err instanceof AgeError) {
        throw new AgeError(err.code, `identity file line ${i + 1}: ${err.message}`);
      }
      throw err;
    }
  });
  if (out.length === 0) throw new AgeError('BAD_KEY', 'the identity file contains no identities');
  return out;
}

/** A new random X25519 key pair: `AGE-SECRET-KEY-1...` and its `age1...` recipient. */
export function generateIdentity(): { identity: string; recipient: string } {
  const { identity, secretKey } = X25519Identity.generate();
  return { identity: formatIdentity(secretKey), recipient: identity.recipient().toString() };
}

/** The `age1...` recipient of an `AGE-SECRET-KEY-1...` identity (like `age-keygen -y`). */
export function identityToRecipient(identity: string): string {
  return X25519Identity.parse(identity.trim()).recipient().toString();
}

/**
 * Encrypts with a passphrase (scrypt, work factor 2^logN, default 18 as age). Must be the only
 * recipient of a file.
 */
export function passphraseRecipient(passphrase: string | Buffer, logN?: number): Recipient {
  return new ScryptRecipient(passphrase, logN);
}

/** Decrypts a passphrase-encrypted file; refuses work factors above 2^maxLogN (default 22). */
export function passphraseIdentity(passphrase: string | Buffer, maxLogN?: number): Identity {
  return new ScryptIdentity(passphrase, maxLogN);
}

/**
 * Wraps a fresh file key for every recipient (scrypt runs in the thread pool) and encodes the
 * header. Throws synchronously for an empty recipient list or a passphrase mixed with others.
 */
function beginEncryption(recipients: Recipient[]): Promise<EncryptionStart> {
  if (recipients.length === 0) throw new Error('age: at least one recipient is required');
  if (recipients.length > 1 && recipients.some((r) => r instanceof ScryptRecipient)) {
    throw new AgeError('BAD_KEY', 'a passphrase cannot be combined with other recipients');
  }
  const fileKey = randomBytes(FILE_KEY_SIZE);
  return (async () => {
    const stanzas: Stanza[] = await Promise.all(recipients.map((r) => r.wrap(fileKey)));
    if (stanzas.length > 1 && stanzas.some((s) => s.type === 'scrypt')) {
      throw new AgeError('BAD_KEY', 'a passphrase cannot be combined with other recipients');
    }
    return { header: encodeHeader(stanzas, fileKey), fileKey };
  })();
}

/**
 * A Transform turning plaintext into an age file (header, then payload). The file key is wrapped
 * for every recipient as soon as this is called (scrypt runs in the thread pool meanwhile).
 * Throws synchronously for an empty recipient list or a passphrase mixed with other recipients.
 */
export function createEncryptStream(recipients: Recipient[]): Transform {
  const init = beginEncryption(recipients);
  init.catch(() => {}); // reported through the stream; avoid an unhandled rejection meanwhile
  return new EncryptTransform(init);
}

/**
 * The same encryption without streams, for a writer that batches its own I/O: `head` (header
 * and payload nonce) goes first, then whatever `sealer.seal` / `sealer.finish` append.
 */
export async function createEncryptor(
  recipients: Recipient[],
): Promise<{ head: Buffer; sealer: PayloadSealer }> {
  return startPayload(await beginEncryption(recipients));
}

/**
 * A Transform turning an age file into plaintext. The header is parsed from the first bytes;
 * identities are tried in order. Errors (AgeError): NOT_AGE, UNSUPPORTED, BAD_HEADER,
 * NO_IDENTITY_MATCHED, WRONG_PASSPHRASE, TAMPERED, TRUNCATED. Plaintext is only emitted after
 * its chunk authenticated, but a consumer must still discard everything if the stream errors.
 */
export function createDecryptStream(identities: Identity[]): DecryptTransform {
  if (identities.length === 0) throw new Error('age: at least one identity is required');
  return new DecryptTransform((header) => openHeader(header, identities));
}

async function openHeader(header: ParsedHeader, identities: Identity[]): Promise<Buffer> {
  const { stanzas } = header;
  if (stanzas.length > 1 && stanzas.some((s) => s.type === 'scrypt')) {
    throw new AgeError('BAD_HEADER', 'invalid age header: an scrypt stanza must be the only one');
  }
  let fileKey: Buffer | null = null;
  for (const id of identities) {
    fileKey = await id.unwrap(stanzas);
    if (fileKey !== null) break;
  }
  if (fileKey === null) throw noMatch(stanzas, identities);
  if (fileKey.length !== FILE_KEY_SIZE || !verifyHeaderMac(fileKey, header)) {
    throw new AgeError(
      'TAMPERED',
      'archive header fails authentication: the archive was modified or corrupted',
    );
  }
  return fileKey;
}

/** Where an age file's payload starts and the key that opens its chunks (random access). */
export interface OpenedPayload {
  payloadStart: number;
  key: KeyObject;
  /** The header and payload nonce as read (a copy): what `key` was derived from. */
  prefix: Buffer;
}

/**
 * Opens an age file's header from its first bytes (`head` must hold the whole header and the
 * payload nonce) with the identities: for readers that decrypt chunks at chosen offsets
 * instead of streaming the whole file (see openChunkAt).
 */
export async function openPayload(head: Buffer, identities: Identity[]): Promise<OpenedPayload> {
  if (identities.length === 0) throw new Error('age: at least one identity is required');
  const header = new HeaderParser().push(head);
  if (!header) throw new AgeError('TRUNCATED', 'the header is longer than the bytes given');
  const fileKey = await openHeader(header, identities);
  const nonce = head.subarray(header.length, header.length + PAYLOAD_NONCE_SIZE);
  if (nonce.length < PAYLOAD_NONCE_SIZE) {
    throw new AgeError('TRUNCATED', 'the file ends inside the payload nonce');
  }
  const payloadStart = header.length + PAYLOAD_NONCE_SIZE;
  return {
    payloadStart,
    key: payloadKey(fileKey, nonce),
    prefix: Buffer.from(head.subarray(0, payloadStart)),
  };
}

function noMatch(stanzas: Stanza[], identities: Identity[]): AgeError {
  const passphraseFile = stanzas.some((s) => s.type === 'scrypt');
  const havePassphrase = identities.some((i) => i instanceof ScryptIdentity);
  if (passphraseFile && !havePassphrase) {
    return new AgeError(
      'NO_IDENTITY_MATCHED',
      'archive is encrypted with a passphrase, but no passphrase was given',
    );
  }
  if (!passphraseFile && havePassphrase && identities.length === 1) {
    return new AgeError(
      'NO_IDENTITY_MATCHED',
      'archive is encrypted to public keys (age recipients), not with a passphrase; give an identity file',
    );
  }
  return new AgeError(
    'NO_IDENTITY_MATCHED',
    'none of the given identities (private keys) can decrypt this archive: it was encrypted to other recipients',
  );
}

/**
 * Whether the first bytes (give at least 34) look like an age file: binary age v1, another age
 * version, or ASCII-armored age. Lets a reader tell "not encrypted" from "encrypted"; decrypting
 * the latter two kinds then fails with UNSUPPORTED.
 */
export function isAgeFile(firstBytes: Buffer): boolean {
  const kind = sniff(firstBytes);
  return kind === 'age' || kind === 'other-version' || kind === 'armor';
}

/** Encrypts a whole buffer (convenience for small data and tests). */
export async function encrypt(plaintext: Buffer, recipients: Recipient[]): Promise<Buffer> {
  const enc = createEncryptStream(recipients);
  const [, out] = await Promise.all([pipeline(Readable.from([plaintext]), enc), buffer(enc)]);
  return out;
}

/** Decrypts a whole buffer (convenience for small data and tests). */
export async function decrypt(file: Buffer, identities: Identity[]): Promise<Buffer> {
  const dec = createDecryptStream(identities);
  const [, out] = await Promise.all([pipeline(Readable.from([file]), dec), buffer(dec)]);
  return out;
}
