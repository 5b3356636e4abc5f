import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';

/**
 * The release's Krew checks, done by Krew itself: sigs.k8s.io/krew, pinned in tools/krew/go.mod
 * and built from the Go module proxy by scripts/krew-tools (see docs/releasing-krew.md).
 *
 * 1. `validate-krew-manifest -skip-install` (krew-index's check) on a copy of the manifest named
 *    entando.yaml, as krew-index names it: apiVersion and kind, the name equal to the file's,
 *    a short description without line breaks, a semantic version with its v, for every platform
 *    uri, sha256 (format), bin, files and a selector on os/arch only, every selector matching a
 *    platform Krew supports, no os/arch matched by two selectors.
 * 2. Its install step, offline. validate-krew-manifest would run `kubectl krew install
 *    --manifest` per platform, which downloads each uri (the GitHub release does not exist yet);
 *    here it is `krew install --manifest --archive` with the release's own archive, KREW_OS and
 *    KREW_ARCH set to the platform's, into a fresh KREW_ROOT: Krew checks the archive's sha256,
 *    unpacks it, applies `files` (paths inside the plugin directory) and links `bin` (which must
 *    exist). Then, as validate-krew-manifest does after each install, a LICENSE (its list of
 *    names) must be among the installed files.
 *
 * Left hand-written, because Krew checks it nowhere offline:
 * - each uri starts with https:// and its last segment names an archive of the release, the one
 *   handed to Krew for that platform: with --archive Krew never looks at the uri, so a uri naming
 *   a file the release does not have would pass Krew here and fail for every user (krew-index's
 *   CI downloads it, but only once the release is published); a uri naming another archive of
 *   the release then fails Krew's sha256 check;
 * - `bin`, once installed, is executable (not for windows): Krew links whatever file it names;
 * - every selector is a matchLabels of os and arch (what the template renders), since this check
 *   installs each platform as that os/arch.
 * The hand-written copy of krew-index's schema rules that stood here before (name, semver,
 * selector overlap, sha256 format, files paths) went: Krew checks all of them.
 *
 * Krew runs with KREW_NO_UPGRADE_CHECK (its only network access outside of install and update:
 * a GitHub API call) and HTTP(S)_PROXY pointing at a closed port, so the check is offline by
 * construction; `install --manifest` never touches the index.
 */

const run = promisify(execFile);

/** The license file names validate-krew-manifest accepts after an install (lowercased). */
export const KREW_LICENSE_FILES = [
  'license',
  'license.txt',
  'license.md',
  'licenses',
  'licenses.txt',
  'licenses.md',
  'copying',
  'copying.txt',
];

export interface KrewTools {
  /** Holds krew, kubectl-krew (a link to krew) and validate-krew-manifest. */
  dir: string;
  krew: string;
  validate: string;
}

/**
 * Builds Krew once (scripts/krew-tools: Go module proxy, cached) and returns its binaries. The
 * script's progress (a cold build takes a minute or two) goes to our stderr.
 */
export async function krewTools(root: string): Promise<KrewTools> {
  const child = spawn('bash', [path.join(root, 'scripts/krew-tools')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`scripts/krew-tools failed (exit ${code})`);
  const dir = stdout.trim().split('\n').pop() ?? '';
  const tools = {
    dir,
    krew: path.join(dir, 'krew'),
    validate: path.join(dir, 'validate-krew-manifest'),
  };
  for (const f of [tools.krew, tools.validate]) {
    if (!fs.existsSync(f)) throw new Error(`scripts/krew-tools did not build ${f}`);
  }
  return tools;
}

/**
 * The environment Krew runs in here: its own root, no upgrade check, any HTTP(S) request sent to
 * a closed port (so a network access fails rather than happens), $KREW_ROOT/bin first on PATH
 * (Krew warns otherwise). `platform` sets KREW_OS and KREW_ARCH.
 */
export function krewEnv(
  krewRoot: string,
  opts: { platform?: { os: string; arch: string }; path?: string[] } = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    KREW_ROOT: krewRoot,
    KREW_NO_UPGRADE_CHECK: '1',
    HOME: krewRoot,
    PATH: [path.join(krewRoot, 'bin'), ...(opts.path ?? [])].join(path.delimiter),
    TMPDIR: os.tmpdir(),
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
  };
  if (opts.platform) {
    env.KREW_OS = opts.platform.os;
    env.KREW_ARCH = opts.platform.arch;
  }
  return env;
}

interface Platform {
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  uri?: string;
  sha256?: string;
  bin?: string;
  files?: { from?: string; to?: string }[];
}

export interface Plugin {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    version?: string;
    homepage?: string;
    shortDescription?: string;
    description?: string;
    caveats?: string;
    platforms?: Platform[];
  };
}

export interface CheckResult {
  problems: string[];
  /** The archives Krew installed, each with LICENSE and an executable bin. */
  checked: string[];
}

/**
 * A failed Krew command's error: the message of klog's fatal line (validate-krew-manifest writes
 * a goroutine dump after it), else the last line written (krew's own error).
 */
function krewError(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const lines = (e.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.find((l) => /^F\d{4} /.test(l));
  if (fatal) return fatal.replace(/^F\d{4} [^\]]*\] /, '');
  return lines.pop() ?? e.message ?? String(err);
}

function regularFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

/**
 * `krew install --manifest --archive` of one platform into `krewRoot`; returns the problems
 * (empty when Krew installed it, a LICENSE is among the installed files and the linked bin is
 * executable).
 */
export async function installPlatform(
  tools: KrewTools,
  manifestFile: string,
  archive: string,
  platform: { os: string; arch: string },
  krewRoot: string,
): Promise<string[]> {
  const env = krewEnv(krewRoot, { platform });
  try {
    await run(tools.krew, ['install', `--manifest=${manifestFile}`, `--archive=${archive}`], {
      env,
    });
  } catch (err) {
    return [`krew install: ${krewError(err)}`];
  }
  const problems: string[] = [];
  const store = path.join(krewRoot, 'store');
  const files = regularFiles(store);
  if (!files.some((f) => KREW_LICENSE_FILES.includes(path.basename(f).toLowerCase()))) {
    problems.push(
      `no LICENSE among the installed files (${files.map((f) => path.relative(store, f)).join(', ')})`,
    );
  }
  const windows = platform.os === 'windows';
  const link = path.join(krewRoot, 'bin', `kubectl-entando${windows ? '.exe' : ''}`);
  if (!windows && (fs.statSync(link).mode & 0o111) === 0) {
    problems.push(`${path.relative(store, fs.realpathSync(link))} is not executable`);
  }
  return problems;
}

/**
 * Checks a manifest and its archives (in `archiveDir`, each named by the last segment of its
 * platform's uri) with Krew, as described at the top of this file.
 */
export async function checkRelease(
  manifestFile: string,
  archiveDir: string,
  tools: KrewTools,
): Promise<CheckResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ke-krew-check-'));
  try {
    // krew-index names the manifest after the plugin; validate-krew-manifest checks that name.
    const named = path.join(tmp, 'entando.yaml');
    fs.copyFileSync(manifestFile, named);
    try {
      await run(tools.validate, ['-manifest', named, '-skip-install'], {
        env: krewEnv(path.join(tmp, 'validate')),
      });
    } catch (err) {
      return { problems: [`validate-krew-manifest: ${krewError(err)}`], checked: [] };
    }

    const plugin = loadYaml(fs.readFileSync(named, 'utf8')) as Plugin;
    const problems: string[] = [];
    const checked: string[] = [];
    for (const [i, pl] of (plugin.spec?.platforms ?? []).entries()) {
      const { os: osLabel, arch } = pl.selector?.matchLabels ?? {};
      const where = `platforms[${i}] (${osLabel ?? '?'}/${arch ?? '?'})`;
      if (!osLabel || !arch || pl.selector?.matchExpressions) {
        problems.push(`${where}: the selector is not a matchLabels of os and arch`);
        continue;
      }
      if (!pl.uri?.startsWith('https://')) {
        problems.push(`${where}: uri ${pl.uri ?? ''} is not https`);
        continue;
      }
      const archive = path.join(archiveDir, path.posix.basename(pl.uri));
      if (!fs.existsSync(archive)) {
        problems.push(`${where}: uri names ${path.basename(archive)}, not in ${archiveDir}`);
        continue;
      }
      const found = await installPlatform(
        tools,
        named,
        archive,
        { os: osLabel, arch },
        path.join(tmp, `root-${i}`),
      );
      fs.rmSync(path.join(tmp, `root-${i}`), { recursive: true, force: true });
      problems.push(...found.map((p) => `${where}: ${p}`));
      if (found.length === 0) checked.push(path.basename(archive));
    }
    return { problems, checked };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
