import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AgeError,
  createDecryptStream,
  createEncryptStream,
  decrypt,
  encrypt,
  generateIdentity,
  parseIdentities,
  parseRecipient,
  passphraseIdentity,
  passphraseRecipient,
} from '../../../src/archive/age/index.js';
import { encodeHeader } from '../../../src/archive/age/header.js';
import { data, expectFailure, headerLength, tryDecrypt } from './helpers.js';
import { KEYGEN_IDENTITY } from './bech32.test.js';

const CHUNK = 65536;
const SEALED = CHUNK + 16;

const alice = generateIdentity();
const bob = generateIdentity();
const aliceIds = parseIdentities(alice.identity);
const bobIds = parseIdentities(bob.identity);
const toAlice = [parseRecipient(alice.recipient)];

// Written by `age -e -r <KEYGEN_RECIPIENT>` (age 1.1.1): "hello from the age CLI\n".
const AGE_CLI_FILE = Buffer.from(
  'YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBuT25jNmR6SlVFbEMyRmRodDlBdnpMZ0RhRUhFK0dZOE5iSEFHSnl5N0dVCnI0WE9DcldLUFVIM2RBUXAxdzVrMk9PcDk2L0VFZzU1ZldEck5rMTNjaVEKLS0tIHZXVG1VMHpOMzRsZUI1RE05Y3pMTURnZDZQZ240TjZJZEl3UTlBUDlCbDgKUPTeYBUw6oK42mXZoZjS6L00z726L7MTbDiF2WlsYIz8mom2N65Ake6B5ujvD1G/Cg7VcjY+Ag==',
  'base64',
);

describe('age encryption streams', () => {
  describe('round trips', () => {
    for (const n of [0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 65536 + 5, 5_000_000]) {
      it(`${n} bytes`, async () => {
        const plain = data(n);
        const file = await encrypt(plain, toAlice);
        const chunks = Math.max(1, Math.ceil(n / CHUNK));
        expect(file.length).to.equal(headerLength(file) + 16 + n + 16 * chunks);
        expect((await decrypt(file, aliceIds)).equals(plain)).to.equal(true);
        // Fed in awkward pieces: header split byte by byte, chunks misaligned.
        const { out, err } = await tryDecrypt(file, aliceIds, [1, 1, 1, 7, 100, 65551, 3, 70000]);
        expect(err).to.equal(null);
        expect(out.equals(plain)).to.equal(true);
      });
    }

    it('written in many small and large pieces', async () => {
      const plain = data(1_000_003);
      const enc = createEncryptStream(toAlice);
      const out: Buffer[] = [];
      enc.on('data', (d: Buffer) => out.push(d));
      const sizes = [1, 65535, 2, 200_000, 17];
      const parts: Buffer[] = [];
      for (let off = 0, i = 0; off < plain.length; off += sizes[i++ % sizes.length]) {
        parts.push(plain.subarray(off, off + sizes[i % sizes.length]));
      }
      await pipeline(Readable.from(parts), enc);
      expect((await decrypt(Buffer.concat(out), aliceIds)).equals(plain)).to.equal(true);
    });

    it('multiple recipients: each identity opens the file', async () => {
      const plain = data(100_000);
      const file = await encrypt(plain, [
        parseRecipient(alice.recipient),
        parseRecipient(bob.recipient),
      ]);
      expect((await decrypt(file, aliceIds)).equals(plain)).to.equal(true);
      expect((await decrypt(file, bobIds)).equals(plain)).to.equal(true);
      const other = parseIdentities(generateIdentity().identity);
      expect((await decrypt(file, [...other, ...bobIds])).equals(plain)).to.equal(true);
    });

    it('passphrase (scrypt)', async () => {
      const plain = data(70_000);
      const file = await encrypt(plain, [passphraseRecipient('correct horse', 10)]);
      expect(file.toString('latin1', 0, 200)).to.match(/\n-> scrypt [A-Za-z0-9+/]{22} 10\n/);
      expect((await decrypt(file, [passphraseIdentity('correct horse')])).equals(plain)).to.equal(
        true,
      );
    });

    it('passphrase with the default work factor 18', async function () {
      this.timeout(30_000);
      const file = await encrypt(Buffer.from('x'), [passphraseRecipient('pw')]);
      expect(file.toString('latin1', 0, 100)).to.match(/\n-> scrypt \S+ 18\n/);
      expect((await decrypt(file, [passphraseIdentity('pw')])).toString()).to.equal('x');
    });

    it('decrypts a file written by the age CLI (embedded)', async () => {
      const out = await decrypt(AGE_CLI_FILE, parseIdentities(KEYGEN_IDENTITY));
      expect(out.toString()).to.equal('hello from the age CLI\n');
    });
  });

  describe('failures', () => {
    let big: Buffer; // 3 full chunks + a short one
    let bigPlain: Buffer;
    let hdr: number;
    before(async () => {
      bigPlain = data(3 * CHUNK + 1000);
      big = await encrypt(bigPlain, toAlice);
      hdr = headerLength(big);
    });

    it('wrong identity -> NO_IDENTITY_MATCHED', async () => {
      const err = await expectFailure(big, bobIds, 'NO_IDENTITY_MATCHED');
      expect(err.message).to.match(/none of the given identities/);
      const p = await expectFailure(big, [passphraseIdentity('pw')], 'NO_IDENTITY_MATCHED');
      expect(p.message).to.match(/not with a passphrase/);
      const file = await encrypt(Buffer.from('x'), [passphraseRecipient('pw', 4)]);
      const k = await expectFailure(file, aliceIds, 'NO_IDENTITY_MATCHED');
      expect(k.message).to.match(/passphrase/);
    });

    it('wrong passphrase -> WRONG_PASSPHRASE', async () => {
      const file = await encrypt(Buffer.from('secret'), [passphraseRecipient('right', 8)]);
      const err = await expectFailure(file, [passphraseIdentity('wrong')], 'WRONG_PASSPHRASE');
      expect(err.message).to.equal('wrong passphrase for this archive');
    });

    it('scrypt work factor above 22 -> UNSUPPORTED, before running scrypt', async () => {
      const stanza = {
        type: 'scrypt',
        args: ['AAAAAAAAAAAAAAAAAAAAAA', '23'],
        body: Buffer.alloc(32),
      };
      const file = Buffer.concat([encodeHeader([stanza], Buffer.alloc(16)), Buffer.alloc(32)]);
      const err = await expectFailure(file, [passphraseIdentity('pw')], 'UNSUPPORTED');
      expect(err.message).to.match(/\(2\^23\) exceeds the limit 2\^22/);
    });

    it('scrypt mixed with other stanzas -> BAD_HEADER; refused when encrypting', async () => {
      const scrypt = {
        type: 'scrypt',
        args: ['AAAAAAAAAAAAAAAAAAAAAA', '10'],
        body: Buffer.alloc(32),
      };
      const other = parseRecipient(alice.recipient).wrap(Buffer.alloc(16)) as never;
      const file = Buffer.concat([
        encodeHeader([other, scrypt], Buffer.alloc(16)),
        Buffer.alloc(32),
      ]);
      await expectFailure(file, [passphraseIdentity('pw')], 'BAD_HEADER');
      await expectFailure(file, aliceIds, 'BAD_HEADER');
      expect(() => createEncryptStream([passphraseRecipient('pw'), ...toAlice])).to.throw(
        AgeError,
        /cannot be combined/,
      );
    });

    it('truncated inside the header -> TRUNCATED, or BAD_HEADER', async () => {
      for (const n of [0, 5, 21, 22, 40, hdr - 45, hdr - 1]) {
        const err = await expectFailure(big.subarray(0, n), aliceIds, 'TRUNCATED', 'BAD_HEADER');
        expect(err.code, `cut at ${n}`).to.equal('TRUNCATED');
      }
    });

    it('truncated in the nonce, at chunk boundaries, mid chunk -> TRUNCATED', async () => {
      const cuts = [
        hdr, // no payload nonce
        hdr + 8, // inside the nonce
        hdr + 16, // no chunk
        hdr + 16 + 10, // inside the first chunk
        hdr + 16 + SEALED, // after chunk 0
        hdr + 16 + 2 * SEALED, // after chunk 1
        hdr + 16 + 3 * SEALED, // after chunk 2 (the short final chunk is missing)
        hdr + 16 + 2 * SEALED + 30_000, // mid chunk 2
        hdr + 16 + 3 * SEALED + 500, // inside the final chunk
        big.length - 1, // inside the final tag
      ];
      for (const n of cuts) {
        const err = await expectFailure(big.subarray(0, n), aliceIds, 'TRUNCATED');
        expect(err.message).to.match(/^archive is truncated/);
      }
      // An exact multiple of the chunk size: the last chunk is full and flagged last.
      const even = await encrypt(data(2 * CHUNK), toAlice);
      const h = headerLength(even);
      expect(even.length).to.equal(h + 16 + 2 * SEALED);
      const err = await expectFailure(even.subarray(0, h + 16 + SEALED), aliceIds, 'TRUNCATED');
      expect(err.message).to.contain('at a chunk boundary');
    });

    it('releases only authenticated plaintext before failing', async () => {
      const { out, err } = await tryDecrypt(big.subarray(0, hdr + 16 + 2 * SEALED + 100), aliceIds);
      expect(err?.code).to.equal('TRUNCATED');
      expect(out.equals(bigPlain.subarray(0, out.length))).to.equal(true);
      expect(out.length).to.equal(2 * CHUNK);
    });

    it('a flipped payload byte -> TAMPERED', async () => {
      for (const at of [hdr + 16 + 5, hdr + 16 + SEALED + 40_000, hdr + 16 + 2 * SEALED + 65540]) {
        const bad = Buffer.from(big);
        bad[at] ^= 0x01;
        const err = await expectFailure(bad, aliceIds, 'TAMPERED');
        expect(err.message).to.match(/corrupted or was modified/);
      }
      // In the payload nonce: every chunk key changes.
      const bad = Buffer.from(big);
      bad[hdr + 3] ^= 0x80;
      await expectFailure(bad, aliceIds, 'TAMPERED');
    });

    it('a damaged final short chunk is reported as truncated or damaged', async () => {
      const bad = Buffer.from(big);
      bad[big.length - 30] ^= 0x01;
      const err = await expectFailure(bad, aliceIds, 'TRUNCATED');
      expect(err.message).to.contain('truncated or damaged');
    });

    it('trailing data after the last chunk -> TAMPERED', async () => {
      const even = await encrypt(data(CHUNK), toAlice);
      for (const extra of [1, 100, SEALED + 5]) {
        const err = await expectFailure(Buffer.concat([even, data(extra)]), aliceIds, 'TAMPERED');
        expect(err.message).to.match(/after its last encrypted chunk/);
      }
      // After a short last chunk the extra bytes make that chunk fail instead.
      await expectFailure(Buffer.concat([big, Buffer.alloc(3)]), aliceIds, 'TRUNCATED', 'TAMPERED');
    });

    it('header modifications -> TAMPERED (MAC) or BAD_HEADER', async () => {
      const text = big.subarray(0, hdr).toString('latin1');
      const macAt = text.indexOf('\n--- ') + 5;
      for (const i of [0, 10, 20, 41, 42]) {
        const bad = Buffer.from(big);
        bad[macAt + i] = bad[macAt + i] === 0x41 ? 0x42 : 0x41;
        await expectFailure(bad, aliceIds, 'TAMPERED', 'BAD_HEADER');
      }
      // An extra stanza spliced into the header: parses, unwraps, fails the MAC.
      const spliced = Buffer.concat([
        big.subarray(0, macAt - 4),
        Buffer.from('-> grease x\n\n', 'latin1'),
        big.subarray(macAt - 4),
      ]);
      const err = await expectFailure(spliced, aliceIds, 'TAMPERED');
      expect(err.message).to.match(/header fails authentication/);
      // A broken stanza body (still canonical): nobody can unwrap.
      const bodyAt = text.indexOf('\n', text.indexOf('-> X25519')) + 1;
      const bad = Buffer.from(big);
      bad[bodyAt + 3] = bad[bodyAt + 3] === 0x41 ? 0x42 : 0x41;
      await expectFailure(bad, aliceIds, 'NO_IDENTITY_MATCHED', 'BAD_HEADER');
    });

    it('random bytes and plain files -> NOT_AGE', async () => {
      await expectFailure(data(100_000), aliceIds, 'NOT_AGE');
      await expectFailure(Buffer.from('entando-backup/manifest.json\0\0'), aliceIds, 'NOT_AGE');
      await expectFailure(Buffer.from('age-encryption.org/v2\n'), aliceIds, 'UNSUPPORTED');
    });
  });

  describe('backpressure', () => {
    /** Streams `total` bytes through `t` into a slow sink; returns the max bytes in flight. */
    async function maxInFlight(t: NodeJS.ReadWriteStream, source: Buffer): Promise<number> {
      let produced = 0;
      let consumed = 0;
      let max = 0;
      const piece = 16 * 1024;
      const src = new Readable({
        read() {
          if (produced >= source.length) return void this.push(null);
          const p = source.subarray(produced, produced + piece);
          produced += p.length;
          max = Math.max(max, produced - consumed);
          this.push(p);
        },
        highWaterMark: piece,
      });
      let outBytes = 0;
      const sink = new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _e, cb) {
          outBytes += chunk.length;
          consumed = Math.min(produced, consumed + chunk.length); // ~1:1 sizes both ways
          setImmediate(cb);
        },
      });
      await pipeline(src, t, sink);
      expect(outBytes).to.be.greaterThan(0);
      return max;
    }

    it('encryption and decryption never buffer much more than a couple of chunks', async function () {
      this.timeout(60_000);
      const plain = data(16 * 1024 * 1024);
      const encMax = await maxInFlight(createEncryptStream(toAlice), plain);
      const file = await encrypt(plain, toAlice);
      const decMax = await maxInFlight(createDecryptStream(aliceIds), file);
      expect(encMax).to.be.lessThan(8 * CHUNK);
      expect(decMax).to.be.lessThan(8 * CHUNK);
    });

    it('a decrypted stream hashes like the plaintext', async () => {
      const plain = data(2_000_000);
      const file = await encrypt(plain, toAlice);
      const h = createHash('sha256');
      await pipeline(
        Readable.from([file]),
        createDecryptStream(aliceIds),
        new Writable({
          write(c: Buffer, _e, cb) {
            h.update(c);
            cb();
          },
        }),
      );
      expect(h.digest('hex')).to.equal(createHash('sha256').update(plain).digest('hex'));
    });
  });
});
