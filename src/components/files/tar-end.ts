import { checksumMatches, parseOctal, parsePax } from '../../archive/tar-reader.js';

/**
 * Follows a tar stream's structure as it goes by (headers only: data is skipped by count) and
 * says at its end whether it ended where a tar ends: after the last member's data and two
 * zero blocks. `kubectl exec` can end a command's stdout early with exit code 0
 * (kubernetes/kubernetes#124571, #73056): `tar -c` exited 0 but what arrived is cut, and only
 * the stream itself can tell.
 *
 * Knows the ustar/pax/GNU layout: a header's size (octal, or base-256), a pax `size=` record
 * for the next member, no data for links, devices, directories and FIFOs. Checksums are
 * checked, so bytes that are not where a header should be are named as such.
 */
const BLOCK = 512;
const NO_DATA = new Set(['1', '2', '3', '4', '5', '6']);

export class TarEndCheck {
  /** Bytes of the current member's data (and padding) still to skip. */
  private skip = 0;
  /** A header (or a pax record block) being gathered across chunks. */
  private pending = Buffer.alloc(0);
  private want: 'header' | 'pax' = 'header';
  private paxLeft = 0;
  private paxPad = 0;
  private nextSize: number | undefined;
  private zeroBlocks = 0;
  private ended = false;
  private bytes = 0;
  private member = '';
  private bad: string | undefined;
  /** Regular files seen, and the bytes of their data (what `inspect` reports of a tree). */
  files = 0;
  fileBytes = 0;

  see(chunk: Buffer): void {
    const start = this.bytes;
    this.bytes += chunk.length;
    let off = 0;
    while (off < chunk.length && !this.bad) {
      if (this.ended) {
        // After the end: only the zero padding of the last record.
        for (; off < chunk.length; off++) {
          if (chunk[off] !== 0) {
            this.bad = `bytes follow the end of the tar stream (at byte ${start + off})`;
            return;
          }
        }
        return;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        this.skip -= n;
        off += n;
        continue;
      }
      const need = this.want === 'pax' ? this.paxLeft : BLOCK;
      let block: Buffer;
      if (this.pending.length === 0 && chunk.length - off >= need) {
        block = chunk.subarray(off, off + need);
        off += need;
      } else {
        const n = Math.min(need - this.pending.length, chunk.length - off);
        this.pending = Buffer.concat([this.pending, chunk.subarray(off, off + n)]);
        off += n;
        if (this.pending.length < need) continue;
        block = this.pending;
        this.pending = Buffer.alloc(0);
      }
      if (this.want === 'pax') this.paxRecords(block);
      else this.header(block, start + off - BLOCK);
    }
  }

  /** Why the stream is not a whole tar, or undefined when it is. */
  problem(): string | undefined {
    if (this.bad) return this.bad;
    if (this.ended) return undefined;
    if (this.bytes === 0) return 'the tar stream is empty';
    const at = `after ${this.bytes} bytes`;
    if (this.zeroBlocks === 0 && (this.skip > 0 || this.want === 'pax' || this.pending.length > 0))
      return `the tar stream ends inside ${this.member ? `member ${JSON.stringify(this.member)}` : 'its first header'} (${at})`;
    return `the tar stream ends without its end-of-archive blocks (${at})`;
  }

  private header(block: Buffer, at: number): void {
    if (isZero(block)) {
      if (++this.zeroBlocks === 2) this.ended = true;
      return;
    }
    if (this.zeroBlocks > 0) {
      this.bad = `a header follows a zero block (at byte ${at})`;
      return;
    }
    if (!checksumMatches(block)) {
      this.bad = `not a tar header where one should be${this.member ? `, after member ${JSON.stringify(this.member)}` : ''} (checksum, at byte ${at})`;
      return;
    }
    const type = String.fromCharCode(block[156] || 0x30);
    const size = this.nextSize ?? headerSize(block);
    this.nextSize = undefined;
    if (!Number.isFinite(size)) {
      this.bad = `a tar header with a bad size field (at byte ${at})`;
      return;
    }
    this.member = block.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    if (type === 'x') {
      // A pax header: its records (read whole: they are small) may give the next size.
      this.want = size > 0 ? 'pax' : 'header';
      this.paxLeft = size;
      this.paxPad = pad(size) - size;
      return;
    }
    this.skip = NO_DATA.has(type) ? 0 : pad(size);
    if (type === '0' || type === '7' || type === '\0') {
      this.files += 1;
      this.fileBytes += size;
    }
  }

  private paxRecords(data: Buffer): void {
    let size: string | undefined;
    try {
      size = parsePax(data).size;
    } catch {
      this.bad = `a corrupt pax header before member ${JSON.stringify(this.member)}`;
      return;
    }
    this.nextSize = size === undefined ? undefined : Number(size);
    this.want = 'header';
    this.skip = this.paxPad;
  }
}

function pad(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** The size field: octal digits, or base-256 (GNU, first byte 0x80) for large sizes. */
function headerSize(block: Buffer): number {
  if (block[124] & 0x80) {
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + block[i];
    return n;
  }
  try {
    return parseOctal(block, 124, 12);
  } catch {
    return NaN;
  }
}
