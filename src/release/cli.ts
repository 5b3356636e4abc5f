import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TOOL } from '../version.js';
import { sha256File, writeTarGz, writeZip } from './archive.js';
import { bundle } from './bundle.js';
import { checkRelease, krewTools, type CheckResult } from './krew-check.js';
import { adhocSign, CS_ADHOC, CS_LINKER_SIGNED, removeSignature } from './macho.js';
import { readReleaseConfig, renderManifest } from './manifest.js';
import { cacheDir, nodeBinary } from './node-dist.js';
import { injectBlob, seaBlob } from './sea.js';
import {
  archiveName,
  binaryName,
  blobGenerator,
  blobName,
  findTarget,
  TARGETS,
  targetName,
  type Target,
  usesStartupSnapshot,
} from './targets.js';

export interface ReleaseOptions {
  root: string;
  out: string;
  targets: readonly Target[];
  log?: (line: string) => void;
}

export interface BuiltTarget {
  target: Target;
  binary: string;
  archive: string;
  sha256: string;
  binarySize: number;
  archiveSize: number;
}

export interface ReleaseResult {
  version: string;
  manifest: string;
  built: BuiltTarget[];
  /** What Krew checked (krew-check.ts): no problems, the archives it installed. */
  check: CheckResult;
}

/**
 * Builds the release into `out`: one bundle, one SEA blob per Node version, per platform the
 * executable (build/<os>_<arch>/) and its archive with LICENSE, plugin.yaml rendered from
 * krew/plugin.yaml.tmpl with the archives' sha256, SHA256SUMS and RELEASE_NOTES.md; then checks
 * it all with Krew itself (validate-krew-manifest, and `krew install --archive` of every
 * platform; built from the Go module proxy once, see krew-check.ts).
 */
export async function release(opts: ReleaseOptions): Promise<ReleaseResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { root, out } = opts;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  if (pkg.version !== TOOL.version) {
    throw new Error(`package.json version ${pkg.version} != src/version.ts ${TOOL.version}`);
  }
  const version = pkg.version;
  const build = path.join(out, 'build');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(build, { recursive: true });
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    log(`release: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return r;
  };

  const main = path.join(build, 'kubectl-entando.cjs');
  await step('bundled the CLI with esbuild', () => bundle(root, main));
  const blobs = new Map<string, string>();
  for (const t of opts.targets) {
    const name = blobName(t);
    if (blobs.has(name)) continue;
    const gen = blobGenerator(t.nodeVersion);
    const node = await step(`Node ${gen.nodePackage}@${gen.nodeVersion} (blob generator)`, () =>
      nodeBinary(gen.nodePackage, gen.nodeVersion),
    );
    const blob = path.join(build, name);
    const snapshot = usesStartupSnapshot(t);
    await step(
      `SEA blob for Node ${t.nodeVersion}${snapshot ? ' with a startup snapshot' : ''}`,
      () => seaBlob(node, main, blob, snapshot ? 'snapshot' : 'portable'),
    );
    blobs.set(name, blob);
  }

  const license = path.join(root, 'LICENSE');
  const built: BuiltTarget[] = [];
  for (const t of opts.targets) {
    const name = targetName(t);
    const node = await step(`Node ${t.nodePackage}@${t.nodeVersion} for ${name}`, () =>
      nodeBinary(t.nodePackage, t.nodeVersion),
    );
    const dir = path.join(build, `${t.os}_${t.arch}`);
    fs.mkdirSync(dir, { recursive: true });
    const binary = path.join(dir, binaryName(t));
    const macho = t.os === 'darwin';
    // Node's macOS binary is Apple-signed; the signature is removed before injection (as
    // `codesign --remove-signature` would) and an ad-hoc one written after.
    fs.writeFileSync(
      binary,
      macho ? removeSignature(fs.readFileSync(node)) : fs.readFileSync(node),
    );
    fs.chmodSync(binary, 0o755);
    await step(`injected the blob into ${name}`, () =>
      injectBlob(binary, blobs.get(blobName(t))!, macho),
    );
    if (macho) {
      fs.writeFileSync(
        binary,
        adhocSign(fs.readFileSync(binary), {
          identifier: 'kubectl-entando',
          flags: CS_ADHOC | CS_LINKER_SIGNED,
        }),
      );
    }
    const archive = path.join(out, archiveName(t));
    const files = [
      { name: binaryName(t), source: binary, mode: 0o755 },
      { name: 'LICENSE', source: license, mode: 0o644 },
    ];
    await step(`archived ${path.basename(archive)}`, async () =>
      t.os === 'windows' ? writeZip(archive, files) : writeTarGz(archive, files),
    );
    built.push({
      target: t,
      binary,
      archive,
      sha256: sha256File(archive),
      binarySize: fs.statSync(binary).size,
      archiveSize: fs.statSync(archive).size,
    });
  }

  const config = readReleaseConfig(root);
  const template = fs.readFileSync(path.join(root, 'krew/plugin.yaml.tmpl'), 'utf8');
  const sums = new Map(built.map((b) => [targetName(b.target), b.sha256]));
  const manifest = path.join(out, 'plugin.yaml');
  fs.writeFileSync(manifest, renderManifest(template, version, config, TARGETS, sums));
  fs.writeFileSync(
    path.join(out, 'SHA256SUMS'),
    built.map((b) => `${b.sha256}  ${path.basename(b.archive)}\n`).join(''),
  );
  fs.copyFileSync(path.join(root, 'krew/RELEASE_NOTES.md'), path.join(out, 'RELEASE_NOTES.md'));
  const tools = await step('Krew (scripts/krew-tools)', () => krewTools(root));
  const check = await step('checked with validate-krew-manifest and krew install', () =>
    checkRelease(manifest, out, tools),
  );
  if (check.problems.length > 0) {
    throw new Error(`the release fails the Krew checks:\n  ${check.problems.join('\n  ')}`);
  }
  if (built.length < TARGETS.length) {
    log(
      `release: partial release: plugin.yaml lists ${built.map((b) => targetName(b.target)).join(', ')} only`,
    );
  }
  return { version, manifest, built, check };
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      platforms: { type: 'string', short: 'p' },
      out: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      `Usage: npm run release [-- --platforms linux/amd64,darwin/arm64] [--out release]\n` +
        `Platforms: ${TARGETS.map(targetName).join(', ')} (default: all).\n` +
        `Node binaries are cached in ${cacheDir()}.\n`,
    );
    return 0;
  }
  const root = path.resolve(import.meta.dirname, '../../..');
  const targets = values.platforms ? values.platforms.split(',').map(findTarget) : TARGETS;
  const result = await release({
    root,
    out: path.resolve(values.out ?? path.join(root, 'release')),
    targets,
  });
  for (const b of result.built) {
    process.stdout.write(
      `${targetName(b.target).padEnd(14)} ${path.relative(process.cwd(), b.archive).padEnd(52)} ${mib(b.archiveSize).padStart(10)} (binary ${mib(b.binarySize)}, Node ${b.target.nodeVersion})  sha256 ${b.sha256}\n`,
    );
  }
  process.stdout.write(
    `${path.relative(process.cwd(), result.manifest)}: Krew manifest for v${result.version}, checked with Krew (installed: ${result.check.checked.join(', ')})\n`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
