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
  /** Raw pax records (any keys, e.g. GNU.sparse.*) in an extended header before this entry. */
  paxRecords?: Record<string, string>;
}

/** One pax record: "<length> key=value\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${len}${body}`;
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
    if (e.paxRecords) {
      const body = Buffer.from(
        Object.entries(e.paxRecords)
          .map(([k, v]) => paxRecord(k, v))
          .join(''),
      );
      const h = new Header({ path: 'PaxHeaders/x', type: 'ExtendedHeader', size: body.length });
      h.encode();
      blocks.push(h.block as Buffer, ...pad(body));
    }
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
