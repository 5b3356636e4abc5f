import fs from 'node:fs';
import type { Transform } from 'node:stream';
import { UserError } from '../errors.js';
import {
  AgeError,
  createDecryptStream,
  openPayload,
  type OpenedPayload,
  createEncryptor,
  parseIdentities,
  parseRecipient,
  parseRecipientsFile,
  passphraseIdentity,
  passphraseRecipient,
  type Identity,
  type PayloadSealer,
  type Recipient,
} from './age/index.js';
import { ArchiveError } from './errors.js';

/**
 * Where keys come from, in the words of the CLI. Passphrases never come from argv: a file, the
 * ENTANDO_BACKUP_PASSPHRASE environment variable, or a prompt on the terminal.
 */
export interface KeyOptions {
  recipient?: string[];
  recipientsFile?: string[];
  identity?: string[];
  passphraseFile?: string;
  noEncrypt?: boolean;
}

export interface KeySources {
  env: NodeJS.ProcessEnv;
  /** Asks on the terminal; undefined when there is no terminal to ask on. */
  prompt?: (question: string) => Promise<string>;
}

export const PASSPHRASE_ENV = 'ENTANDO_BACKUP_PASSPHRASE';
export const RECIPIENTS_ENV = 'ENTANDO_BACKUP_RECIPIENTS';
export const IDENTITY_ENV = 'ENTANDO_BACKUP_IDENTITY';

const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');

export function isAgeHeader(head: Buffer): boolean {
  return head.length >= AGE_MAGIC.length && head.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC);
}

export interface Encryptor {
  head: Buffer;
  sealer: PayloadSealer;
}

export interface EncryptionKeys {
  /** A short description for reports, never the key itself: "2 age recipients". */
  description: string;
  /** The age header (with payload nonce) to write first, and the sealer of what follows. */
  encryptor(): Promise<Encryptor>;
}

/** A decrypting stream; `payloadPrefix`: the age header and nonce it opened chunks under. */
export type DecryptStream = Transform & { readonly payloadPrefix?: Buffer };

export interface DecryptionKeys {
  decryptStream(head: Buffer): Promise<DecryptStream>;
  /** The payload's start and key, for reading chunks at chosen offsets (random access). */
  openPayload(head: Buffer): Promise<OpenedPayload>;
}

/** Resolves the keys a backup encrypts to; undefined means --no-encrypt was asked for. */
export async function encryptionKeys(
  opts: KeyOptions,
  sources: KeySources,
): Promise<EncryptionKeys | undefined> {
  const recipients: Recipient[] = [];
  let count = 0;
  for (const r of [...(opts.recipient ?? []), ...splitList(sources.env[RECIPIENTS_ENV])]) {
    recipients.push(parseRecipientOrExplain(r));
    count++;
  }
  for (const file of opts.recipientsFile ?? []) {
    const parsed = parseRecipientsFile(readKeyFile(file, '--recipients-file'));
    recipients.push(...parsed);
    count += parsed.length;
  }
  let passphrase = opts.passphraseFile
    ? firstLine(readKeyFile(opts.passphraseFile, '--passphrase-file'))
    : sources.env[PASSPHRASE_ENV];
  if (opts.noEncrypt) {
    if (count > 0 || opts.passphraseFile) {
      throw new UserError('--no-encrypt conflicts with the recipients or passphrase given');
    }
    return undefined;
  }
  if (count > 0 && passphrase) {
    if (opts.passphraseFile) {
      throw new UserError(
        'age cannot mix a passphrase with recipients: use either --recipient/--recipients-file or --passphrase-file',
      );
    }
    passphrase = undefined; // recipients given explicitly win over the environment
  }
  if (count === 0 && !passphrase) {
    if (!sources.prompt) {
      throw new UserError(
        `no encryption key: pass --recipient age1..., --recipients-file FILE or --passphrase-file FILE, set ${PASSPHRASE_ENV}, or pass --no-encrypt`,
      );
    }
    passphrase = await sources.prompt('Passphrase to encrypt the backup: ');
    const again = await sources.prompt('Same passphrase again: ');
    if (passphrase !== again) throw new UserError('the two passphrases differ: try again');
    if (!passphrase) throw new UserError('an empty passphrase is not allowed');
  }
  if (passphrase) {
    const recipient = passphraseRecipient(passphrase);
    return {
      description: 'passphrase (age scrypt)',
      encryptor: () => createEncryptor([recipient]),
    };
  }
  return {
    description: `${count} age recipient${count === 1 ? '' : 's'}`,
    encryptor: () => createEncryptor(recipients),
  };
}

/** Resolves the keys to open an archive, asking for a passphrase only if the header needs one. */
export function decryptionKeys(opts: KeyOptions, sources: KeySources): DecryptionKeys {
  let identities: Promise<Identity[]> | undefined;
  let opened: { head: Buffer; payload: Promise<OpenedPayload> } | undefined;
  // Asked (and the passphrase prompted for) once, however many times the archive is read.
  const identitiesFor = (head: Buffer) => (identities ??= gatherIdentities(opts, sources, head));
  return {
    async decryptStream(head: Buffer): Promise<DecryptStream> {
      return createDecryptStream(await identitiesFor(head));
    },
    openPayload(head: Buffer): Promise<OpenedPayload> {
      if (!opened || !opened.head.equals(head)) {
        opened = { head, payload: identitiesFor(head).then((ids) => openPayload(head, ids)) };
      }
      return opened.payload;
    },
  };
}

async function gatherIdentities(
  opts: KeyOptions,
  sources: KeySources,
  head: Buffer,
): Promise<Identity[]> {
  const identities: Identity[] = [];
  const files = [...(opts.identity ?? [])];
  if (sources.env[IDENTITY_ENV]) files.push(sources.env[IDENTITY_ENV]);
  for (const file of files) {
    identities.push(...parseIdentities(readKeyFile(file, '--identity')));
  }
  let passphrase = opts.passphraseFile
    ? firstLine(readKeyFile(opts.passphraseFile, '--passphrase-file'))
    : sources.env[PASSPHRASE_ENV];
  const usesPassphrase = head.includes(Buffer.from('\n-> scrypt '));
  if (usesPassphrase && !passphrase && sources.prompt) {
    passphrase = await sources.prompt('Passphrase of the backup: ');
  }
  if (passphrase) identities.push(passphraseIdentity(passphrase));
  if (identities.length === 0) {
    throw new ArchiveError(
      'no-key',
      usesPassphrase
        ? `the archive is encrypted with a passphrase: pass --passphrase-file FILE or set ${PASSPHRASE_ENV}`
        : `the archive is encrypted to age recipients: pass --identity FILE (or set ${IDENTITY_ENV})`,
    );
  }
  return identities;
}

/** Turns an age failure into the archive problem the user sees. */
export function classifyEncryptionError(err: unknown, file: string): ArchiveError | undefined {
  if (!(err instanceof AgeError)) return undefined;
  switch (err.code) {
    case 'NO_IDENTITY_MATCHED':
      return new ArchiveError(
        'wrong-key',
        `cannot decrypt ${file}: none of the given identities matches its recipients (wrong key)`,
      );
    case 'WRONG_PASSPHRASE':
      return new ArchiveError('wrong-key', `cannot decrypt ${file}: wrong passphrase`);
    case 'TRUNCATED':
      return new ArchiveError('truncated', `${file} is truncated: ${err.message}`);
    case 'TAMPERED':
      return new ArchiveError('tampered', `${file} was modified or corrupted: ${err.message}`);
    case 'NOT_AGE':
      return new ArchiveError('not-an-archive', `${file} is not an age file: ${err.message}`);
    case 'BAD_HEADER':
      return new ArchiveError(
        'tampered',
        `${file} has a damaged encryption header: ${err.message}`,
      );
    default:
      return new ArchiveError('unsupported', `${file}: ${err.message}`);
  }
}

function parseRecipientOrExplain(text: string): Recipient {
  try {
    return parseRecipient(text.trim());
  } catch (err) {
    throw new UserError(
      `bad age recipient "${text.slice(0, 20)}...": ${(err as Error).message} (expected age1...)`,
    );
  }
}

function readKeyFile(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(
      `cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/)[0];
  if (!line) throw new UserError('the passphrase file is empty');
  return line;
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((s) => s.length > 0);
}
