import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Header, Pax } from 'tar';
import { TarEndCheck } from '../../src/components/files/tar-end.js';
import {
  STAGING_PREFIX,
  SWAP_SCRIPT,
  TAR_CREATE_SCRIPT,
} from '../../src/components/files/pod-scripts.js';
import { tarOf } from '../helpers/files-tar.js';
import { seededBytes, tempDir } from '../helpers/tmp.js';

function check(buf: Buffer, chunk = 4096): string | undefined {
  const c = new TarEndCheck();
  for (let i = 0; i < buf.length; i += chunk) c.see(buf.subarray(i, i + chunk));
  return c.problem();
}

describe('files: a tar stream cut short is told from a whole one (TarEndCheck)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let tree: string;
  before(() => {
    tmp = tempDir();
    tree = path.join(tmp.dir, 'data');
    const r = path.join(tree, 'resources');
    fs.mkdirSync(path.join(r, 'sub', 'empty'), { recursive: true });
    fs.writeFileSync(path.join(r, 'small.txt'), 'hello');
    fs.writeFileSync(path.join(r, 'empty.bin'), '');
    fs.writeFileSync(path.join(r, 'sub', 'blob.bin'), seededBytes(70_003, 3));
    fs.writeFileSync(path.join(r, 'sub', 'zeros.bin'), Buffer.alloc(9 * 512));
    fs.writeFileSync(path.join(r, `${'long-name-'.repeat(15)}.txt`), 'a name over 100 bytes');
    fs.symlinkSync('small.txt', path.join(r, 'link'));
    fs.linkSync(path.join(r, 'small.txt'), path.join(r, 'hard'));
    const sparse = path.join(r, 'sparse.img');
    fs.writeFileSync(sparse, 'head');
    fs.truncateSync(sparse, 3 * 1024 * 1024);
    fs.appendFileSync(sparse, 'tail');
  });
  after(() => tmp.cleanup());

  // GNU tar as a backup runs it (pax, sparse) and in its default format; one 512-byte record
  // (-b 1) so that the two zero blocks are the last bytes, else the default 10 KiB records.
  const tars = (blocking: string[]) => ({
    'the backup script (GNU tar, pax, sparse)': execFileSync(
      'sh',
      [
        '-c',
        TAR_CREATE_SCRIPT.replace(/-cf -/g, `${blocking.join(' ')} -cf -`),
        'sh',
        tree,
        'resources',
      ],
      { maxBuffer: 1 << 26 },
    ),
    'GNU tar, gnu format': execFileSync('tar', [...blocking, '-cf', '-', '-C', tree, 'resources'], {
      maxBuffer: 1 << 26,
    }),
  });

  it('a whole stream passes, however it is chunked, with or without the last record padded', () => {
    for (const [name, buf] of [
      ...Object.entries(tars([])),
      ...Object.entries(tars(['-b', '1'])),
      ['node-tar', tarOf([{ path: 'resources/a', data: 'x'.repeat(1000) }])] as const,
    ]) {
      for (const chunk of [1, 7, 511, 512, 513, 65536]) {
        expect(check(buf as Buffer, chunk), `${name}, chunks of ${chunk}`).to.equal(undefined);
      }
    }
  });

  it('every cut before the end-of-archive blocks is found, at a block boundary or not', () => {
    for (const [name, buf] of Object.entries(tars(['-b', '1']))) {
      const cuts: number[] = [];
      for (let at = 0; at < buf.length; at += 512) cuts.push(at, at + 1, at + 511);
      for (const at of cuts.filter((n) => n < buf.length)) {
        expect(check(buf.subarray(0, at)), `${name} cut at ${at} of ${buf.length}`).to.be.a(
          'string',
        );
      }
    }
  });

  it('names where it stopped: inside a member, without the end blocks, empty', () => {
    const buf = tars(['-b', '1'])['GNU tar, gnu format'];
    expect(check(buf.subarray(0, buf.length - 1024))).to.match(
      /ends without its end-of-archive blocks/,
    );
    expect(check(buf.subarray(0, buf.length - 512))).to.match(
      /ends without its end-of-archive blocks/,
    );
    expect(check(buf.subarray(0, 600))).to.match(/ends inside member "resources\//);
    expect(check(Buffer.alloc(0))).to.equal('the tar stream is empty');
  });

  it('garbage, and bytes after the end, are not a whole tar', () => {
    const buf = tars(['-b', '1'])['GNU tar, gnu format'];
    expect(check(seededBytes(8192, 1))).to.match(/not a tar header where one should be/);
    expect(check(Buffer.concat([buf, Buffer.from('x')]))).to.match(/bytes follow the end/);
    const shifted = Buffer.concat([buf.subarray(0, 512 + 100), buf.subarray(512 + 300)]);
    expect(check(shifted)).to.be.a('string');
  });

  it("a pax size= record gives the next member's size (files over 8 GiB)", () => {
    const data = seededBytes(600, 5);
    const pax = new Pax({ path: 'resources/big.bin', size: data.length }).encode();
    const header = Buffer.alloc(512);
    new Header({ path: 'resources/big.bin', type: 'File', size: 0, mode: 0o644 }).encode(header);
    const padded = Buffer.concat([data, Buffer.alloc(1024 - data.length)]);
    const stream = Buffer.concat([pax, header, padded, Buffer.alloc(1024)]);
    expect(check(stream, 100)).to.equal(undefined);
    expect(check(stream.subarray(0, stream.length - 1024 - 200))).to.match(/ends inside member/);
  });
});

describe('files: a tree extracted short is not swapped in (SWAP_SCRIPT)', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  /** The staging directory of an extraction: resources/, "a\nb", sub/, sub/c. */
  function staged(): void {
    const s = path.join(tmp.dir, `${STAGING_PREFIX}resources`, 'resources');
    fs.mkdirSync(path.join(s, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(s, 'a\nb'), 'newline in its name');
    fs.writeFileSync(path.join(s, 'sub', 'c'), 'c');
    fs.mkdirSync(path.join(tmp.dir, 'resources'));
    fs.writeFileSync(path.join(tmp.dir, 'resources', 'old'), 'the old tree');
  }
  const swap = (expected: string) =>
    spawnSync('sh', ['-c', SWAP_SCRIPT, 'sh', tmp.dir, 'resources', expected], {
      encoding: 'utf8',
    });

  it('as many entries as the archive holds: swapped in (a name with a newline counts once)', () => {
    staged();
    const r = swap('4');
    expect(r.status, r.stderr).to.equal(0);
    expect(fs.readdirSync(path.join(tmp.dir, 'resources')).sort()).to.deep.equal(['a\nb', 'sub']);
  });

  it('fewer: refused, the old tree left as it was', () => {
    staged();
    const r = swap('5');
    expect(r.status).to.equal(4);
    expect(r.stderr).to.match(
      /the extracted tree holds 4 entries, the archive 5: the stream into tar was cut short/,
    );
    expect(fs.readdirSync(path.join(tmp.dir, 'resources'))).to.deep.equal(['old']);
  });
});
