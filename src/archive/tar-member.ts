import { Header, Pax } from 'tar';

const BLOCK = 512;
/** ustar holds a name up to 100 bytes (more with the prefix field); beyond, a pax header. */
const USTAR_SAFE_NAME = 99;

/** The header block(s) of one regular-file member: pax first when the path is long. */
export function memberHeader(path: string, size: number, mtime: Date): Buffer {
  const fields = { path, size, mode: 0o600, mtime, uid: 0, gid: 0, type: 'File' as const };
  const blocks: Buffer[] = [];
  if (Buffer.byteLength(path) > USTAR_SAFE_NAME) blocks.push(new Pax(fields).encode());
  const header = new Header({ ...fields, path: path.slice(0, USTAR_SAFE_NAME) });
  header.encode();
  blocks.push(header.block as Buffer);
  return Buffer.concat(blocks);
}

/** Zero bytes that pad a member's data to a whole block. */
export function memberPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Two zero blocks end a tar archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
