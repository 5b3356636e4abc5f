import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkTarStream, UnsafeEntryError } from '../../src/components/files/tar-check.js';
import { tarOf, type Entry } from '../helpers/files-tar.js';
import { TAR_CREATE_SCRIPT } from '../../src/components/files/pod-scripts.js';
import { tempDir } from '../helpers/tmp.js';

async function* stream(buf: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += 700) yield buf.subarray(i, i + 700);
}

const root = { path: 'resources/', type: 'Directory' as const };

describe('files: every tar header is checked before extraction', () => {
  it('accepts an ordinary tree: unicode, spaces, empty dirs, symlinks inside, a hard link', async () => {
    const result = await checkTarStream(
      stream(
        tarOf([
          root,
          { path: 'resources/a b/', type: 'Directory' },
          { path: 'resources/a b/é.txt', data: 'hello' },
          { path: 'resources/link', type: 'SymbolicLink', linkpath: 'a b/é.txt' },
          { path: 'resources/up', type: 'SymbolicLink', linkpath: '../protected/cms' },
          { path: 'resources/dangling', type: 'SymbolicLink', linkpath: 'does/not/exist' },
          { path: 'resources/hard', type: 'Link', linkpath: 'resources/a b/é.txt' },
          { path: 'resources/empty/', type: 'Directory' },
          { path: 'resources/日本語 🎉/', type: 'Directory' },
        ]),
      ),
      'resources',
    );
    expect(result).to.include({ files: 1, dirs: 4, symlinks: 3, hardlinks: 1, bytes: 5 });
  });

  it('accepts a pax path longer than 100 bytes and a GNU long name', async () => {
    const long = `resources/${'long-name-'.repeat(25)}end.txt`;
    const result = await checkTarStream(
      stream(
        tarOf([
          root,
          { path: 'resources/x', pax: { path: long }, data: 'a' },
          { path: '././@LongLink', type: 'NextFileHasLongPath', data: `${long}2\0` },
          { path: 'resources/y', data: 'b' },
        ]),
      ),
      'resources',
    );
    expect(result).to.include({ files: 2, bytes: 2 });
  });

  it('accepts what GNU tar writes for the fixture kinds of files', async function () {
    const tmp = tempDir();
    try {
      const r = path.join(tmp.dir, 'protected');
      fs.mkdirSync(path.join(r, 'deep/a/b/c'), { recursive: true });
      fs.mkdirSync(path.join(r, 'empty dir'));
      fs.writeFileSync(path.join(r, 'it\'s "quoted" & $x.txt'), 'q');
      fs.writeFileSync(path.join(r, ` ${'n'.repeat(200)} `), 'long');
      fs.writeFileSync(path.join(r, '-dash'), '');
      fs.linkSync(path.join(r, '-dash'), path.join(r, 'hard'));
      fs.symlinkSync('../resources/cms/documents', path.join(r, 'public-documents'));
      fs.symlinkSync('deep/a', path.join(r, 'to-a'));
      const tar = execFileSync('tar', ['-cf', '-', '-C', tmp.dir, 'protected'], {
        maxBuffer: 1 << 26,
      });
      const result = await checkTarStream(stream(tar), 'protected');
      expect(result).to.include({ files: 3, symlinks: 2, hardlinks: 1 });
    } finally {
      tmp.cleanup();
    }
  });

  const hostile: { name: string; entries: Entry[]; kind: string; raw?: Buffer }[] = [
    {
      name: 'absolute path',
      entries: [root, { path: '/etc/passwd', data: 'x' }],
      kind: 'absolute-path',
    },
    {
      name: 'CVE-2021-32804-style: absolute path with repeated slashes',
      entries: [root, { path: '////etc/passwd', data: 'x' }],
      kind: 'absolute-path',
    },
    {
      name: 'zip-slip: ../evil at the top',
      entries: [{ path: '../evil', data: 'x' }],
      kind: 'parent-traversal',
    },
    {
      name: 'zip-slip: .. in the middle of a path',
      entries: [root, { path: 'resources/../../evil', data: 'x' }],
      kind: 'parent-traversal',
    },
    {
      name: 'pax header overriding a harmless path with ../evil',
      entries: [root, { path: 'resources/ok', pax: { path: '../evil' }, data: 'x' }],
      kind: 'parent-traversal',
    },
    {
      name: 'pax global header with a path for every later entry (extractors disagree)',
      entries: [root, { path: 'resources/ok', globalPax: { path: '/etc/cron.d/x' }, data: 'x' }],
      kind: 'unsupported-type',
    },
    {
      name: 'GNU long name with ../',
      entries: [
        root,
        { path: '././@LongLink', type: 'NextFileHasLongPath', data: '../../evil\0' },
        { path: 'resources/ok', data: 'x' },
      ],
      kind: 'parent-traversal',
    },
    {
      name: 'entry outside the archived directory (resources.tar writing databases/)',
      entries: [root, { path: 'databases/x', data: 'x' }],
      kind: 'outside-root',
    },
    {
      name: 'the archived directory itself replaced by a symlink',
      entries: [{ path: 'resources', type: 'SymbolicLink', linkpath: '..' }],
      kind: 'root-not-directory',
    },
    {
      name: 'absolute symlink',
      entries: [root, { path: 'resources/l', type: 'SymbolicLink', linkpath: '/etc' }],
      kind: 'symlink-absolute',
    },
    {
      name: 'relative symlink escaping the volume',
      entries: [root, { path: 'resources/l', type: 'SymbolicLink', linkpath: '../../../etc' }],
      kind: 'symlink-escape',
    },
    {
      name: 'symlink chain: a/../.. climbs out through a link named a',
      entries: [
        root,
        { path: 'resources/a', type: 'SymbolicLink', linkpath: '..' },
        { path: 'resources/b', type: 'SymbolicLink', linkpath: 'a/../..' },
      ],
      kind: 'symlink-escape',
    },
    {
      name: 'CVE-2021-32803-style symlink then file: a symlink, then a file written through it',
      entries: [
        root,
        { path: 'resources/d', type: 'SymbolicLink', linkpath: '.' },
        { path: 'resources/d/x', data: 'x' },
      ],
      kind: 'through-link',
    },
    {
      name: 'CVE-2021-32803-style: a directory, replaced by a symlink, then a file through it',
      entries: [
        root,
        { path: 'resources/d/', type: 'Directory' },
        { path: 'resources/d', type: 'SymbolicLink', linkpath: '../protected' },
        { path: 'resources/d/x', data: 'x' },
      ],
      kind: 'through-link',
    },
    {
      name: 'CVE-2021-37712-style: case and unicode folding of a symlink name',
      entries: [
        root,
        { path: 'resources/Café', type: 'SymbolicLink', linkpath: '../protected' },
        { path: 'resources/cafe\u0301/x', data: 'x' },
      ],
      kind: 'through-link',
    },
    {
      name: 'a symlink redefined as a file (write through the link at extraction)',
      entries: [
        root,
        { path: 'resources/l', type: 'SymbolicLink', linkpath: '../protected/x' },
        { path: 'resources/l', data: 'x' },
      ],
      kind: 'link-redefined',
    },
    {
      name: 'hard link to a file outside the stream',
      entries: [root, { path: 'resources/h', type: 'Link', linkpath: 'etc/shadow' }],
      kind: 'hardlink-escape',
    },
    {
      name: 'hard link with an absolute target',
      entries: [root, { path: 'resources/h', type: 'Link', linkpath: '/etc/shadow' }],
      kind: 'hardlink-escape',
    },
    {
      name: 'hard link with .. in its target',
      entries: [
        root,
        { path: 'resources/f', data: 'x' },
        { path: 'resources/h', type: 'Link', linkpath: 'resources/../resources/f' },
      ],
      kind: 'hardlink-escape',
    },
    {
      name: 'device node',
      entries: [root, { path: 'resources/dev', type: 'CharacterDevice' }],
      kind: 'unsupported-type',
    },
    {
      name: 'block device',
      entries: [root, { path: 'resources/sda', type: 'BlockDevice' }],
      kind: 'unsupported-type',
    },
    {
      name: 'FIFO',
      entries: [root, { path: 'resources/fifo', type: 'FIFO' }],
      kind: 'unsupported-type',
    },
    { name: 'empty stream', entries: [], kind: 'invalid-tar', raw: Buffer.alloc(0) },
    {
      name: 'not a tar at all',
      entries: [],
      kind: 'invalid-tar',
      raw: Buffer.from('<html>502 Bad Gateway</html>'.padEnd(2048, ' ')),
    },
  ];
  for (const h of hostile) {
    it(`refuses: ${h.name}`, async () => {
      const err = await checkTarStream(stream(h.raw ?? tarOf(h.entries)), 'resources').catch(
        (e) => e,
      );
      expect(err, String(err)).to.be.instanceOf(UnsafeEntryError);
      expect(err.kind, err.message).to.equal(h.kind);
    });
  }

  it('refuses a stream cut in the middle of a file', async () => {
    const whole = tarOf([root, { path: 'resources/f', data: 'x'.repeat(5000) }], { end: false });
    const err = await checkTarStream(stream(whole.subarray(0, 2048)), 'resources').catch((e) => e);
    expect(err, String(err)).to.be.instanceOf(UnsafeEntryError);
    expect(err.kind).to.equal('invalid-tar');
  });

  describe('sparse files (GNU tar --sparse --format=posix, format 1.0)', () => {
    const sparse = (name: string, extra: Record<string, string> = {}) => ({
      path: 'resources/GNUSparseFile.1/big',
      paxRecords: {
        'GNU.sparse.major': '1',
        'GNU.sparse.minor': '0',
        'GNU.sparse.name': name,
        'GNU.sparse.realsize': '1073741824',
        ...extra,
      },
      data: '1\n0\n4096\n',
    });

    it('accepts what GNU tar writes for a 1 GiB file with 4 KiB allocated, counting its real size', async function () {
      const tmp = tempDir();
      try {
        const r = path.join(tmp.dir, 'resources');
        fs.mkdirSync(r);
        fs.writeFileSync(path.join(r, 'small'), 'abc');
        const fd = fs.openSync(path.join(r, 'big'), 'w');
        fs.writeSync(fd, 'x', 500_000_000);
        fs.ftruncateSync(fd, 1 << 30);
        fs.closeSync(fd);
        const tar = execFileSync('sh', ['-c', TAR_CREATE_SCRIPT, 'sh', tmp.dir, 'resources'], {
          maxBuffer: 64 << 20,
        });
        expect(tar.length).to.be.below(1 << 20);
        const result = await checkTarStream(stream(tar), 'resources');
        expect(result).to.include({ files: 2, sparse: 1, bytes: (1 << 30) + 3 });
      } finally {
        tmp.cleanup();
      }
    });

    it('checks the name GNU tar extracts to, not the placeholder in the header', async () => {
      const err = await checkTarStream(
        stream(tarOf([root, sparse('resources/../../etc/x')])),
        'resources',
      ).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UnsafeEntryError);
      expect((err as UnsafeEntryError).kind).to.equal('parent-traversal');
    });

    it('refuses a sparse file written through a link of an earlier entry', async () => {
      const err = await checkTarStream(
        stream(
          tarOf([
            root,
            { path: 'resources/l', type: 'SymbolicLink', linkpath: '..' },
            sparse('resources/l/evil'),
          ]),
        ),
        'resources',
      ).catch((e: unknown) => e);
      expect((err as UnsafeEntryError).kind).to.equal('through-link');
    });

    it('refuses older sparse formats (0.x), which extractors read differently', async () => {
      const err = await checkTarStream(
        stream(
          tarOf([
            root,
            sparse('resources/big', { 'GNU.sparse.major': '0', 'GNU.sparse.minor': '1' }),
          ]),
        ),
        'resources',
      ).catch((e: unknown) => e);
      expect((err as UnsafeEntryError).kind).to.equal('unsupported-type');
    });
  });
});
