import { Header, Pax } from 'tar';

type EntryType =
  | 'File'
  | 'Directory'
  | 'SymbolicLink'
  | 'Link'
  | 'CharacterDevice'
  | 'BlockDevice'
  | 'FIFO'
  | 'SparseFile'
  | 'NextFileHasLongPath';

export interface Entry {
  path: string;
  type?: EntryType;
  linkpath?: string;
  data?: string;
  /** A pax extended header (path/linkpath override) before this entry. */
  pax?: { path?: string; linkpath?: string };
  /** A pax global header before this entry. */
  globalPax?: { path?: string };
}

function pad(data: Buffer): Buffer[] {
  return [data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

/** A tar stream built in memory, entry by entry, like the hostile archives of the advisories. */
export function tarOf(entries: Entry[], opts: { end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    if (e.globalPax) blocks.push(new Pax({ ...e.globalPax }, true).encode());
    if (e.pax) blocks.push(new Pax({ ...e.pax }).encode());
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'File';
    const withData = type === 'File' || type === 'NextFileHasLongPath';
    const header = new Header({
      path: e.path,
      type,
      linkpath: e.linkpath,
      size: withData ? data.length : 0,
      mode: 0o644,
      mtime: new Date(0),
    });
    header.encode();
    blocks.push(header.block as Buffer);
    if (withData && data.length) blocks.push(...pad(data));
  }
  if (opts.end !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
