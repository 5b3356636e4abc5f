import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as bech32 from '../../../src/archive/age/bech32.js';
import {
  AgeError,
  generateIdentity,
  identityToRecipient,
  parseIdentities,
  parseRecipient,
} from '../../../src/archive/age/index.js';

// A key pair written by `age-keygen` (age 1.1.1).
export const KEYGEN_IDENTITY =
  'AGE-SECRET-KEY-1ZERNEU5KARUCMLSZA0FMCDVMKZL8E3DT8ZZQF8DWXHTHV9L38YRSPZFF75';
export const KEYGEN_RECIPIENT = 'age1qaz0dnmz4huc892gu3yre6z4x5gsmkuk03y4s4ek4nxu3akgnvmqyzfgme';

describe('age bech32', () => {
  it('accepts the BIP 173 valid checksums', () => {
    for (const s of [
      'A12UEL5L',
      'a12uel5l',
      'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
      '11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j',
      'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
      '?1ezyfcl',
    ]) {
      const { hrp, words } = bech32.decodeWords(s);
      expect(bech32.encodeWords(hrp, words)).to.equal(s.toLowerCase());
    }
  });

  it('rejects the BIP 173 invalid strings', () => {
    for (const s of [
      'pzry9x0s0muk', // no separator
      '1pzry9x0s0muk', // empty HRP
      'x1b4n0q5v', // invalid data character
      'li1dgmt3', // too short checksum
      'A1G7SGD8', // checksum computed with upper-case HRP
      '10a06t8', // empty HRP
      '1qzzfhee', // empty HRP
      'a12UEL5L', // mixed case
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx', // checksum
      '\x201nwldj5', // HRP character out of range
    ]) {
      expect(() => bech32.decodeWords(s), s).to.throw();
    }
  });

  it('round-trips bytes, upper-case when asked, and rejects non-zero padding', () => {
    for (const n of [0, 1, 5, 31, 32, 33, 100]) {
      const d = randomBytes(n);
      const lower = bech32.encode('age', d);
      expect(bech32.decode(lower).data.equals(d)).to.equal(true);
      const upper = bech32.encode('age-secret-key-', d, true);
      expect(upper).to.equal(upper.toUpperCase());
      const back = bech32.decode(upper);
      expect(back.hrp).to.equal('age-secret-key-');
      expect(back.data.equals(d)).to.equal(true);
    }
    // 1 byte = 8 bits -> two 5-bit words, the last 2 bits must be zero.
    expect(() => bech32.decode(bech32.encodeWords('age', [0, 1]))).to.throw(/padding/);
  });

  it('derives the recipient age-keygen printed for its identity', () => {
    expect(identityToRecipient(KEYGEN_IDENTITY)).to.equal(KEYGEN_RECIPIENT);
    expect(String(parseRecipient(KEYGEN_RECIPIENT))).to.equal(KEYGEN_RECIPIENT);
  });

  it('generates matching identity/recipient strings', () => {
    const { identity, recipient } = generateIdentity();
    expect(identity).to.match(/^AGE-SECRET-KEY-1[023456789ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/);
    expect(recipient).to.match(/^age1[023456789acdefghjklmnpqrstuvwxyz]{58}$/);
    expect(identityToRecipient(identity)).to.equal(recipient);
  });

  it('parses identity files with comments, without echoing keys in errors', () => {
    const file = `# created: 2026-01-01T00:00:00Z\n# public key: ${KEYGEN_RECIPIENT}\n${KEYGEN_IDENTITY}\n\n`;
    expect(parseIdentities(file)).to.have.length(1);
    const bad = KEYGEN_IDENTITY.slice(0, -1) + 'Q';
    try {
      parseIdentities(`# comment\n${bad}\n`);
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(AgeError);
      expect((e as AgeError).code).to.equal('BAD_KEY');
      expect((e as AgeError).message)
        .to.contain('line 2')
        .and.not.contain(bad.slice(16, 40));
    }
    expect(() => parseIdentities('# nothing\n')).to.throw(AgeError, /no identities/);
    expect(() => parseIdentities(KEYGEN_RECIPIENT)).to.throw(AgeError);
  });

  it('rejects malformed and unsupported recipients', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as AgeError).code;
      }
      return undefined;
    };
    expect(code(() => parseRecipient('age1qqqq'))).to.equal('BAD_KEY');
    expect(code(() => parseRecipient(KEYGEN_IDENTITY))).to.equal('BAD_KEY');
    expect(code(() => parseRecipient(KEYGEN_RECIPIENT.toUpperCase().slice(0, -1) + 'q'))).to.equal(
      'BAD_KEY',
    );
    expect(code(() => parseRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA'))).to.equal(
      'UNSUPPORTED',
    );
    const plugin = bech32.encode('age1yubikey', randomBytes(33));
    expect(code(() => parseRecipient(plugin))).to.equal('UNSUPPORTED');
    expect(code(() => parseRecipient(bech32.encode('age', randomBytes(31))))).to.equal('BAD_KEY');
  });
});
