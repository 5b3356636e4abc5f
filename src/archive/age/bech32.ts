/**
 * Bech32 (BIP 173, checksum constant 1 — not bech32m) as used by age for `age1...` recipients and
 * `AGE-SECRET-KEY-1...` identities. Unlike BIP 173, age places no 90-character limit on strings.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Regroups bits; with `pad` false the leftover bits must be fewer than `from` and all zero. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (value < 0 || value >> from !== 0) throw new Error('bech32: invalid data value');
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    throw new Error('bech32: invalid padding');
  }
  return out;
}

/** Encodes 5-bit words (no bit conversion) — the raw BIP 173 primitive. */
export function encodeWords(hrp: string, words: number[]): string {
  const lower = hrp.toLowerCase();
  if (lower.length < 1) throw new Error('bech32: empty human-readable part');
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    if (c < 33 || c > 126) throw new Error('bech32: invalid human-readable part');
  }
  const values = hrpExpand(lower).concat(words, [0, 0, 0, 0, 0, 0]);
  const mod = polymod(values) ^ 1;
  let out = lower + '1';
  for (const w of words) out += CHARSET[w];
  for (let i = 0; i < 6; i++) out += CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/** Decodes to 5-bit words; rejects mixed case and bad checksums. The HRP is returned lower-case. */
export function decodeWords(text: string): { hrp: string; words: number[] } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    throw new Error('bech32: mixed case');
  }
  const s = text.toLowerCase();
  const pos = s.lastIndexOf('1');
  if (pos < 1 || pos + 7 > s.length) throw new Error('bech32: separator misplaced');
  const hrp = s.slice(0, pos);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) throw new Error('bech32: invalid human-readable part');
  }
  const words: number[] = [];
  for (let i = pos + 1; i < s.length; i++) {
    const d = CHARSET.indexOf(s[i]);
    if (d < 0) throw new Error('bech32: invalid character');
    words.push(d);
  }
  if (polymod(hrpExpand(hrp).concat(words)) !== 1) throw new Error('bech32: invalid checksum');
  return { hrp, words: words.slice(0, -6) };
}

/**
 * Encodes bytes under `hrp`. The result is lower-case unless `upper` is set (age identities are
 * conventionally written upper-case: `AGE-SECRET-KEY-1...`).
 */
export function encode(hrp: string, data: Uint8Array, upper = false): string {
  const s = encodeWords(hrp, convertBits(data, 8, 5, true));
  return upper ? s.toUpperCase() : s;
}

/** Decodes a bech32 string to its (lower-case) HRP and bytes; throws on any malformation. */
export function decode(text: string): { hrp: string; data: Buffer } {
  const { hrp, words } = decodeWords(text);
  return { hrp, data: Buffer.from(convertBits(words, 5, 8, false)) };
}
