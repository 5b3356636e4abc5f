import { expect } from 'chai';
import { TreeHeaderChecks } from '../../src/components/files/precheck.js';
import { UnsafeEntryError } from '../../src/components/files/tar-check.js';
import { tarOf } from '../helpers/files-tar.js';

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const TREE = 'data/files/app/quickstart/main/resources.tar';

/** Feeds `tar` to the checks as the verifying pass does: as parts, other members between. */
async function feed(checks: TreeHeaderChecks, path: string, tar: Buffer): Promise<void> {
  const half = Math.floor(tar.length / 2);
  await checks.visit(path, pieces(tar.subarray(0, half), 300));
  await checks.visit('data/databases/app/quickstart/portdb.sql', pieces(Buffer.from('x'), 1));
  await checks.visit(path, pieces(tar.subarray(half), 300));
}

describe('files: tar headers checked by the verifying pass', () => {
  it('checks a tree split in parts, against the directory its entry path names', async () => {
    const checks = new TreeHeaderChecks();
    const tar = tarOf([
      { path: 'resources/', type: 'Directory' },
      { path: 'resources/a.txt', data: 'hello' },
      { path: 'resources/b.txt', data: 'x'.repeat(2000) },
    ]);
    await feed(checks, TREE, tar);
    const found = await checks.finish();
    expect([...found.keys()]).to.deep.equal([TREE]);
    expect(found.get(TREE)).to.deep.include({ root: 'resources' });
    expect(found.get(TREE)!.result).to.include({ files: 2, dirs: 1, bytes: 2005 });
  });

  it('checks each stream of a split tree (backup --file-streams) against the same directory', async () => {
    const checks = new TreeHeaderChecks();
    const second = 'data/files/app/quickstart/main/resources.stream-2.tar';
    await feed(checks, second, tarOf([{ path: 'resources/big.bin', data: 'z'.repeat(5000) }]));
    const outcome = (await checks.finish()).get(second)!;
    expect(outcome.root).to.equal('resources');
    expect(outcome.result).to.include({ files: 1, symlinks: 0, bytes: 5000 });
  });

  it('keeps the refusal of an unsafe tree for the files step', async () => {
    const checks = new TreeHeaderChecks();
    const tar = tarOf([
      { path: 'resources/', type: 'Directory' },
      { path: 'resources/link', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'resources/after.txt', data: 'y'.repeat(3000) },
    ]);
    await feed(checks, TREE, tar);
    const outcome = (await checks.finish()).get(TREE)!;
    expect(outcome.result).to.equal(undefined);
    expect(outcome.error).to.be.instanceOf(UnsafeEntryError);
    expect((outcome.error as UnsafeEntryError).kind).to.equal('symlink-absolute');
  });

  it('leaves other members alone (false: the caller reads them)', async () => {
    const checks = new TreeHeaderChecks();
    const secret = await checks.visit(
      'resources/Secret.core/ns/s.json',
      pieces(Buffer.from('{}'), 1),
    );
    const other = await checks.visit('data/files/app/x/main/p.tar.bak', pieces(Buffer.alloc(0), 1));
    expect([secret, other]).to.deep.equal([false, false]);
    expect((await checks.finish()).size).to.equal(0);
  });
});
