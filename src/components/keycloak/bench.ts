/**
 * Realm export and import benchmark (run via scripts/bench-keycloak), side by side in one run on
 * the same realm of the sandbox's real Keycloak:
 *
 * - export: `kubectl entando backup` with the realm minus the same backup with --keycloak skip
 *   (the full-fidelity export: a second server in the pod), beside Keycloak's REST partial export
 *   (`POST partial-export?exportClients&exportGroupsAndRoles`: no users, secrets masked);
 * - import: the migration import of the archived export in a side server in the target's
 *   Keycloak pod (what a restore does), beside POST /admin/realms of the partial export (what
 *   the REST way would carry).
 *
 * Usage: node dist/src/components/keycloak/bench.js --kubeconfig K --source-context C
 *        --target-context C -n NS --runs 3
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { decryptionKeys } from '../../archive/encryption.js';
import { entryStream } from '../../archive/entry-stream.js';
import { KubeClient } from '../../kube/client.js';
import { verifyArchive } from '../../archive/verify.js';
import { connectKeycloak, locateKeycloak, type KeycloakSession } from './locate.js';
import { importRealmInPod, realmInMemory } from './realm-import.js';
import { EXPORT_USERS_PER_FILE } from './side-server-scripts.js';
import { Results } from '../../report/results.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'source-context': { type: 'string', default: 'sandbox-source' },
    'target-context': { type: 'string', default: 'sandbox-target' },
    namespace: { type: 'string', short: 'n' },
    'target-namespace': { type: 'string' },
    runs: { type: 'string', default: '3' },
    cli: { type: 'string' },
    /** Other export page sizes to time beside the default, e.g. 500,2000. */
    'export-pages': { type: 'string', default: '' },
    /** Also time the export in Hibernate's AUTO flush mode (as before COMMIT was used). */
    'flush-auto': { type: 'boolean', default: false },
    /** Other import page sizes to time beside the default, e.g. 50,100. */
    'import-pages': { type: 'string', default: '' },
  },
});
const runs = Number(values.runs);

function kube(context: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(values.kubeconfig!);
  kc.setCurrentContext(context);
  return new KubeClient(kc);
}

async function session(context: string, ns: string): Promise<KeycloakSession> {
  const k = kube(context);
  const app = (await k.list('entando.org/v1', 'EntandoApp', ns))[0];
  const where = await locateKeycloak(k, app);
  if (where.kind !== 'in-namespace') throw new Error(where.reason);
  return connectKeycloak(k, where);
}

/** Peak resident memory (MB) of the CLI's runs, by what was run. */
const peakRss = new Map<string, number>();
const TIME = '/usr/bin/time';

/** Runs the CLI; its peak RSS is read with GNU time when the machine has it. */
function timeCli(args: string[], env: NodeJS.ProcessEnv = {}, what = args[0]): number {
  const withTime = existsSync(TIME);
  const t = performance.now();
  const r = withTime
    ? spawnSync(TIME, ['-f', 'BENCH_RSS_KB %M', values.cli!, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      })
    : spawnSync(values.cli!, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  const kb = /BENCH_RSS_KB (\d+)/.exec(r.stderr ?? '');
  if (kb) peakRss.set(what, Math.max(peakRss.get(what) ?? 0, Number(kb[1]) / 1024));
  return seconds;
}

function withoutIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutIds);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'id' && k !== 'containerId')
        .map(([k, x]) => [k, withoutIds(x)]),
    );
  }
  return v;
}

/** Each figure as it is taken (stderr), so that a run that fails later still leaves them. */
const note = (line: string) => process.stderr.write(`bench-keycloak: ${line}\n`);

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await fn();
  return [(performance.now() - t) / 1000, v];
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(2)} s (min ${s[0].toFixed(2)}, max ${s[s.length - 1].toFixed(2)})`;
};

async function main(): Promise<void> {
  const ns = values.namespace!;
  const dir = mkdtempSync(join(tmpdir(), 'bench-keycloak-'));
  const base = [
    '--kubeconfig',
    values.kubeconfig!,
    '--context',
    values['source-context']!,
    '-n',
    ns,
    '--no-encrypt',
    '-q',
  ];
  const full: number[] = [];
  const skip: number[] = [];
  const pages = values['export-pages']!.split(',').filter(Boolean).map(Number);
  const paged = new Map<number, number[]>(pages.map((p) => [p, []]));
  const auto: number[] = [];
  const rest: number[] = [];
  let restBytes = 0;
  let archive = '';
  for (let i = 0; i < runs; i++) {
    archive = join(dir, `full-${i}.tar`);
    full.push(timeCli(['backup', ...base, '-f', archive]));
    if (values['flush-auto']) {
      const file = join(dir, `auto-${i}.tar`);
      auto.push(
        timeCli(
          ['backup', ...base, '-f', file],
          { KUBECTL_ENTANDO_KC_EXPORT_FLUSH_AUTO: '1' },
          'backup, AUTO flush',
        ),
      );
    }
    for (const p of pages) {
      const file = join(dir, `page-${p}-${i}.tar`);
      paged
        .get(p)!
        .push(
          timeCli(
            ['backup', ...base, '-f', file],
            { KUBECTL_ENTANDO_KC_EXPORT_PAGE: String(p) },
            `backup, pages of ${p}`,
          ),
        );
    }
    skip.push(
      timeCli(
        ['backup', ...base, '--keycloak', 'skip', '-f', join(dir, `skip-${i}.tar`)],
        {},
        'backup --keycloak skip',
      ),
    );
    // A session per run: a port-forward held across many minutes of backups can break.
    const src = await session(values['source-context']!, ns);
    try {
      const [t, body] = await timed(() =>
        src.admin.call<unknown>(
          'POST',
          '/realms/entando/partial-export?exportClients=true&exportGroupsAndRoles=true',
        ),
      );
      rest.push(t);
      restBytes = JSON.stringify(body).length;
    } finally {
      await src.close();
    }
    note(
      `run ${i + 1}: backup ${full[i].toFixed(1)} s, --keycloak skip ${skip[i].toFixed(1)} s, REST partial export ${rest[i].toFixed(2)} s`,
    );
  }
  const keys = decryptionKeys({}, { env: {} });
  const read = await verifyArchive(archive, keys, undefined, { authenticatedSuffices: true });
  const loaded = {
    file: archive,
    keys,
    manifest: read.manifest,
    locations: read.locations,
    verifiedPrefix: read.payloadPrefix,
  };
  const summary = loaded.manifest.components.keycloak!;
  const entry = loaded.manifest.entries.find((e) => e.path === summary.realmEntry)!;
  const chunks: Buffer[] = [];
  for await (const c of entryStream(loaded, entry)) chunks.push(c as Buffer);
  const realmJson = Buffer.concat(chunks).toString('utf8');

  // The restore (timed whole) makes the target's app, its Keycloak, and imports the realm.
  const [restoreTime] = await timed(async () =>
    timeCli([
      'restore',
      archive,
      '--kubeconfig',
      values.kubeconfig!,
      '--to-context',
      values['target-context']!,
      '--yes',
      '-q',
    ]),
  );
  note(`restore ${restoreTime.toFixed(1)} s`);
  const tgtNs = values['target-namespace'] ?? ns;
  // A session per use: a port-forward held across many minutes of imports can break.
  const withTarget = async <T>(fn: (tgt: KeycloakSession) => Promise<T>): Promise<T> => {
    const tgt = await session(values['target-context']!, tgtNs);
    try {
      return await fn(tgt);
    } finally {
      await tgt.close();
    }
  };
  const imports: number[] = [];
  const partialImports: number[] = [];
  const importPages = values['import-pages']!.split(',').filter(Boolean).map(Number);
  const importVariants = new Map<string, number[]>();
  const importOnce = async (env: Record<string, string>) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const [t] = await timed(() =>
        withTarget((tgt) =>
          importRealmInPod(
            kube(values['target-context']!).config,
            tgt,
            [realmInMemory('entando', realmJson)],
            { results: new Results() },
          ),
        ),
      );
      note(
        `import${env.KUBECTL_ENTANDO_KC_IMPORT_PAGE ? `, pages of ${env.KUBECTL_ENTANDO_KC_IMPORT_PAGE}` : ''} ${t.toFixed(1)} s`,
      );
      return t;
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  };
  const variant = (name: string, t: number) =>
    importVariants.set(name, [...(importVariants.get(name) ?? []), t]);
  const partialRep = await withTarget(
    async (tgt) =>
      (await tgt.admin.call<Record<string, unknown>>(
        'POST',
        '/realms/entando/partial-export?exportClients=true&exportGroupsAndRoles=true',
      ))!,
  );
  for (let i = 0; i < runs; i++) {
    imports.push(await importOnce({}));
    for (const p of importPages) {
      variant(`pages of ${p}`, await importOnce({ KUBECTL_ENTANDO_KC_IMPORT_PAGE: String(p) }));
    }
    // IDs are primary keys across realms: the partial export goes in without them.
    const [p] = await timed(() =>
      withTarget(async (tgt) => {
        if (await tgt.admin.realmExists('bench-partial'))
          await tgt.admin.call('DELETE', '/realms/bench-partial');
        await tgt.admin.call('POST', '/realms', {
          ...(withoutIds(partialRep) as Record<string, unknown>),
          realm: 'bench-partial',
        });
      }),
    );
    partialImports.push(p);
  }
  await withTarget((tgt) => tgt.admin.call('DELETE', '/realms/bench-partial'));
  rmSync(dir, { recursive: true, force: true });
  const c = summary.counts!;
  const exportCost = full.map((f, i) => f - skip[i]);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const lines = [
    `realm entando: ${c.users - c.serviceAccounts} users, ${c.clients} clients, ${c.groups} groups, ${c.realmRoles + c.clientRoles} roles; export ${(entry.size / 1e6).toFixed(1)} MB, REST partial export ${(restBytes / 1e6).toFixed(2)} MB (no users, secrets masked); ${runs} runs`,
    `backup with the realm                 ${stats(full)}`,
    ...(auto.length ? [`  same, AUTO flush mode (before)     ${stats(auto)}`] : []),
    ...pages.map(
      (p) =>
        `  same, export pages of ${String(p).padEnd(6)}       ${stats(paged.get(p)!)} (default ${EXPORT_USERS_PER_FILE})`,
    ),
    `backup with --keycloak skip           ${stats(skip)}`,
    `  full-fidelity export (difference)   ${stats(exportCost)}`,
    `REST partial export                   ${stats(rest)}`,
    `restore (app, its Keycloak, import)   ${restoreTime.toFixed(2)} s (once)`,
    `import: side-server dir import        ${stats(imports)}`,
    ...[...importVariants].map(([name, ts]) => `  same, ${name.padEnd(28)} ${stats(ts)}`),
    `import: POST of the partial export    ${stats(partialImports)}`,
    ...[...peakRss].map(
      ([what, mb]) => `peak RSS of the CLI, ${what.padEnd(22)} ${mb.toFixed(0)} MB`,
    ),
    `ratios (medians): export / partial export ${(med(exportCost) / med(rest)).toFixed(1)}x, import / partial import ${(med(imports) / med(partialImports)).toFixed(1)}x`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-keycloak: ${(err as Error).message}\n`);
  process.exit(1);
});
