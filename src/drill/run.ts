import { bundlesLeftAlone } from '../components/bundles/left-alone.js';
import { COMPONENTS } from '../components/index.js';
import { findApp } from '../components/resources/find-app.js';
import { archivedDatabases } from '../components/databases/restore.js';
import type { LoadedArchive } from '../contract/component.js';
import { EntandoKind } from '../entando/kinds.js';
import { UserError, errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { Output } from '../report/output.js';
import { Timings } from '../report/timings.js';
import { loadArchive, otherNamespaces } from '../restore/restore.js';
import { catalog } from '../storage/catalog.js';
import type { RestoreArgs } from '../cli/commands/restore.js';
import type { CliContext } from '../cli/context.js';
import { apply, planLoaded, verify, type Planned } from '../cli/run/restore.js';
import {
  appHealth,
  appReady,
  bundlesListed,
  check,
  realmLogin,
  verified,
  type DrillCheck,
  type DrillLogin,
} from './checks.js';
import { drillId, drillNames, type DrillNames } from './names.js';
import { isFolder, newestArchive } from './pick.js';
import type { DrillReport } from './report.js';
import { deleteNamespaces } from './cleanup.js';

/** The drill's own flags beside the restore's. */
export interface DrillOptions {
  source: string;
  app?: string;
  login?: DrillLogin;
  /** Leave the restored app in place (for a look), named in the report. */
  keep: boolean;
}

/**
 * A drill: the archive restored into throw-away namespaces under a throw-away host, checked as
 * an operator would check a restored app, then deleted. Every outcome is a report; refusals
 * (what a drill cannot do without touching something live) are errors before any change.
 */
export async function runDrill(
  opts: DrillOptions,
  /** The restore's flags; the drill sets archive, namespaces and host itself. */
  restoreArgs: RestoreArgs,
  ctx: CliContext,
  output: Output,
): Promise<DrillReport> {
  const started = new Date();
  const archiveName = await pickArchive(opts, restoreArgs, ctx, output);
  const checks: DrillCheck[] = [];
  let archive: LoadedArchive | undefined;
  checks.push(
    await check('archive', async () => {
      output.progress(`drill: reading and verifying ${archiveName}`);
      archive = await loadArchive(
        ctx.location(archiveName, restoreArgs, output),
        ctx.decryptionKeys(restoreArgs),
        { passesOf: COMPONENTS },
      );
      return { detail: `verified whole: ${archive.manifest.entries.length} entries` };
    }),
  );
  if (!archive) return finish(report(archiveName, undefined, started, checks));
  refuseLiveWrites(archive);
  const names = drillNames(
    {
      namespace: archive.manifest.source.namespace,
      otherNamespaces: otherNamespaces(archive),
      host: appHost(archive),
    },
    drillId(),
    restoreArgs['ingress-host'],
  );
  const args: RestoreArgs = {
    ...restoreArgs,
    archive: archiveName,
    'to-namespace': names.namespace,
    'namespace-map': Object.entries(names.namespaceMap).map(([from, to]) => `${from}=${to}`),
    'ingress-host': names.host,
    existing: 'fail',
    verify: true,
    yes: true,
    'dry-run': false,
  };
  const base = report(archiveName, archive, started, checks, names);
  let planned: Planned | undefined;
  try {
    planned = await restoreInto(archive, args, ctx, output, checks);
    if (planned && base.target) base.target.context = planned.summary.target.context;
    if (planned && checks.at(-1)?.outcome === 'passed') {
      await checkRestored(planned, args, opts, ctx, output, checks, base);
    }
  } finally {
    base.cleanup = opts.keep
      ? { outcome: 'skipped', detail: `kept (--keep): delete ${allNamespaces(names).join(', ')}` }
      : await cleanUp(planned?.target, names, output);
  }
  return finish(base);
}

async function pickArchive(
  opts: DrillOptions,
  args: Parameters<CliContext['decryptionKeys']>[0] & Parameters<CliContext['folder']>[1],
  ctx: CliContext,
  output: Output,
): Promise<string> {
  if (!isFolder(opts.source)) return opts.source;
  const rows = await catalog(ctx.folder(opts.source, args, output), ctx.decryptionKeys(args));
  return newestArchive(rows, opts.source, opts.app).stored.location.name;
}

/**
 * What a drill must not do: load schemas into an external DBMS (the restored app would use the
 * live app's schemas) or act on a Keycloak the archive does not carry (restore would change the
 * live app's clients).
 */
function refuseLiveWrites(archive: LoadedArchive): void {
  const external = archivedDatabases(archive.manifest.entries).filter(
    (a) => a.meta.location === 'client-pod',
  );
  if (external.length > 0) {
    const which = external.map((a) => `${a.meta.schema}@${a.meta.host}`).join(', ');
    throw new UserError(
      `drill refused: the archive's databases ${which} are on an external DBMS, which a restore would load into (the live app's data); restore by hand into a copy of that DBMS instead`,
    );
  }
  const kc = archive.manifest.components.keycloak;
  if (kc?.mode === 'external') {
    throw new UserError(
      `drill refused: the app uses an external Keycloak (not in the archive); a restore would add the drill's host to the live clients. Restore by hand with --keycloak skip into a test Keycloak`,
    );
  }
}

function appHost(archive: LoadedArchive): string | undefined {
  const app = archive.objects.find(
    (o) => o.kind === EntandoKind.App && o.metadata.name === archive.manifest.source.app,
  );
  return (app?.spec as { ingressHostName?: string } | undefined)?.ingressHostName;
}

/**
 * Plan and apply; a refused plan or a failed step is the `restore` check's failure. The plan,
 * once made, is returned either way: its target is where the clean-up deletes.
 */
async function restoreInto(
  archive: LoadedArchive,
  args: RestoreArgs,
  ctx: CliContext,
  output: Output,
  checks: DrillCheck[],
): Promise<Planned | undefined> {
  let planned: Planned | undefined;
  const result = await check('restore', async () => {
    const timings = new Timings();
    const started = Date.now();
    const p = await planLoaded(archive, args, timings);
    if (p.plan.problems.length > 0) {
      throw new Error(`refused by the preflight: ${p.plan.problems.join('; ')}`);
    }
    planned = p;
    output.progress(`drill: restoring into ${args['to-namespace']}`);
    await apply(p, ctx, output, timings, started);
    return { detail: `${p.plan.steps.filter((s) => s.run).length} steps applied` };
  });
  checks.push(result);
  return planned;
}

async function checkRestored(
  planned: Planned,
  args: RestoreArgs,
  opts: DrillOptions,
  ctx: CliContext,
  output: Output,
  checks: DrillCheck[],
  base: DrillReport,
): Promise<void> {
  const { target, archive, mapping } = planned;
  const app = await findApp(target, mapping.targetNamespace, archive.manifest.source.app);
  const ready = await check('app-ready', () => appReady(target, app, args['wait-timeout'] * 1000));
  checks.push(ready);
  if (ready.outcome !== 'passed') return;
  base.recoveryTimeSeconds = Math.round((Date.now() - Date.parse(base.startedAt)) / 1000);
  const live = await findApp(target, mapping.targetNamespace, archive.manifest.source.app);
  checks.push(await check('app-health', () => appHealth(target, live)));
  checks.push(
    await check('verify', async () => verified((await verify(planned, args, ctx, output)).outcome)),
  );
  const components = archive.manifest.components;
  checks.push(
    await check('realm-login', () => realmLogin(target, live, components.keycloak, opts.login)),
  );
  checks.push(
    await check('bundles', () =>
      bundlesListed(target, live, components.bundles, bundlesLeftAlone(components.bundles)),
    ),
  );
}

function allNamespaces(names: DrillNames): string[] {
  return [names.namespace, ...Object.values(names.namespaceMap)];
}

async function cleanUp(
  target: KubeClient | undefined,
  names: DrillNames,
  output: Output,
): Promise<DrillReport['cleanup']> {
  if (!target) return { outcome: 'passed', detail: 'nothing was made' };
  output.progress(`drill: deleting ${allNamespaces(names).join(', ')}`);
  try {
    const deleted = await deleteNamespaces(target, allNamespaces(names));
    return { outcome: 'passed', detail: `deleted ${deleted.join(', ') || 'nothing'}` };
  } catch (err) {
    return { outcome: 'failed', detail: errorMessage(err) };
  }
}

function report(
  archiveName: string,
  archive: LoadedArchive | undefined,
  started: Date,
  checks: DrillCheck[],
  names?: DrillNames,
): DrillReport {
  const m = archive?.manifest;
  return {
    passed: false,
    archive: archiveName,
    ...(m && {
      app: m.source.app,
      source: { context: m.source.context, namespace: m.source.namespace },
      archiveCreatedAt: m.createdAt,
      recoveryPointSeconds: Math.round((started.getTime() - Date.parse(m.createdAt)) / 1000),
    }),
    ...(names && {
      target: { namespace: names.namespace, namespaceMap: names.namespaceMap, host: names.host },
    }),
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
    checks,
  };
}

/** Passed only when no check failed and the clean-up did not fail. */
function finish(r: DrillReport): DrillReport {
  r.finishedAt = new Date().toISOString();
  r.passed =
    r.checks.length > 0 &&
    r.checks.every((c) => c.outcome !== 'failed') &&
    r.cleanup?.outcome !== 'failed';
  return r;
}
