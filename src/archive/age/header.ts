/**
 * The age v1 header: serialization, MAC, and a strict incremental parser.
 *
 * ```
 * age-encryption.org/v1
 * -> X25519 <base64 share>
 * <base64 body, wrapped at 64 columns, always ending with a line shorter than 64 (maybe empty)>
 * --- <base64 HMAC-SHA256>
 * ```
 * The MAC is HMAC-SHA256 keyed by HKDF-SHA256(file key, salt "", info "header") over the header
 * bytes up to and including "---". Parsing is strict as the spec requires: canonical base64 without
 * padding, printable-ASCII arguments, LF line endings, a short final body line.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AgeError, badHeader } from './errors.js';
import { b64decode, b64encode, hkdf } from './primitives.js';
import type { Stanza } from './types.js';

export const VERSION_LINE = 'age-encryption.org/v1';
const VERSION_PREFIX = 'age-encryption.org/';
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const COLUMNS = 64;
const BYTES_PER_LINE = (COLUMNS / 4) * 3;
/** Headers larger than this are rejected (each stanza is ~100-200 bytes). */
export const MAX_HEADER_SIZE = 1 << 20;

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header bytes covered by the MAC: from the start up to and including "---". */
  macInput: Buffer;
  mac: Buffer;
  /** Total header length in bytes, including the final newline of the MAC line. */
  length: number;
}

function isValidArg(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** Serializes one stanza (including its body lines). */
export function encodeStanza(stanza: Stanza): string {
  for (const a of [stanza.type, ...stanza.args]) {
    if (!isValidArg(a)) throw new Error(`age: invalid stanza argument ${JSON.stringify(a)}`);
  }
  let out = `-> ${[stanza.type, ...stanza.args].join(' ')}\n`;
  const body = b64encode(stanza.body);
  let i = 0;
  for (; i + COLUMNS <= body.length; i += COLUMNS) out += body.slice(i, i + COLUMNS) + '\n';
  return out + body.slice(i) + '\n';
}

/** HMAC-SHA256 of `macInput` keyed by HKDF(file key, "", "header"). */
export function headerMac(fileKey: Buffer, macInput: Buffer): Buffer {
  const key = hkdf(fileKey, Buffer.alloc(0), 'header');
  return createHmac('sha256', key).update(macInput).digest();
}

/** Whether `mac` authenticates `header` under `fileKey` (constant time). */
export function verifyHeaderMac(fileKey: Buffer, header: ParsedHeader): boolean {
  const expected = headerMac(fileKey, header.macInput);
  return expected.length === header.mac.length && timingSafeEqual(expected, header.mac);
}

/** Serializes a complete header, MAC line included. */
export function encodeHeader(stanzas: Stanza[], fileKey: Buffer): Buffer {
  const macInput = Buffer.from(
    `${VERSION_LINE}\n${stanzas.map(encodeStanza).join('')}---`,
    'latin1',
  );
  const mac = headerMac(fileKey, macInput);
  return Buffer.concat([macInput, Buffer.from(` ${b64encode(mac)}\n`, 'latin1')]);
}

/**
 * Classifies the first bytes of an input: 'age' (binary age, v1), 'other-version', 'armor'
 * (ASCII-armored age), 'unknown' (not age), or 'short' (too few bytes to tell yet).
 */
export function sniff(first: Buffer): 'age' | 'other-version' | 'armor' | 'unknown' | 'short' {
  const versionLine = Buffer.from(VERSION_LINE + '\n', 'latin1');
  const candidates: [Buffer, 'age' | 'other-version' | 'armor'][] = [
    [versionLine, 'age'],
    [Buffer.from(VERSION_PREFIX, 'latin1'), 'other-version'],
    [Buffer.from(ARMOR_BEGIN, 'latin1'), 'armor'],
  ];
  let short = false;
  for (const [magic, kind] of candidates) {
    const n = Math.min(magic.length, first.length);
    if (first.subarray(0, n).equals(magic.subarray(0, n))) {
      if (first.length >= magic.length) return kind;
      short = true;
    }
  }
  return short ? 'short' : 'unknown';
}

type State = 'version' | 'stanza-or-end' | 'body';

/**
 * Incremental strict header parser. Feed it the input's first bytes (growing) with {@link push};
 * it returns the parsed header once the MAC line is complete, and undefined while it needs more.
 * Throws AgeError (NOT_AGE, UNSUPPORTED, BAD_HEADER) as soon as the input cannot be a valid header.
 */
export class HeaderParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0; // start of the next unparsed line
  private state: State = 'version';
  private stanzas: Stanza[] = [];
  private current: { type: string; args: string[]; body: Buffer[] } | null = null;

  /** Bytes received so far (the header plus whatever followed it). */
  get buffered(): Buffer {
    return this.buf;
  }

  push(data: Buffer): ParsedHeader | undefined {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      const nl = this.buf.indexOf(0x0a, this.pos);
      if (nl < 0) {
        this.checkPartial();
        return undefined;
      }
      const line = this.buf.toString('latin1', this.pos, nl);
      const lineStart = this.pos;
      this.pos = nl + 1;
      const done = this.line(line, lineStart);
      if (done) return done;
    }
  }

  /** Checks the incomplete trailing line, so non-age input fails fast without a newline. */
  private checkPartial(): void {
    if (this.state === 'version') {
      const kind = sniff(this.buf);
      if (kind === 'unknown') throw notAge();
      if (kind === 'armor') throw armored();
    }
    if (this.buf.length > MAX_HEADER_SIZE) {
      throw badHeader(`header is larger than ${MAX_HEADER_SIZE} bytes`);
    }
  }

  private line(line: string, lineStart: number): ParsedHeader | undefined {
    switch (this.state) {
      case 'version':
        if (line === VERSION_LINE) {
          this.state = 'stanza-or-end';
          return undefined;
        }
        switch (sniff(this.buf)) {
          case 'armor':
            throw armored();
          case 'other-version':
            throw new AgeError(
              'UNSUPPORTED',
              `unsupported age format version ${JSON.stringify(line.slice(VERSION_PREFIX.length, 40))} (only v1 is supported)`,
            );
          default:
            throw notAge();
        }
      case 'body': {
        const cur = this.current!;
        if (line.startsWith('-')) {
          throw badHeader('stanza body does not end with a short line (shorter than 64 columns)');
        }
        if (line.length > COLUMNS) throw badHeader('stanza body line longer than 64 columns');
        const bytes = b64decode(line);
        if (bytes === null) throw badHeader('stanza body is not canonical unpadded base64');
        cur.body.push(bytes);
        if (bytes.length < BYTES_PER_LINE) {
          this.stanzas.push({ type: cur.type, args: cur.args, body: Buffer.concat(cur.body) });
          this.current = null;
          this.state = 'stanza-or-end';
        }
        return undefined;
      }
      case 'stanza-or-end': {
        if (line.startsWith('-> ')) {
          const parts = line.slice(3).split(' ');
          if (!parts.every(isValidArg)) {
            throw badHeader('stanza line has an empty or non-printable argument');
          }
          this.current = { type: parts[0], args: parts.slice(1), body: [] };
          this.state = 'body';
          return undefined;
        }
        if (line.startsWith('---')) {
          const parts = line.split(' ');
          if (parts.length !== 2 || parts[0] !== '---') throw badHeader('malformed MAC line');
          const mac = b64decode(parts[1]);
          if (mac === null || mac.length !== 32) throw badHeader('malformed MAC');
          if (this.stanzas.length === 0) throw badHeader('no recipient stanzas');
          return {
            stanzas: this.stanzas,
            macInput: this.buf.subarray(0, lineStart + 3),
            mac,
            length: this.pos,
          };
        }
        throw badHeader('expected a stanza ("-> ...") or the MAC line ("--- ...")');
      }
    }
  }
}

function notAge(): AgeError {
  return new AgeError(
    'NOT_AGE',
    'not an age-encrypted file (it does not start with the age header)',
  );
}

function armored(): AgeError {
  return new AgeError(
    'UNSUPPORTED',
    'ASCII-armored age files are not supported; only binary age files (no --armor) can be read',
  );
}
