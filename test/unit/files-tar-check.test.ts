import { expect } from 'chai';
import { Header } from 'tar';
import { checkTarStream, UnsafeEntryError } from '../../src/components/files/tar-check.js';

interface Entry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice';
  linkpath?: string;
  data?: string;
}

/** A tar stream built in memory, entry by entry, like the hostile archives of the advisories. */
function tarOf(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'File';
    const header = new Header({
      path: e.path,
      type,
      linkpath: e.linkpath,
      size: type === 'File' ? data.length : 0,
      mode: 0o644,
      mtime: new Date(0),
    });
    header.encode();
    blocks.push(header.block as Buffer);
    if (type === 'File' && data.length) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function* stream(buf: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += 700) yield buf.subarray(i, i + 700);
}

describe('files: every tar header is checked before extraction', () => {
  it('accepts an ordinary tree with a symlink inside it', async () => {
    const result = await checkTarStream(
      stream(
        tarOf([
          { path: 'resources/', type: 'Directory' },
          { path: 'resources/a b/é.txt', data: 'hello' },
          { path: 'resources/link', type: 'SymbolicLink', linkpath: 'a b/é.txt' },
          { path: 'resources/empty/', type: 'Directory' },
        ]),
      ),
      'resources',
    );
    expect(result).to.include({ files: 1, dirs: 2, symlinks: 1, bytes: 5 });
  });

  const hostile: { name: string; entries: Entry[]; kind: string }[] = [
    { name: 'absolute path', entries: [{ path: '/etc/passwd', data: 'x' }], kind: 'absolute-path' },
    {
      name: 'parent traversal (zip-slip)',
      entries: [{ path: 'resources/../../evil', data: 'x' }],
      kind: 'parent-traversal',
    },
    {
      name: 'entry outside the archived directory',
      entries: [{ path: 'protected/x', data: 'x' }],
      kind: 'outside-root',
    },
    {
      name: 'absolute symlink',
      entries: [{ path: 'resources/l', type: 'SymbolicLink', linkpath: '/etc' }],
      kind: 'symlink-absolute',
    },
    {
      name: 'symlink escaping the volume',
      entries: [{ path: 'resources/l', type: 'SymbolicLink', linkpath: '../../../etc' }],
      kind: 'symlink-escape',
    },
    {
      name: 'CVE-2021-32803-style: a symlink, then a file written through it',
      entries: [
        { path: 'resources/d', type: 'SymbolicLink', linkpath: '.' },
        { path: 'resources/d/x', data: 'x' },
      ],
      kind: 'through-link',
    },
    {
      name: 'hard link to a file outside the stream',
      entries: [{ path: 'resources/h', type: 'Link', linkpath: 'etc/shadow' }],
      kind: 'hardlink-escape',
    },
    {
      name: 'device node',
      entries: [{ path: 'resources/dev', type: 'CharacterDevice' }],
      kind: 'unsupported-type',
    },
  ];
  for (const h of hostile) {
    it(`refuses: ${h.name}`, async () => {
      const err = await checkTarStream(stream(tarOf(h.entries)), 'resources').catch((e) => e);
      expect(err, String(err)).to.be.instanceOf(UnsafeEntryError);
      expect(err.kind).to.equal(h.kind);
    });
  }
});
