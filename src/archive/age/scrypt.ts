/**
 * The scrypt (passphrase) recipient type.
 *
 * Stanza `-> scrypt <base64 16-byte salt> <logN>`; wrap key = scrypt(passphrase,
 * "age-encryption.org/v1/scrypt" || salt, N = 2^logN, r = 8, p = 1, 32 bytes); body =
 * ChaCha20-Poly1305(wrap key, zero nonce, file key). An scrypt stanza must be the only stanza.
 */
import { randomBytes, scrypt as scryptCb } from 'node:crypto';
import { AgeError, badHeader } from './errors.js';
import { b64decode, b64encode, open, seal } from './primitives.js';
import type { Identity, Recipient, Stanza } from './types.js';

const LABEL = 'age-encryption.org/v1/scrypt';
/** age's default work factor (2^18: ~256 MiB of memory, about a second). */
export const DEFAULT_LOG_N = 18;
/** Highest work factor accepted when decrypting (age's own default limit). */
export const MAX_LOG_N = 22;

function deriveKey(passphrase: Buffer, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  const r = 8;
  const maxmem = 128 * r * N + 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCb(
      passphrase,
      Buffer.concat([Buffer.from(LABEL, 'latin1'), salt]),
      32,
      { N, r, p: 1, maxmem },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function checkPassphrase(passphrase: string | Buffer): Buffer {
  const bytes = typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : passphrase;
  if (bytes.length === 0) throw new AgeError('BAD_KEY', 'the passphrase must not be empty');
  return bytes;
}

export class ScryptRecipient implements Recipient {
  private readonly passphrase: Buffer;
  constructor(
    passphrase: string | Buffer,
    readonly logN = DEFAULT_LOG_N,
  ) {
    this.passphrase = checkPassphrase(passphrase);
    if (!Number.isInteger(logN) || logN < 1 || logN > MAX_LOG_N) {
      throw new AgeError('BAD_KEY', `scrypt work factor must be an integer from 1 to ${MAX_LOG_N}`);
    }
  }

  async wrap(fileKey: Buffer): Promise<Stanza> {
    const salt = randomBytes(16);
    const key = await deriveKey(this.passphrase, salt, this.logN);
    return { type: 'scrypt', args: [b64encode(salt), String(this.logN)], body: seal(key, fileKey) };
  }
}

export class ScryptIdentity implements Identity {
  private readonly passphrase: Buffer;
  constructor(
    passphrase: string | Buffer,
    readonly maxLogN = MAX_LOG_N,
  ) {
    this.passphrase = checkPassphrase(passphrase);
  }

  async unwrap(stanzas: Stanza[]): Promise<Buffer | null> {
    const s = stanzas.find((x) => x.type === 'scrypt');
    if (s === undefined) return null;
    if (stanzas.length !== 1) throw badHeader('an scrypt stanza must be the only stanza');
    const salt = s.args.length === 2 ? b64decode(s.args[0]) : null;
    if (salt === null || salt.length !== 16) throw badHeader('malformed scrypt stanza');
    if (!/^[1-9][0-9]*$/.test(s.args[1])) throw badHeader('malformed scrypt work factor');
    const logN = Number(s.args[1]);
    if (logN > this.maxLogN) {
      throw new AgeError(
        'UNSUPPORTED',
        `the passphrase work factor of this archive (2^${logN}) exceeds the limit 2^${this.maxLogN}; refusing to spend that much memory and time`,
      );
    }
    if (s.body.length !== 32) throw badHeader('malformed scrypt stanza body');
    const key = await deriveKey(this.passphrase, salt, logN);
    const fileKey = open(key, s.body);
    if (fileKey === null) {
      throw new AgeError('WRONG_PASSPHRASE', 'wrong passphrase for this archive');
    }
    return fileKey;
  }
}
