import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  adhocSign,
  CS_ADHOC,
  CS_LINKER_SIGNED,
  parseMachO,
  readCodeDirectory,
  removeSignature,
  verifyCodeHashes,
} from '../../src/release/macho.js';
import { nodeBinary } from '../../src/release/node-dist.js';
import { TARGETS } from '../../src/release/targets.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

function goTool(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/go/bin']) {
    if (fs.existsSync(path.join(dir, 'go'))) return path.join(dir, 'go');
  }
  return undefined;
}

describe('release: ad-hoc Mach-O signing (no codesign on Linux)', function () {
  this.timeout(5 * 60_000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => {
    tmp = tempDir('ke-macho-');
  });
  after(() => tmp?.cleanup());

  it("recomputes the page hashes of Node's Apple-signed macOS binaries exactly", async () => {
    for (const t of TARGETS.filter((x) => x.os === 'darwin')) {
      const b = fs.readFileSync(await nodeBinary(t.nodePackage, t.nodeVersion));
      const cd = readCodeDirectory(b);
      expect(cd.codeLimit).to.equal(parseMachO(b).codeSignature!.dataoff);
      expect(verifyCodeHashes(b), `${t.nodePackage}@${t.nodeVersion}`).to.equal(true);
      const unsigned = removeSignature(b);
      expect(parseMachO(unsigned).codeSignature).to.equal(undefined);
      expect(unsigned.length).to.equal(cd.codeLimit);
      const signed = adhocSign(unsigned, { identifier: 'node' });
      expect(verifyCodeHashes(signed)).to.equal(true);
      expect(readCodeDirectory(signed).flags).to.equal(CS_ADHOC);
    }
  });

  it("writes the signature Go's linker writes, byte for byte (Go signs its darwin/arm64 binaries)", async function () {
    const go = goTool();
    if (!go) this.skip();
    const src = path.join(tmp.dir, 'hello');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'go.mod'), 'module hello\n\ngo 1.22\n');
    fs.writeFileSync(
      path.join(src, 'main.go'),
      'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n',
    );
    for (const arch of ['arm64']) {
      const exe = path.join(tmp.dir, `hello-${arch}`);
      await run(go!, ['build', '-o', exe, '.'], {
        cwd: src,
        env: {
          ...process.env,
          GOOS: 'darwin',
          GOARCH: arch,
          CGO_ENABLED: '0',
          GOFLAGS: '-mod=mod',
        },
      });
      const linked = fs.readFileSync(exe);
      const cd = readCodeDirectory(linked);
      expect(cd.flags).to.equal(CS_ADHOC | CS_LINKER_SIGNED);
      const opts = { identifier: cd.identifier, flags: CS_ADHOC | CS_LINKER_SIGNED };
      expect(adhocSign(linked, opts).equals(linked), `${arch}: re-signed`).to.equal(true);
      expect(
        adhocSign(removeSignature(linked), opts).equals(linked),
        `${arch}: stripped and signed`,
      ).to.equal(true);
    }
  });
});
