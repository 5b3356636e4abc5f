/** Shared types of the age implementation (see index.ts for the public entry points). */

/** One recipient stanza of an age header: `-> type args...` followed by a binary body. */
export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

/** Something a file key can be encrypted to (an X25519 public key, a passphrase, ...). */
export interface Recipient {
  /** Wraps the 16-byte file key into a stanza. */
  wrap(fileKey: Buffer): Stanza | Promise<Stanza>;
}

/** Something that can recover a file key from a header's stanzas (a private key, a passphrase). */
export interface Identity {
  /**
   * Returns the file key if one of `stanzas` is addressed to this identity, null if none is.
   * Throws an AgeError when a stanza this identity understands is malformed, or (passphrase
   * identities) when the passphrase is wrong.
   */
  unwrap(stanzas: Stanza[]): Buffer | null | Promise<Buffer | null>;
}
