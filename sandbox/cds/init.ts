// STAND-IN for the CDS init container `init-cds-data` (image entando/busybox-cds:1.36.0,
// entando/entando-init-busybox-cds init.sh). Upstream: unless SKIP_INIT=true, when
// /entando-data/public is missing (or FORCE_CDS=true) it wgets $REPO_PATH$ARCHIVE_NAME (GitHub)
// and untars it over `/`. The sandbox has no Internet, so the download is replaced:
//   - default: write a small seed tree shaped like entando730.tar.gz (public/cms, public/static,
//     ...) plus the marker entando-data/.seeded-by-init naming the archive URL. This is the
//     online cluster's behaviour, the one that silently mixes Entando's defaults into a PVC a
//     restore fills too late; a restore detects it by that marker (or via GET /api/v1/list/).
//   - CDS_INIT_OFFLINE=true: fail like an air-gapped cluster (busybox wget's error, exit 1; the
//     pod then never starts).
//
//   node dist/sandbox/cds/init.js     (env: FORCE_CDS, SKIP_INIT, PAUSE, PAUSE_TIME, REPO_PATH,
//                                      ARCHIVE_NAME, CDS_INIT_OFFLINE, CDS_STANDIN_DATA_DIR)
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const MARKER = '.seeded-by-init';

/** The seed's files (relative to entando-data/), a few of the real archive's paths. */
export const SEED: Record<string, string> = {
  'public/cms/images/entando_at_plan_d0.jpg': 'seed image (stand-in)\n',
  'public/static/silent-check-sso.html':
    '<html><body><script>parent.postMessage(location.href, location.origin)</script></body></html>\n',
  'public/static/css/main.css': '/* seed stylesheet (stand-in) */\n',
  'public/ootb-widgets/static/css/sitemap.css': '/* seed sitemap css (stand-in) */\n',
  'public/plugins/placeholder.txt': 'placeholder\n',
};

/** busybox sleep: N[smhd], N possibly fractional. */
export function sleepSeconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(v.trim());
  if (!m) throw new Error(`sleep: invalid number '${v}'`);
  return (
    Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd']
  );
}

/** Runs init.sh's logic against `dataDir` (/entando-data upstream); returns the exit code. */
export async function runInit(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  log: (line: string) => void,
): Promise<number> {
  const url = `${env.REPO_PATH ?? ''}${env.ARCHIVE_NAME ?? ''}`;
  const seed = async (): Promise<boolean> => {
    log(`+ wget --no-check-certificate ${url} -P /tmp`);
    if (env.CDS_INIT_OFFLINE === 'true') {
      const host = /^[a-z]+:\/\/([^/:]+)/i.exec(url)?.[1] ?? url;
      log(`wget: bad address '${host}'`);
      return false;
    }
    log(`+ tar -xf /tmp/${env.ARCHIVE_NAME ?? ''} -C /   (stand-in: writing the seed tree)`);
    for (const [rel, body] of Object.entries(SEED)) {
      await mkdir(join(dataDir, rel, '..'), { recursive: true });
      await writeFile(join(dataDir, rel), body);
    }
    await writeFile(
      join(dataDir, MARKER),
      `${JSON.stringify({ url, at: new Date().toISOString() })}\n`,
    );
    return true;
  };
  if (env.PAUSE === 'true') {
    if (!env.PAUSE_TIME) {
      log('PAUSE_TIME env var must be specified.');
      return 44;
    }
    log(`Sleeping for ${env.PAUSE_TIME}`);
    await sleep(sleepSeconds(env.PAUSE_TIME) * 1000);
  }
  if (env.FORCE_CDS === 'true') {
    if (!(await seed())) return 1;
    log('entando-data has been overwritten correctly');
    return 0;
  }
  const present = await stat(join(dataDir, 'public')).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (env.SKIP_INIT === 'true') log('data initialization has been skipped');
  else if (!present) {
    if (!(await seed())) return 1;
    log('entando-data has been initialized correctly');
  } else log('entando-data is already in place...');
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.env.CDS_STANDIN_DATA_DIR || '/entando-data';
  runInit(process.env, dir, (l) => process.stderr.write(`${l}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
