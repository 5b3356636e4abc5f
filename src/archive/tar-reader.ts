import { ByteReader } from './byte-reader.js';

const BLOCK = 512;

export class TarFormatError extends Error {
  constructor(
    message: string,
    readonly kind: 'truncated' | 'corrupt',
  ) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export interface TarMember {
  name: string;
  size: number;
  type: string;
  /** Where the member's data starts in the tar stream. */
  offset: number;
  /** The member's data; must be consumed fully before asking for the next member. */
  body: AsyncIterable<Buffer>;
}

/**
 * Reads the members of a tar stream (ustar + pax path/size records), pulling bytes as they
 * are consumed so that a multi-GiB member never sits in memory. Strict: a bad header checksum
 * or an early end is an error, since our archives are written whole by one program.
 */
export async function* readTarMembers(
  source: AsyncIterable<Buffer | string>,
): AsyncGenerator<TarMember> {
  const reader = new ByteReader(source);
  let pax: Record<string, string> = {};
  for (;;) {
    const header = await reader.read(BLOCK);
    if (header.length === 0) {
      throw new TarFormatError('archive ends without its end-of-archive marker', 'truncated');
    }
    if (header.length < BLOCK)
      throw new TarFormatError('archive ends inside a header', 'truncated');
    if (header.every((b) => b === 0)) return;
    checkHeader(header, reader.offset - BLOCK);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = cString(header, 345, 155);
    const shortName = cString(header, 0, 100);
    let name = prefix ? `${prefix}/${shortName}` : shortName;
    let size = parseOctal(header, 124, 12);
    if (pax.path) name = pax.path;
    if (pax.size) size = Number(pax.size);
    pax = {};
    const truncated = () => new TarFormatError(`archive ends inside member ${name}`, 'truncated');
    if (type === 'x') {
      pax = parsePax(await collect(reader.pieces(size, truncated)));
      await skipPadding(reader, size, truncated);
      continue;
    }
    let consumed = false;
    const body = reader.pieces(size, truncated);
    const tracked = (async function* () {
      yield* body;
      consumed = true;
    })();
    yield { name, size, type, offset: reader.offset, body: tracked };
    if (!consumed) for await (const piece of tracked) void piece;
    await skipPadding(reader, size, truncated);
  }
}

function checkHeader(header: Buffer, offset: number): void {
  if (!checksumMatches(header)) {
    throw new TarFormatError(
      `tar header at byte ${offset} is corrupt (checksum mismatch)`,
      'corrupt',
    );
  }
}

/** Whether a 512-byte header's checksum field matches its bytes (the field counted as spaces). */
export function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  try {
    return sum === parseOctal(header, 148, 8);
  } catch {
    return false;
  }
}

async function skipPadding(reader: ByteReader, size: number, onShort: () => Error) {
  const rest = size % BLOCK;
  if (rest === 0) return;
  const pad = await reader.read(BLOCK - rest);
  if (pad.length < BLOCK - rest) throw onShort();
}

async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of pieces) parts.push(p);
  return Buffer.concat(parts);
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

export function parseOctal(buf: Buffer, start: number, length: number): number {
  const text = cString(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new TarFormatError(`bad number "${text}" in tar header`, 'corrupt');
  return parseInt(text, 8);
}

export function parsePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) break;
    const length = Number(body.subarray(pos, space).toString());
    if (!Number.isInteger(length) || length <= 0) {
      throw new TarFormatError('corrupt pax header record', 'corrupt');
    }
    const record = body.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return records;
}
