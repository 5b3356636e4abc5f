import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { AgeError } from '../../../src/archive/age/errors.js';
import {
  encodeHeader,
  HeaderParser,
  verifyHeaderMac,
  type ParsedHeader,
} from '../../../src/archive/age/header.js';
import { isAgeFile } from '../../../src/archive/age/index.js';
import type { Stanza } from '../../../src/archive/age/types.js';

const fileKey = Buffer.alloc(16, 0x42);

function parse(text: string | Buffer): ParsedHeader | undefined {
  return new HeaderParser().push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof AgeError) return e.code;
    throw e;
  }
  return 'ok';
}

// A valid header text with a fake MAC, for strictness tests (they fail before the MAC matters).
const MAC = `--- ${'A'.repeat(43)}\n`;
const V = 'age-encryption.org/v1\n';

describe('age header', () => {
  it('round-trips stanzas with bodies of every wrapping shape', () => {
    const stanzas: Stanza[] = [0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 300].map((n, i) => ({
      type: i % 2 ? 'X25519' : 'some-type',
      args: i % 3 ? [`arg${i}`, '!~'] : [],
      body: randomBytes(n),
    }));
    const header = encodeHeader(stanzas, fileKey);
    const text = header.toString('latin1');
    expect(text.startsWith('age-encryption.org/v1\n-> some-type\n')).to.equal(true);
    for (const line of text.split('\n')) expect(line.length).to.be.at.most(64 + 3 + 43);
    // A 48-byte body fills one 64-column line and is followed by an empty final line.
    expect(text).to.match(/\n[A-Za-z0-9+/]{64}\n\n/);
    const parsed = parse(Buffer.concat([header, Buffer.from('payload')]))!;
    expect(parsed.length).to.equal(header.length);
    expect(parsed.stanzas).to.deep.equal(stanzas);
    expect(verifyHeaderMac(fileKey, parsed)).to.equal(true);
    expect(verifyHeaderMac(Buffer.alloc(16), parsed)).to.equal(false);
  });

  it('parses the same header fed one byte at a time', () => {
    const header = encodeHeader(
      [{ type: 'X25519', args: ['abc'], body: randomBytes(32) }],
      fileKey,
    );
    const p = new HeaderParser();
    let result: ParsedHeader | undefined;
    for (let i = 0; i < header.length; i++) {
      expect(result).to.equal(undefined);
      result = p.push(header.subarray(i, i + 1));
    }
    expect(result!.length).to.equal(header.length);
    expect(verifyHeaderMac(fileKey, result!)).to.equal(true);
  });

  it('needs more input while the header is incomplete', () => {
    const header = encodeHeader(
      [{ type: 'X25519', args: ['abc'], body: randomBytes(32) }],
      fileKey,
    );
    for (const n of [1, 10, 22, 30, header.length - 1]) {
      expect(parse(header.subarray(0, n))).to.equal(undefined);
    }
  });

  it('is strict about the encoding, as the spec requires', () => {
    const body = 'AAAA'; // 3 zero bytes
    const cases: [string, string][] = [
      [`${V}${MAC}`, 'BAD_HEADER'], // no stanzas
      [`${V}-> X\n${body}\n${MAC}`, 'ok'],
      [`${V}-> X\r\n${body}\n${MAC}`, 'BAD_HEADER'], // CR
      [`age-encryption.org/v1\r\n-> X\n${body}\n${MAC}`, 'UNSUPPORTED'], // CRLF version line
      [`${V}-> X  a\n${body}\n${MAC}`, 'BAD_HEADER'], // empty argument
      [`${V}-> \n${body}\n${MAC}`, 'BAD_HEADER'], // no type
      [`${V}-> X a\xe9\n${body}\n${MAC}`, 'BAD_HEADER'], // non-ASCII argument
      [`${V}->X\n${body}\n${MAC}`, 'BAD_HEADER'], // bad stanza start
      [`${V}-> X\nAAA=\n${MAC}`, 'BAD_HEADER'], // padding
      [`${V}-> X\nAAB\n${MAC}`, 'BAD_HEADER'], // non-canonical trailing bits
      [`${V}-> X\nA\n${MAC}`, 'BAD_HEADER'], // impossible length
      [`${V}-> X\nAA-A\n${MAC}`, 'BAD_HEADER'], // bad alphabet
      [`${V}-> X\n${'A'.repeat(64)}\n${MAC}`, 'BAD_HEADER'], // missing final short line
      [`${V}-> X\n${'A'.repeat(64)}\n\n${MAC}`, 'ok'],
      [`${V}-> X\n${'A'.repeat(68)}\n${MAC}`, 'BAD_HEADER'], // line too long
      [`${V}-> X\n\n${MAC}`, 'ok'], // empty body
      [`${V}-> X\n${MAC.replace(' ', '')}`, 'BAD_HEADER'], // no space after ---
      [`${V}-> X\n\n${MAC.replace(' ', '  ')}`, 'BAD_HEADER'], // extra space
      [`${V}-> X\n\n${MAC.replace('\n', ' \n')}`, 'BAD_HEADER'], // trailing space
      [`${V}-> X\n\n--- ${'A'.repeat(42)}\n`, 'BAD_HEADER'], // MAC too short
      [`${V}-> X\n\n--- ${'A'.repeat(42)}B\n`, 'BAD_HEADER'], // MAC not canonical
      [`${V}-> X\n\n---\n`, 'BAD_HEADER'], // MAC missing
      [`${V}-> X\n\nnonsense\n`, 'BAD_HEADER'],
      [`age-encryption.org/v2\n-> X\n\n${MAC}`, 'UNSUPPORTED'],
      [`-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n`, 'UNSUPPORTED'],
      [`hello world\n`, 'NOT_AGE'],
      [`age-encryption.org/v1 \n-> X\n\n${MAC}`, 'UNSUPPORTED'],
    ];
    for (const [text, want] of cases) {
      expect(
        code(() => parse(text)),
        JSON.stringify(text),
      ).to.equal(want);
    }
  });

  it('rejects non-age input from its first bytes, even without a newline', () => {
    expect(code(() => parse(Buffer.from('PK\x03\x04')))).to.equal('NOT_AGE');
    expect(code(() => parse(Buffer.from('\x1f\x8b\x08')))).to.equal('NOT_AGE');
    expect(code(() => parse(Buffer.from('age-encryption.org')))).to.equal('ok'); // a prefix: wait
  });

  it('isAgeFile tells encrypted from plain input', () => {
    const header = encodeHeader([{ type: 'X', args: [], body: Buffer.alloc(0) }], fileKey);
    expect(isAgeFile(header)).to.equal(true);
    expect(isAgeFile(Buffer.from('age-encryption.org/v2\n'))).to.equal(true);
    expect(isAgeFile(Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\n'))).to.equal(true);
    expect(isAgeFile(Buffer.from('entando-backup/manifest.json\0\0\0'))).to.equal(false);
    expect(isAgeFile(randomBytes(512).fill(0x41, 0, 1))).to.equal(false);
    expect(isAgeFile(Buffer.alloc(0))).to.equal(false);
    expect(isAgeFile(Buffer.from('age-enc'))).to.equal(false); // too short to tell
  });
});
