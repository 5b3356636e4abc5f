import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  MIN_STREAM_BYTES,
  nulSeparated,
  parseTreeList,
  splitTree,
  type TreeItem,
} from '../../src/components/files/split.js';
import { checkTarStream } from '../../src/components/files/tar-check.js';
import {
  EXTRACT_SCRIPT,
  LIST_TREE_SCRIPT,
  STAGE_SCRIPT,
  SWAP_SCRIPT,
  TAR_LIST_SCRIPT,
} from '../../src/components/files/pod-scripts.js';
import { seededBytes, tempDir } from '../helpers/tmp.js';

const item = (type: TreeItem['type'], size: number, name: string): TreeItem => ({
  type,
  size,
  path: Buffer.from(name),
});

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

/** What a tree holds, as `find -printf` of type, mode, size, link target and file sha (sorted). */
function treeState(dir: string): string {
  const listing = execFileSync('find', ['.', '-printf', '%y %m %s %Ts %l %p\\n'], { cwd: dir })
    .toString()
    .split('\n')
    .filter(Boolean)
    .sort();
  const sums = execFileSync('sh', ['-c', 'find . -type f -print0 | sort -z | xargs -0 sha256sum'], {
    cwd: dir,
  }).toString();
  return `${listing.join('\n')}\n${sums}`;
}

describe('files: a tree read as several tar streams (--file-streams)', () => {
  it('deals files largest first to the least loaded stream; dirs and symlinks to stream 1', () => {
    const big = MIN_STREAM_BYTES;
    const items = [
      item('d', 4096, 'resources'),
      item('f', 3 * big, 'resources/a'),
      item('l', 3, 'resources/link'),
      item('f', 2 * big, 'resources/b'),
      item('f', 2 * big, 'resources/c'),
      item('d', 4096, 'resources/sub'),
      item('f', big, 'resources/sub/d'),
    ];
    const shares = splitTree(items, 3);
    expect(shares.map((s) => s.names.map(String))).to.deep.equal([
      ['resources', 'resources/link', 'resources/c', 'resources/sub'],
      ['resources/a'],
      ['resources/b', 'resources/sub/d'],
    ]);
    expect(shares.map((s) => s.bytes / big)).to.deep.equal([2, 3, 3]);
  });

  it('uses fewer streams for a small tree, and one when there is a single file', () => {
    const small = [item('d', 0, 'r'), ...[1, 2, 3].map((i) => item('f', 1000, `r/${i}`))];
    expect(splitTree(small, 4)).to.have.length(1);
    const two = [item('d', 0, 'r'), item('f', 2 * MIN_STREAM_BYTES, 'r/x')];
    expect(splitTree(two, 4)).to.have.length(1);
    const many = [
      item('d', 0, 'r'),
      ...[1, 2, 3].map((i) => item('f', MIN_STREAM_BYTES, `r/${i}`)),
    ];
    expect(splitTree(many, 8)).to.have.length(3);
  });

  it('refuses a malformed listing', () => {
    expect(() => parseTreeList(Buffer.from('f 12 a\0x 1 b\0'))).to.throw(/bad record/);
    expect(() => parseTreeList(Buffer.from('f 12 a'))).to.throw(/middle of a record/);
    expect(() => parseTreeList(Buffer.from('f -1 a\0'))).to.throw(/bad size/);
  });

  it('round-trips a real tree through GNU find and tar: streams 2..N then 1, swapped in', async function () {
    this.timeout(60_000);
    const { dir, cleanup } = tempDir();
    try {
      const src = path.join(dir, 'src');
      const tree = path.join(src, 'resources');
      fs.mkdirSync(path.join(tree, 'a b/deep'), { recursive: true });
      fs.mkdirSync(path.join(tree, 'empty'));
      fs.writeFileSync(path.join(tree, 'a b/deep/é\nnewline.bin'), seededBytes(300_000, 1));
      for (let i = 0; i < 40; i++) {
        fs.writeFileSync(path.join(tree, `a b/f-${i}`), seededBytes(1000 + i * 5000, i + 2));
      }
      fs.writeFileSync(path.join(tree, '-starts-with-dash'), 'x');
      fs.symlinkSync('a b/f-3', path.join(tree, 'link'));
      fs.linkSync(path.join(tree, 'a b/f-1'), path.join(tree, 'hard'));
      fs.chmodSync(path.join(tree, 'a b'), 0o750);
      // Old times everywhere: an extraction that left a directory's mtime at "now" shows.
      execFileSync('find', [tree, '-exec', 'touch', '-h', '-d', '2020-01-02 03:04:05', '{}', '+']);

      const listed = spawnSync('sh', ['-c', LIST_TREE_SCRIPT, 'sh', src, 'resources']);
      expect(listed.status, listed.stderr.toString()).to.equal(0);
      const items = parseTreeList(listed.stdout);
      expect(items[0]).to.include({ type: 'd' });
      expect(String(items[0].path)).to.equal('resources');
      // Forced to 3 streams on a small tree: the deal is what matters here.
      const shares = splitTreeForced(items, 3);
      const tars = shares.map((share) => {
        const names = Buffer.concat([...nulSeparated(share.names, 64)]);
        const r = spawnSync('sh', ['-c', TAR_LIST_SCRIPT, 'sh', src], {
          input: names,
          maxBuffer: 1 << 26,
        });
        expect(r.status, r.stderr.toString()).to.equal(0);
        return r.stdout;
      });
      for (const [i, tar] of tars.entries()) {
        const checked = await checkTarStream(once(tar), 'resources');
        if (i > 0) expect(checked.symlinks).to.equal(0);
      }
      const dst = path.join(dir, 'dst');
      fs.mkdirSync(path.join(dst, 'resources'), { recursive: true });
      fs.writeFileSync(path.join(dst, 'resources/old'), 'replaced');
      const run = (script: string, args: string[], input?: Buffer) => {
        const r = spawnSync('sh', ['-c', script, 'sh', dst, ...args], { input });
        expect(r.status, r.stderr.toString()).to.equal(0);
      };
      run(STAGE_SCRIPT, ['resources']);
      for (const tar of [...tars.slice(1), tars[0]])
        run(EXTRACT_SCRIPT, ['resources', '', 'keep'], tar);
      run(SWAP_SCRIPT, ['resources']);
      expect(treeState(path.join(dst, 'resources'))).to.equal(treeState(tree));
      expect(fs.readdirSync(dst)).to.deep.equal(['resources']);
    } finally {
      cleanup();
    }
  });
});

/** splitTree without its size floor: scales sizes up so that `n` streams are used. */
function splitTreeForced(items: TreeItem[], n: number) {
  const scaled = items.map((i) => ({
    ...i,
    size: i.type === 'f' ? i.size * MIN_STREAM_BYTES : i.size,
  }));
  const shares = splitTree(scaled, n);
  expect(shares).to.have.length(n);
  return shares;
}
