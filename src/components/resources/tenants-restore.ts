import type { LoadedArchive } from '../../contract/component.js';
import { mapNamespace, type RestoreChoices, type RestoreMapping } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { PlanStep, StepContext } from '../../contract/plan.js';
import { DEFAULT_SSO, ENTANDO_API, EntandoKind, serverStatuses } from '../../entando/kinds.js';
import { waitForEntandoReady } from '../../entando/wait-ready.js';
import { UserError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { spec, type KubeObject, type ObjectRef } from '../../kube/object.js';
import { restartReaders } from '../../kube/restart-readers.js';
import { frontEndUrl } from '../keycloak/locate.js';
import type { PlanContext } from '../component.js';
import { setServerCredentials, type TargetServer, type TargetServers } from './tenants-rewrite.js';
import {
  isTenantsSecret,
  TENANTS_KEY,
  tenantsOf,
  tenantsRewriteOf,
} from './transforms/tenants-secret.js';

const COMPONENT = 'resources';
const PHASE = 'tenants-credentials';

/** The archived `entando-tenants-secret` of the app's namespace, if any. */
export function archivedTenantsSecret(archive: LoadedArchive): KubeObject | undefined {
  const ns = archive.manifest.source.namespace;
  return archive.objects.find((o) => isTenantsSecret(o) && o.metadata.namespace === ns);
}

/** --tenant-host names tenants of the archive only: a typo would otherwise pass silently. */
export function tenantsRestoreMapping(
  archive: LoadedArchive,
  choices: RestoreChoices,
): Partial<RestoreMapping> {
  const asked = choices.tenantHosts ?? {};
  if (Object.keys(asked).length === 0) return {};
  const secret = archivedTenantsSecret(archive);
  const codes = (secret && tenantsOf(secret)?.map((t) => t.tenantCode)) ?? [];
  for (const code of Object.keys(asked)) {
    if (codes.includes(code)) continue;
    throw new UserError(
      `--tenant-host ${code}=${asked[code][0]}: the archive has no tenant ${code} (${codes.length ? `its tenants: ${codes.join(', ')}` : 'it holds no entando-tenants-secret with tenants'})`,
    );
  }
  return { tenantHosts: asked };
}

/** What the target's operator generates, by name, for an app (before it exists: the defaults). */
function expectedServers(app: KubeObject, mapping: RestoreMapping): Required<TargetServers> {
  const ns = mapping.targetNamespace;
  const kc = spec(app).keycloakToUse as { name?: string; namespace?: string } | undefined;
  const dbms = (spec(app).dbms as string | undefined) ?? 'postgresql';
  const kcNs = mapNamespace(mapping, kc?.namespace) ?? ns;
  return {
    keycloak: {
      username: '',
      password: '',
      service: { name: `${kc?.name || DEFAULT_SSO}-service`, namespace: kcNs },
    },
    // Entando's in-namespace DBMS images: postgres, or root for MySQL.
    dbms: {
      username: dbms === 'mysql' ? 'root' : 'postgres',
      password: '',
      service: { name: `default-${dbms}-dbms-in-namespace-service`, namespace: ns },
    },
  };
}

/**
 * The restore's part of the tenants Secret beyond its transform: the plan notes of the rewrite
 * (hosts kept), and one step setting the credentials of the servers the target's operator
 * makes anew: the Keycloak (unless --keycloak keep, or it is external) and the in-namespace DBMS.
 */
export async function planTenantsSteps(ctx: PlanContext): Promise<PlanStep[]> {
  const archived = archivedTenantsSecret(ctx.archive);
  if (!archived) return [];
  const rewrite = tenantsRewriteOf(archived, ctx.mapping);
  if (!rewrite) return [];
  const ns = ctx.mapping.targetNamespace;
  const where = `Secret ${ns}/${archived.metadata.name}`;
  for (const note of rewrite.notes) ctx.results.warn(where, note);
  const app = ctx.archive.objects.find(
    (o) => o.kind === EntandoKind.App && o.metadata.name === ctx.archive.manifest.source.app,
  );
  if (!app) return [];
  const expected = expectedServers(app, ctx.mapping);
  const kcMode = ctx.archive.manifest.components.keycloak?.mode;
  const keycloakAnew =
    ctx.mapping.keycloak !== 'keep' && kcMode !== 'external' && kcMode !== 'none';
  const servers: TargetServers = {
    keycloak: keycloakAnew ? { ...expected.keycloak, password: '\0', publicUrl: '\0' } : undefined,
    dbms: { ...expected.dbms, password: '\0' },
  };
  const planned = setServerCredentials(rewrite.tenants, ns, servers, ctx.mapping.sourceKeycloakUrl);
  if (planned.changes.length === 0) return [];
  const object: ObjectRef = {
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: ns,
    name: archived.metadata.name,
  };
  const base = {
    priority: phase(PHASE).priority,
    phase: PHASE,
    component: COMPONENT,
    object,
    changes: planned.changes,
  };
  if (ctx.existing === 'skip' && (await ctx.target.get(object))) {
    return [
      {
        ...base,
        action: 'exists',
        reason: 'exists in the target: left as it is (--existing skip)',
      },
    ];
  }
  const appRef: ObjectRef = {
    apiVersion: ENTANDO_API,
    kind: EntandoKind.App,
    namespace: ns,
    name: app.metadata.name,
  };
  return [
    {
      ...base,
      action: 'update',
      reason: `${phase(PHASE).reason}; the archived values are kept for a tenant user that is not the admin`,
      run: (c) =>
        setCredentials(
          c,
          appRef,
          object,
          keycloakAnew,
          ctx.mapping.sourceKeycloakUrl,
          ctx.waitTimeoutMs,
        ),
    },
  ];
}

/** A server's admin secret (`username`, `password`), or undefined when not there. */
async function adminOf(
  kube: KubeClient,
  ns: string,
  secret: string,
  service: TargetServer['service'],
): Promise<TargetServer | undefined> {
  const s = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: secret });
  const data = (s?.data ?? {}) as Record<string, string>;
  if (data.username === undefined || data.password === undefined) return undefined;
  const text = (v: string) => Buffer.from(v, 'base64').toString('utf8');
  return { username: text(data.username), password: text(data.password), service };
}

/** The admins of the app's Keycloak (when in its namespace) and DBMS, as the operator made them. */
async function targetServers(
  kube: KubeClient,
  app: KubeObject,
  keycloakAnew: boolean,
): Promise<TargetServers> {
  const ns = app.metadata.namespace!;
  const expected = expectedServers(app, { sourceNamespace: ns, targetNamespace: ns });
  const out: TargetServers = {};
  const db = serverStatuses(app).db;
  const dbService = {
    ...expected.dbms.service,
    name: db?.serviceName ?? expected.dbms.service.name,
  };
  const dbSecret = db?.adminSecretName ?? dbService.name.replace(/-service$/, '-admin-secret');
  out.dbms = await adminOf(kube, ns, dbSecret, dbService);
  if (!keycloakAnew) return out;
  const kcRef = spec(app).keycloakToUse as { name?: string; namespace?: string } | undefined;
  const kcNs = kcRef?.namespace || ns;
  const kcName = kcRef?.name || DEFAULT_SSO;
  const server = await kube.get({
    apiVersion: ENTANDO_API,
    kind: EntandoKind.KeycloakServer,
    namespace: kcNs,
    name: kcName,
  });
  if (!server || spec(server).provisioningStrategy === 'UseExternal') return out;
  const main = serverStatuses(server).server ?? serverStatuses(server).main ?? {};
  const admin = await adminOf(kube, kcNs, main.adminSecretName ?? `${kcName}-admin-secret`, {
    name: main.serviceName ?? `${kcName}-service`,
    namespace: kcNs,
  });
  out.keycloak = admin && { ...admin, publicUrl: frontEndUrl(server) };
  return out;
}

/**
 * Once the operator has processed the app (so its Keycloak and DBMS exist, with their admin
 * secrets), sets the tenants' credentials of them; a deployment whose env reads the Secret
 * already runs with the old ones and is restarted when a DB password changed (the app engine
 * reads ENTANDO_TENANTS at start; the Keycloak admin is read by the operator's controllers only).
 */
async function setCredentials(
  c: StepContext,
  appRef: ObjectRef,
  ref: ObjectRef,
  keycloakAnew: boolean,
  sourceKeycloakUrl: string | undefined,
  timeoutMs = 600_000,
): Promise<void> {
  await waitForEntandoReady(c.target, appRef, timeoutMs, c.progress);
  const app = await c.target.get(appRef);
  const secret = await c.target.get(ref);
  const tenants = secret && tenantsOf(secret);
  if (!app || !tenants) {
    c.results.warn(
      `Secret ${ref.namespace}/${ref.name}`,
      `no ${TENANTS_KEY} array in the target: tenants' credentials not set`,
    );
    return;
  }
  const servers = await targetServers(c.target, app, keycloakAnew);
  const set = setServerCredentials(tenants, ref.namespace!, servers, sourceKeycloakUrl);
  if (set.changes.length === 0) {
    c.progress(`${ref.name}: tenants' credentials already the target's`);
    return;
  }
  await c.target.mergePatch(ref, {
    data: { [TENANTS_KEY]: Buffer.from(JSON.stringify(set.tenants)).toString('base64') },
    stringData: null,
  });
  for (const line of set.changes) c.progress(`${ref.name}: ${line}`);
  if (set.changes.some((l) => /Password: set to the target DBMS/.test(l))) {
    const restarted = await restartReaders(c.target, ref.namespace!, new Set([ref.name!]));
    if (restarted.length)
      c.progress(`restarted (they read ${ref.name} at start): ${restarted.join(', ')}`);
  }
}
