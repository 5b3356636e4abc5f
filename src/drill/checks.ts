import type { VerifyOutcome } from '../compare/verify-restore.js';
import { EQUAL_VERDICTS } from '../compare/rows.js';
import type { BundleLeftAlone } from '../components/bundles/left-alone.js';
import { installedBundles, recordedTenants } from '../components/bundles/backup.js';
import type { CmBundle } from '../components/bundles/cm-client.js';
import { connectCm } from '../components/bundles/connect.js';
import { readTenants } from '../entando/tenants.js';
import { runningPod } from '../components/files/discover.js';
import { KeycloakAdmin } from '../components/keycloak/admin.js';
import { connectKeycloak, locateKeycloak, realmOf } from '../components/keycloak/locate.js';
import type { BundlesSummary, KeycloakSummary } from '../contract/manifest.js';
import { APP_SERVERS, serverDeployment } from '../entando/generated-env.js';
import { waitForEntandoReady } from '../entando/wait-ready.js';
import { errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { forwardPort } from '../kube/port-forward.js';

export type CheckOutcome = 'passed' | 'failed' | 'skipped';

/** One check of a drill, as the report shows it. */
export interface DrillCheck {
  name: string;
  outcome: CheckOutcome;
  detail: string;
  seconds: number;
}

/** Runs one check: a thrown error is its failure, in its own words. */
export async function check(
  name: string,
  body: () => Promise<{ outcome?: CheckOutcome; detail: string }>,
): Promise<DrillCheck> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  try {
    const { outcome = 'passed', detail } = await body();
    return { name, outcome, detail, seconds: seconds() };
  } catch (err) {
    return { name, outcome: 'failed', detail: errorMessage(err), seconds: seconds() };
  }
}

const APP_ENGINE_PORT = 8080;

/** The EntandoApp reconciled and its app engine's pod running and ready. */
export async function appReady(kube: KubeClient, app: KubeObject, timeoutMs: number) {
  const ns = app.metadata.namespace!;
  await waitForEntandoReady(
    kube,
    { apiVersion: app.apiVersion, kind: app.kind, namespace: ns, name: app.metadata.name },
    timeoutMs,
  );
  const deployment = appEngineDeployment(app);
  const pod = await runningPod(kube, ns, deployment);
  if (!pod) throw new Error(`deployment ${ns}/${deployment} has no running and ready pod`);
  return { detail: `EntandoApp ready; ${deployment} pod ${pod.metadata.name} running and ready` };
}

/** The app engine's Deployment: status `main` (the operator's key for it), else its naming. */
function appEngineDeployment(app: KubeObject): string {
  return serverDeployment(
    app,
    APP_SERVERS.find((s) => s.qualifier === 'main')!,
  );
}

/**
 * The app engine's own health endpoint (`<contextPath>/api/health`), through a port-forward.
 * A pod that does not answer at all is skipped, not failed: its readiness was checked above,
 * and some images answer only behind their ingress.
 */
export async function appHealth(kube: KubeClient, app: KubeObject) {
  const ns = app.metadata.namespace!;
  const pod = await runningPod(kube, ns, appEngineDeployment(app));
  if (!pod) throw new Error('no running app engine pod');
  const context =
    (app.spec as { ingressPath?: string } | undefined)?.ingressPath ?? '/entando-de-app';
  const forward = await forwardPort(kube.config, ns, pod.metadata.name, APP_ENGINE_PORT);
  try {
    const url = `${forward.url}${context}/api/health`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      return {
        outcome: 'skipped' as const,
        detail: `${context}/api/health did not answer on port ${APP_ENGINE_PORT} (${cause?.message ?? errorMessage(err)})`,
      };
    }
    const body = (await res.text()).slice(0, 200);
    if (res.status === 404) {
      // Something answers that has no such endpoint: not the app engine's verdict.
      return { outcome: 'skipped' as const, detail: `${context}/api/health: HTTP 404` };
    }
    if (!res.ok) throw new Error(`${context}/api/health: HTTP ${res.status} ${body}`);
    return { detail: `${context}/api/health: HTTP ${res.status}` };
  } finally {
    await forward.close();
  }
}

/** restore --verify's comparison, as a check. */
export function verified(outcome: VerifyOutcome) {
  if (outcome.equal) {
    return { detail: `equal to the archive (${outcome.rows.length} items: ${outcome.scope})` };
  }
  const differing = outcome.rows.filter((r) => !EQUAL_VERDICTS.has(r.verdict));
  const lines = differing
    .slice(0, 5)
    .map((r) => `${r.section} ${r.name}: ${r.verdict} (${r.source} -> ${r.target})`);
  throw new Error(`${differing.length} items differ from the archive: ${lines.join('; ')}`);
}

async function secretField(kube: KubeClient, ns: string, name: string, key: string) {
  const s = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  const value = (s?.data as Record<string, string> | undefined)?.[key];
  if (!value) throw new Error(`secret ${ns}/${name} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** A user of the realm, when the drill was given one, and its password. */
export interface DrillLogin {
  username: string;
  password: string;
}

/**
 * The restored realm issues tokens: to the app engine's client with the secret its restored
 * Secret holds (what the app does at every start), and to a user with a password when given.
 */
export async function realmLogin(
  kube: KubeClient,
  app: KubeObject,
  summary: KeycloakSummary | undefined,
  login: DrillLogin | undefined,
) {
  if (summary?.mode !== 'realm') {
    return {
      outcome: 'skipped' as const,
      detail: `the archive carries no realm (Keycloak: ${summary?.mode ?? 'not recorded'})`,
    };
  }
  const where = await locateKeycloak(kube, app);
  if (where.kind !== 'in-namespace') throw new Error(where.reason);
  const session = await connectKeycloak(kube, where);
  try {
    const ns = app.metadata.namespace!;
    const realm = realmOf(app);
    const secret = `${app.metadata.name}-de-secret`;
    await KeycloakAdmin.passwordGrant(session.admin.base, realm, {
      grant_type: 'client_credentials',
      client_id: await secretField(kube, ns, secret, 'clientId'),
      client_secret: await secretField(kube, ns, secret, 'clientSecret'),
    });
    const done = [`client ${app.metadata.name}-de (secret ${secret}) got a token`];
    if (login) {
      await KeycloakAdmin.passwordGrant(session.admin.base, realm, {
        grant_type: 'password',
        client_id: 'admin-cli',
        username: login.username,
        password: login.password,
      }).catch((err: unknown) => {
        throw new Error(`user ${login.username} cannot log in: ${errorMessage(err)}`);
      });
      done.push(`user ${login.username} logged in`);
    }
    return { detail: `realm ${realm}: ${done.join('; ')}` };
  } finally {
    await session.close();
  }
}

/** The recorded bundles `listed` does not show installed at their recorded versions. */
function notInstalledAsRecorded(
  expected: { code: string; version?: string }[],
  listed: CmBundle[],
): string[] {
  return expected
    .filter(
      (b) =>
        !listed.some(
          (l) =>
            l.code === b.code &&
            l.installed &&
            (!b.version || l.installedJob?.componentVersion === b.version),
        ),
    )
    .map((b) => `${b.code}@${b.version ?? '?'}`);
}

/**
 * The component manager answers with the app's token and lists every bundle reinstalled; and,
 * for each secondary tenant whose bundles were recorded (7.3), with the tenant's header and a
 * token of its realm, every bundle of that tenant.
 */
export async function bundlesListed(
  kube: KubeClient,
  app: KubeObject,
  summary: BundlesSummary | undefined,
  leftAlone: BundleLeftAlone[],
) {
  const expected = (summary?.bundles ?? []).filter(
    (b) => b.installed && !leftAlone.some((l) => l.code === b.code),
  );
  if (!summary?.recorded) {
    return { outcome: 'skipped' as const, detail: 'the archive recorded no bundles' };
  }
  const session = await connectCm(kube, app);
  try {
    const listed = await session.cm.components();
    const missing = notInstalledAsRecorded(expected, listed);
    const tenantDetails: string[] = [];
    const tenants = recordedTenants(summary).filter((t) => installedBundles(t).length > 0);
    const configs = tenants.length ? (await readTenants(kube, app)).configs : [];
    for (const t of tenants) {
      const config = configs.find((c) => c.code === t.tenant);
      if (!config) {
        missing.push(`tenant ${t.tenant} (not in the target's ENTANDO_TENANTS)`);
        continue;
      }
      const wanted = installedBundles(t);
      const gone = notInstalledAsRecorded(wanted, await session.forTenant(config).cm.components());
      missing.push(...gone.map((g) => `${g} (tenant ${t.tenant})`));
      tenantDetails.push(
        `tenant ${t.tenant}: ${wanted.map((b) => `${b.code}@${b.version}`).join(', ')}`,
      );
    }
    if (missing.length > 0) {
      throw new Error(`not installed as recorded: ${missing.join(', ')}`);
    }
    return {
      detail: `${listed.length} bundles listed; installed as recorded: ${expected.map((b) => `${b.code}@${b.version}`).join(', ') || 'none recorded'}${tenantDetails.length ? `; ${tenantDetails.join('; ')}` : ''}`,
    };
  } finally {
    await session.close();
  }
}
