/**
 * Errors raised by the age implementation. Every failure a user can hit while reading or writing an
 * encrypted archive is an {@link AgeError} with a stable `code` and a one-line message meant for
 * humans (the CLI prints it as is).
 */
export type AgeErrorCode =
  /** The input does not start with the age header line: it is not an age file at all. */
  | 'NOT_AGE'
  /** The age header is malformed (not canonical, bad stanza, bad MAC encoding, ...). */
  | 'BAD_HEADER'
  /** None of the supplied identities (private keys) can open the file. */
  | 'NO_IDENTITY_MATCHED'
  /** The file is passphrase-encrypted and the passphrase is wrong. */
  | 'WRONG_PASSPHRASE'
  /** The file ends early (inside the header, or before the last encrypted chunk). */
  | 'TRUNCATED'
  /** Authentication failed: the file was modified or corrupted. */
  | 'TAMPERED'
  /** A recipient, identity or passphrase given by the user is malformed (not about the file). */
  | 'BAD_KEY'
  /** A valid but unsupported feature (armor, other version, excessive work factor, ...). */
  | 'UNSUPPORTED';

export class AgeError extends Error {
  override name = 'AgeError';
  constructor(
    readonly code: AgeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Shorthand used by the parsers: a {@link AgeError} with code BAD_HEADER. */
export function badHeader(detail: string): AgeError {
  return new AgeError('BAD_HEADER', `invalid age header: ${detail}`);
}
