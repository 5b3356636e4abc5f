import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { KubeObject, ObjectRef } from '../../kube/object.js';
import { mapNamespace } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { PlanStep, StepContext } from '../../contract/plan.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import type { PlanContext } from '../component.js';
import { TENANTS_SECRET } from '../../entando/kinds.js';
import { readTenants } from '../../entando/tenants.js';
import {
  isBootstrap,
  COMPONENT,
  installedBundles,
  type BundlesSummary,
  type RecordedBundle,
  type TenantBundles,
} from './backup.js';
import { CmHttpError } from './cm-client.js';
import {
  CmUnavailable,
  connectCm,
  TENANT_HEADER,
  TokenRefused,
  type CmSession,
} from './connect.js';
import { callError, DEFAULT_TIMING, reinstallBundle } from './install.js';
import { bundlesLeftAlone } from './left-alone.js';

export function bundlesSummary(ctx: Pick<PlanContext, 'archive'>): BundlesSummary | undefined {
  return ctx.archive.manifest.components[COMPONENT];
}

export async function planBundleSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const mode = ctx.mapping.bundles?.mode;
  const summary = bundlesSummary(ctx);
  const appName = ctx.archive.manifest.source.app;
  const appRef: ObjectRef = {
    apiVersion: ENTANDO_API,
    kind: EntandoKind.App,
    namespace: ctx.mapping.targetNamespace,
    name: appName,
  };
  const base = { component: COMPONENT, changes: [] as string[] };
  const skipStep = (reason: string): PlanStep[] => [
    {
      ...base,
      priority: phase('bundles-reinstall').priority,
      phase: 'bundles-reinstall',
      action: 'skip',
      object: appRef,
      reason,
    },
  ];
  if (!summary?.recorded) {
    const crs = ctx.archive.objects.some((o) => o.kind === EntandoKind.Bundle);
    if (mode === 'skip' || !crs) return [];
    return skipStep(
      `bundles not recorded in the archive (${summary?.reason ?? 'made before bundles were recorded'}): no reinstall, their CRs and plugins are restored as objects`,
    );
  }
  if (mode !== 'reinstall') {
    if (installedBundles(summary).length === 0) return [];
    return skipStep(
      mode === 'skip'
        ? 'bundles not restored (--bundles skip)'
        : 'bundles restored as objects only (--bundles objects-only): the component manager keeps what the restored database says, plugins are restored as objects',
    );
  }
  const bundles = installedBundles(summary);
  const timeoutMs = ctx.waitTimeoutMs ?? 600_000;
  // Only bundles that are not installed: nothing to wait for, only to name.
  const steps: PlanStep[] =
    bundles.length === 0
      ? []
      : [
          {
            ...base,
            priority: phase('component-manager').priority,
            phase: 'component-manager',
            action: 'run',
            object: appRef,
            reason:
              "wait for the component manager: its pod ready and post-init ended (SUCCESSFUL or FAILED); post-init holds the CM's global lock",
            run: (c) => waitForCm(c, appRef, bundles, timeoutMs),
          },
        ];
  const leftAlone = new Map(bundlesLeftAlone(summary).map((l) => [l.code, l]));
  const bundleRef = (b: RecordedBundle): ObjectRef => ({
    apiVersion: ENTANDO_API,
    kind: EntandoKind.Bundle,
    namespace: mapNamespace(ctx.mapping, b.namespace ?? ctx.archive.manifest.source.namespace)!,
    name: b.code,
  });
  for (const b of summary.bundles) {
    const l = leftAlone.get(b.code);
    if (l?.outcome !== 'not reinstalled') continue;
    steps.push({
      ...base,
      priority: phase('bundles-reinstall').priority,
      phase: 'bundles-reinstall',
      action: 'skip',
      object: bundleRef(b),
      reason: l.why,
    });
  }
  steps.push(...tenantBundleSteps(summary, appRef, timeoutMs));
  for (const b of bundles) {
    const plugins = b.plugins.map((p) => p.pluginCode);
    const failed = leftAlone.get(b.code);
    steps.push({
      ...base,
      priority: phase('bundles-reinstall').priority,
      phase: 'bundles-reinstall',
      action: 'run',
      object: bundleRef(b),
      // A failed last job is named on the step itself: the text plan shows changes per step.
      changes: [
        `install ${b.version} (conflictStrategy SKIP)`,
        ...(failed ? [`not repeated: ${failed.why}`] : []),
      ],
      reason: `${isBootstrap(b) ? 'the post-init bootstrap bundle: post-init skips it on a restored database; ' : ''}reinstalled at its installed version with SKIP: the restored widgets and pages are kept${plugins.length ? `, plugin${plugins.length > 1 ? 's' : ''} ${plugins.join(', ')} made again (EntandoPlugin, link, Keycloak client, database from the restored secret)` : ''}${failed ? `; ${failed.why}` : ''}`,
      run: (c) => reinstallStep(c, appRef, b, timeoutMs),
    });
  }
  return steps;
}

const pluralise = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * One step per secondary tenant whose bundles were recorded (7.3), in the phase after app-env
 * (the component manager has ENTANDO_TENANTS again by then): its installed bundles reinstalled
 * one at a time at their versions with SKIP, each call with `X-ENTANDO-TENANTCODE` and a token
 * of the tenant's realm. A tenant whose bundles were not recorded gets a skip step saying why.
 */
export function tenantBundleSteps(
  summary: BundlesSummary,
  appRef: ObjectRef,
  timeoutMs: number,
): PlanStep[] {
  const at = {
    priority: phase('tenant-bundles-reinstall').priority,
    phase: 'tenant-bundles-reinstall',
  };
  const steps: PlanStep[] = [];
  for (const t of summary.tenants ?? []) {
    const base = { ...at, component: COMPONENT, object: appRef };
    if (!t.recorded) {
      steps.push({
        ...base,
        action: 'skip',
        changes: [],
        reason: `tenant ${t.tenant}: its bundles were not recorded (${t.reason ?? 'unknown reason'}): none reinstalled`,
      });
      continue;
    }
    const bundles = installedBundles(t);
    if (bundles.length === 0) continue;
    const plugins = bundles.flatMap((b) => b.plugins.map((p) => p.pluginCode));
    const notInstalled = t.bundles.length - bundles.length;
    steps.push({
      ...base,
      action: 'run',
      changes: bundles.map(
        (b) => `tenant ${t.tenant}: install ${b.code} ${b.version} (conflictStrategy SKIP)`,
      ),
      reason: `tenant ${t.tenant}: ${pluralise(bundles.length, 'bundle')} reinstalled at ${bundles.length === 1 ? 'its installed version' : 'their installed versions'} with SKIP through the component manager with ${TENANT_HEADER}: ${t.tenant} and a token of the tenant's realm (deKcClientId/deKcClientSecret of the restored ${TENANTS_SECRET}, whose secret the restored realm keeps), once app-env has given the component manager ENTANDO_TENANTS${plugins.length ? `; plugin${plugins.length > 1 ? 's' : ''} ${plugins.join(', ')} made again, with the tenant's hash in ${plugins.length > 1 ? 'their names' : 'its name'}` : ''}${notInstalled ? `; ${pluralise(notInstalled, 'bundle')} not installed for the tenant in the source left alone` : ''}`,
      run: (c) => reinstallTenantStep(c, appRef, t, bundles, timeoutMs),
    });
  }
  return steps;
}

/** Waits for the CM (restarted by app-env), then reinstalls the tenant's bundles in order. */
async function reinstallTenantStep(
  c: StepContext,
  appRef: ObjectRef,
  t: TenantBundles,
  bundles: RecordedBundle[],
  timeoutMs: number,
): Promise<void> {
  const fail = (err: unknown) =>
    new OperationError(`tenant ${t.tenant}: ${(err as Error).message}`);
  await waitForCm(c, appRef, bundles, timeoutMs).catch((err: unknown) => {
    throw fail(err);
  });
  let opened: { session: CmSession; app: KubeObject };
  try {
    opened = await openSession(c.target, appRef);
  } catch (err) {
    throw fail(err);
  }
  const { session, app } = opened;
  try {
    const { configs } = await readTenants(c.target, app);
    const config = configs.find((x) => x.code === t.tenant);
    if (!config) {
      throw new OperationError(
        `not in the target's ENTANDO_TENANTS (${configs.map((x) => x.code).join(', ') || 'no tenants'}): bundles ${bundles.map((b) => b.code).join(', ')} not reinstalled`,
      );
    }
    const ts = session.forTenant(config);
    for (const b of bundles) {
      const job = await reinstallBundle(
        ts.cm,
        {
          code: b.code,
          version: b.version!,
          clientId: ts.clientId,
          secretName: ts.secretName,
          appClient: config.fields.kcClientId || appRef.name!,
        },
        { ...DEFAULT_TIMING, deadline: Date.now() + timeoutMs, signal: c.signal },
        (m) => c.progress(`tenant ${t.tenant}: ${m}`),
      );
      c.progress(
        `tenant ${t.tenant}: bundle ${b.code}: ${job.status} at version ${job.componentVersion ?? b.version}`,
      );
    }
  } catch (err) {
    throw fail(err);
  } finally {
    await session.close();
  }
}

async function openSession(
  target: KubeClient,
  appRef: ObjectRef,
): Promise<{ session: CmSession; app: KubeObject }> {
  const app = await target.get(appRef);
  if (!app)
    throw new CmUnavailable(`EntandoApp ${appRef.namespace}/${appRef.name} is not in the target`);
  return { session: await connectCm(target, app), app };
}

/** Until the CM answers and its post-init is over, or the wait timeout. */
async function waitForCm(
  c: StepContext,
  appRef: ObjectRef,
  bundles: RecordedBundle[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const names = bundles.map((b) => b.code).join(', ');
  await waitForEntandoReady(c.target, appRef, timeoutMs, c.progress);
  let last = '';
  for (;;) {
    let state: string;
    try {
      const { session } = await openSession(c.target, appRef);
      try {
        const status = await session.cm.postInitStatus();
        if (status === 'SUCCESSFUL') return;
        if (status === 'FAILED') {
          c.results.warn(
            `component manager ${appRef.namespace}/${appRef.name}`,
            'post-init ended FAILED (see its log); the bundles are reinstalled anyway',
          );
          return;
        }
        state = `post-init ${status}`;
      } finally {
        await session.close();
      }
    } catch (err) {
      if (err instanceof TokenRefused) {
        throw new OperationError(`bundles ${names} not reinstalled: ${err.message}`);
      }
      if (err instanceof CmHttpError && (err.status === 401 || err.status === 403)) {
        throw callError(err, {
          code: names,
          version: '',
          clientId: `${appRef.name}-de`,
          secretName: `${appRef.name}-de-secret`,
          appClient: appRef.name!,
        });
      }
      // Not up yet (no pod, no answer, 5xx while it starts): waited for.
      state = (err as Error).message;
    }
    if (state !== last) c.progress(`waiting for the component manager: ${state}`);
    last = state;
    if (Date.now() > deadline || c.signal.aborted) {
      throw new OperationError(
        `component manager not ready after ${Math.round(timeoutMs / 1000)} s (${state}): bundles ${names} not reinstalled; fix it and run the restore again with --existing update`,
      );
    }
    await new Promise((r) => setTimeout(r, DEFAULT_TIMING.pollMs));
  }
}

async function reinstallStep(
  c: StepContext,
  appRef: ObjectRef,
  b: RecordedBundle,
  timeoutMs: number,
): Promise<void> {
  let opened: { session: CmSession; app: KubeObject };
  try {
    opened = await openSession(c.target, appRef);
  } catch (err) {
    throw new OperationError(`bundle ${b.code}: ${(err as Error).message}`);
  }
  const { session } = opened;
  try {
    const job = await reinstallBundle(
      session.cm,
      {
        code: b.code,
        version: b.version!,
        clientId: session.clientId,
        secretName: session.secretName,
        appClient: appRef.name!,
      },
      { ...DEFAULT_TIMING, deadline: Date.now() + timeoutMs, signal: c.signal },
      c.progress,
    );
    c.progress(`bundle ${b.code}: ${job.status} at version ${job.componentVersion ?? b.version}`);
  } finally {
    await session.close();
  }
}
