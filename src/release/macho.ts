import crypto from 'node:crypto';

/**
 * Ad-hoc code signing of thin 64-bit Mach-O executables, on any OS (there is no `codesign`
 * here, and no npm package signs Mach-O). Injecting the SEA blob invalidates the signature of
 * Node's macOS binary, and Apple silicon does not run a binary whose signature is missing or
 * invalid. An ad-hoc signature is what `codesign --sign -` writes: a CodeDirectory with the
 * SHA-256 of every 4 KiB page of the file up to the signature, no certificate. The layout is the
 * one Go's linker writes for every darwin binary (cmd/internal/codesign); test/release checks
 * that re-signing a Go-linked binary reproduces Go's signature byte for byte, and that the page
 * hashes of Node's Apple-signed binary are recomputed exactly.
 */

const MH_MAGIC_64 = 0xfeedfacf;
const MH_EXECUTE = 2;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
export const CS_ADHOC = 0x2;
export const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_HASHTYPE_SHA256 = 2;
const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
const CD_HEADER = 88; // CodeDirectory version 0x20400, up to execSegFlags
const SUPERBLOB_HEADER = 12 + 8; // magic, length, count, one index entry

interface Segment {
  name: string;
  cmdOffset: number;
  fileoff: number;
  filesize: number;
}

export interface MachO {
  cputype: number;
  filetype: number;
  ncmds: number;
  sizeofcmds: number;
  /** End of the load commands, and where the first section's file data starts. */
  commandsEnd: number;
  firstDataOffset: number;
  segments: Segment[];
  codeSignature?: { cmdOffset: number; dataoff: number; datasize: number };
}

function segName(buf: Buffer, at: number): string {
  const raw = buf.subarray(at, at + 16);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? 16 : nul).toString('latin1');
}

export function parseMachO(buf: Buffer): MachO {
  if (buf.length < 32 || buf.readUInt32LE(0) !== MH_MAGIC_64) {
    throw new Error('not a thin 64-bit little-endian Mach-O file');
  }
  const m: MachO = {
    cputype: buf.readUInt32LE(4),
    filetype: buf.readUInt32LE(12),
    ncmds: buf.readUInt32LE(16),
    sizeofcmds: buf.readUInt32LE(20),
    commandsEnd: 32 + buf.readUInt32LE(20),
    firstDataOffset: buf.length,
    segments: [],
  };
  let at = 32;
  for (let i = 0; i < m.ncmds; i++) {
    const cmd = buf.readUInt32LE(at);
    const size = buf.readUInt32LE(at + 4);
    if (cmd === LC_SEGMENT_64) {
      const seg: Segment = {
        name: segName(buf, at + 8),
        cmdOffset: at,
        fileoff: Number(buf.readBigUInt64LE(at + 40)),
        filesize: Number(buf.readBigUInt64LE(at + 48)),
      };
      m.segments.push(seg);
      const nsects = buf.readUInt32LE(at + 64);
      for (let s = 0; s < nsects; s++) {
        const sect = at + 72 + s * 80;
        const offset = buf.readUInt32LE(sect + 48);
        const flags = buf.readUInt32LE(sect + 64);
        const zerofill = (flags & 0xff) === 1 || (flags & 0xff) === 0x0c || (flags & 0xff) === 0x12;
        if (offset > 0 && !zerofill) m.firstDataOffset = Math.min(m.firstDataOffset, offset);
      }
    } else if (cmd === LC_CODE_SIGNATURE) {
      m.codeSignature = {
        cmdOffset: at,
        dataoff: buf.readUInt32LE(at + 8),
        datasize: buf.readUInt32LE(at + 12),
      };
    }
    at += size;
  }
  return m;
}

function linkedit(m: MachO): Segment {
  const seg = m.segments.find((s) => s.name === '__LINKEDIT');
  if (!seg) throw new Error('Mach-O file has no __LINKEDIT segment');
  const last = Math.max(...m.segments.map((s) => s.fileoff + s.filesize));
  if (seg.fileoff + seg.filesize !== last) throw new Error('__LINKEDIT is not the last segment');
  return seg;
}

function setLinkeditFilesize(buf: Buffer, seg: Segment, filesize: number): void {
  buf.writeBigUInt64LE(BigInt(filesize), seg.cmdOffset + 48);
  const vmsize = Number(buf.readBigUInt64LE(seg.cmdOffset + 32));
  if (vmsize < filesize) {
    buf.writeBigUInt64LE(BigInt(Math.ceil(filesize / 0x4000) * 0x4000), seg.cmdOffset + 32);
  }
  seg.filesize = filesize;
}

/** Removes the code signature (like `codesign --remove-signature`): a new, shorter buffer. */
export function removeSignature(input: Buffer): Buffer {
  const m = parseMachO(input);
  if (!m.codeSignature) return input;
  const cs = m.codeSignature;
  const seg = linkedit(m);
  if (cs.dataoff + cs.datasize !== seg.fileoff + seg.filesize) {
    throw new Error('the code signature is not at the end of __LINKEDIT');
  }
  const buf = Buffer.from(input.subarray(0, cs.dataoff));
  const cmdSize = 16;
  // Drop the load command: move the ones after it up and zero the freed tail.
  buf.copy(buf, cs.cmdOffset, cs.cmdOffset + cmdSize, m.commandsEnd);
  buf.fill(0, m.commandsEnd - cmdSize, m.commandsEnd);
  buf.writeUInt32LE(m.ncmds - 1, 16);
  buf.writeUInt32LE(m.sizeofcmds - cmdSize, 20);
  const segAfter = parseMachO(buf).segments.find((s) => s.name === '__LINKEDIT')!;
  setLinkeditFilesize(buf, segAfter, cs.dataoff - segAfter.fileoff);
  return buf;
}

export interface SignOptions {
  /** The signing identifier (codesign uses the file name). */
  identifier: string;
  /** CodeDirectory flags: CS_ADHOC (what `codesign --sign -` writes); Go's linker adds CS_LINKER_SIGNED. */
  flags?: number;
}

/** The size of the signature blob for `codeLimit` bytes of code. */
export function signatureSize(codeLimit: number, identifier: string): number {
  const nCodeSlots = Math.ceil(codeLimit / PAGE);
  return SUPERBLOB_HEADER + CD_HEADER + Buffer.byteLength(identifier) + 1 + nCodeSlots * 32;
}

/**
 * Signs ad hoc: replaces the existing signature, or adds LC_CODE_SIGNATURE when there is none
 * (using 16 bytes of the padding after the load commands). Returns the signed file.
 */
export function adhocSign(input: Buffer, opts: SignOptions): Buffer {
  const m = parseMachO(input);
  let buf: Buffer;
  let codeLimit: number;
  let cmdOffset: number;
  if (m.codeSignature) {
    codeLimit = m.codeSignature.dataoff;
    cmdOffset = m.codeSignature.cmdOffset;
    buf = Buffer.from(input.subarray(0, codeLimit));
  } else {
    const seg = linkedit(m);
    codeLimit = Math.ceil((seg.fileoff + seg.filesize) / 16) * 16;
    if (m.commandsEnd + 16 > m.firstDataOffset) {
      throw new Error('no room after the load commands for LC_CODE_SIGNATURE');
    }
    buf = Buffer.alloc(codeLimit);
    input.copy(buf, 0, 0, Math.min(input.length, codeLimit));
    cmdOffset = m.commandsEnd;
    buf.writeUInt32LE(LC_CODE_SIGNATURE, cmdOffset);
    buf.writeUInt32LE(16, cmdOffset + 4);
    buf.writeUInt32LE(m.ncmds + 1, 16);
    buf.writeUInt32LE(m.sizeofcmds + 16, 20);
  }
  const size = signatureSize(codeLimit, opts.identifier);
  buf.writeUInt32LE(codeLimit, cmdOffset + 8);
  buf.writeUInt32LE(size, cmdOffset + 12);
  const parsed = parseMachO(buf);
  const seg = linkedit({ ...parsed, segments: parsed.segments });
  setLinkeditFilesize(buf, seg, codeLimit + size - seg.fileoff);
  const text = parsed.segments.find((s) => s.name === '__TEXT');
  const sig = codeDirectorySuperBlob(buf, codeLimit, {
    identifier: opts.identifier,
    flags: opts.flags ?? CS_ADHOC,
    execSegBase: text?.fileoff ?? 0,
    execSegLimit: text?.filesize ?? 0,
    execSegFlags: parsed.filetype === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0,
  });
  return Buffer.concat([buf, sig]);
}

function codeDirectorySuperBlob(
  code: Buffer,
  codeLimit: number,
  cd: {
    identifier: string;
    flags: number;
    execSegBase: number;
    execSegLimit: number;
    execSegFlags: number;
  },
): Buffer {
  const id = Buffer.from(`${cd.identifier}\0`);
  const nCodeSlots = Math.ceil(codeLimit / PAGE);
  const cdLength = CD_HEADER + id.length + nCodeSlots * 32;
  const out = Buffer.alloc(SUPERBLOB_HEADER + cdLength);
  out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, 0);
  out.writeUInt32BE(out.length, 4);
  out.writeUInt32BE(1, 8);
  out.writeUInt32BE(CSSLOT_CODEDIRECTORY, 12);
  out.writeUInt32BE(SUPERBLOB_HEADER, 16);
  const c = SUPERBLOB_HEADER;
  out.writeUInt32BE(CSMAGIC_CODEDIRECTORY, c);
  out.writeUInt32BE(cdLength, c + 4);
  out.writeUInt32BE(0x20400, c + 8);
  out.writeUInt32BE(cd.flags, c + 12);
  out.writeUInt32BE(CD_HEADER + id.length, c + 16); // hashOffset
  out.writeUInt32BE(CD_HEADER, c + 20); // identOffset
  out.writeUInt32BE(0, c + 24); // nSpecialSlots
  out.writeUInt32BE(nCodeSlots, c + 28);
  out.writeUInt32BE(codeLimit, c + 32);
  out.writeUInt8(32, c + 36); // hashSize
  out.writeUInt8(CS_HASHTYPE_SHA256, c + 37);
  out.writeUInt8(0, c + 38); // platform
  out.writeUInt8(PAGE_SHIFT, c + 39);
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64 stay 0
  out.writeBigUInt64BE(BigInt(cd.execSegBase), c + 64);
  out.writeBigUInt64BE(BigInt(cd.execSegLimit), c + 72);
  out.writeBigUInt64BE(BigInt(cd.execSegFlags), c + 80);
  id.copy(out, c + CD_HEADER);
  let h = c + CD_HEADER + id.length;
  for (let p = 0; p < codeLimit; p += PAGE, h += 32) {
    crypto
      .createHash('sha256')
      .update(code.subarray(p, Math.min(p + PAGE, codeLimit)))
      .digest()
      .copy(out, h);
  }
  return out;
}

export interface CodeDirectoryInfo {
  flags: number;
  identifier: string;
  codeLimit: number;
  hashType: number;
  pageShift: number;
  codeHashes: Buffer[];
}

/** Reads the (first SHA-256) CodeDirectory of a signed Mach-O, for checks. */
export function readCodeDirectory(buf: Buffer): CodeDirectoryInfo {
  const m = parseMachO(buf);
  if (!m.codeSignature) throw new Error('not signed');
  const sb = m.codeSignature.dataoff;
  if (buf.readUInt32BE(sb) !== CSMAGIC_EMBEDDED_SIGNATURE) throw new Error('bad SuperBlob');
  const count = buf.readUInt32BE(sb + 8);
  const found: CodeDirectoryInfo[] = [];
  for (let i = 0; i < count; i++) {
    const off = sb + buf.readUInt32BE(sb + 16 + i * 8);
    if (buf.readUInt32BE(off) !== CSMAGIC_CODEDIRECTORY) continue;
    const hashOffset = buf.readUInt32BE(off + 16);
    const identOffset = buf.readUInt32BE(off + 20);
    const nCodeSlots = buf.readUInt32BE(off + 28);
    const hashSize = buf.readUInt8(off + 36);
    const idEnd = buf.indexOf(0, off + identOffset);
    const codeHashes: Buffer[] = [];
    for (let s = 0; s < nCodeSlots; s++) {
      const at = off + hashOffset + s * hashSize;
      codeHashes.push(Buffer.from(buf.subarray(at, at + hashSize)));
    }
    found.push({
      flags: buf.readUInt32BE(off + 12),
      identifier: buf.subarray(off + identOffset, idEnd).toString('latin1'),
      codeLimit: buf.readUInt32BE(off + 32),
      hashType: buf.readUInt8(off + 37),
      pageShift: buf.readUInt8(off + 39),
      codeHashes,
    });
  }
  const cd = found.find((f) => f.hashType === CS_HASHTYPE_SHA256);
  if (!cd) throw new Error('no SHA-256 CodeDirectory');
  return cd;
}

/** Whether every page hash of the signature matches the file (what the kernel checks). */
export function verifyCodeHashes(buf: Buffer): boolean {
  const cd = readCodeDirectory(buf);
  const page = 1 << cd.pageShift;
  if (cd.codeHashes.length !== Math.ceil(cd.codeLimit / page)) return false;
  return cd.codeHashes.every((h, i) =>
    crypto
      .createHash('sha256')
      .update(buf.subarray(i * page, Math.min((i + 1) * page, cd.codeLimit)))
      .digest()
      .equals(h),
  );
}
