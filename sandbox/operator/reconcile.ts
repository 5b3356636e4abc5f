// One reconcile per kind. Idempotent: every step converges or is create-if-absent.
import type { V1Secret } from '@kubernetes/client-node';
import { cmRuntime, portApplied, type CmContext } from './cm.js';
import { provision, type Credential } from './dbms.js';
import { Kube, isNotFound } from './kube.js';
import {
  PROCESSING_INSTRUCTION,
  controllerRef,
  databaseUsername,
  dbmsOf,
  hasInNamespaceDbms,
  names,
  needsProcessing,
  randomClientSecret,
  randomPassword,
  type EntandoResource,
} from './model.js';
import {
  clientSpecs,
  ensureConfidentialClient,
  ensureKeycloakServer,
  ensurePublicClient,
  ensureRealm,
  findKeycloak,
  publicKeycloakBase,
  ssoMode,
  SSO_NAMES,
  type KeycloakEndpoint,
} from './keycloak.js';
import {
  appObjects,
  datasources,
  dbmsObjects,
  pluginObjects,
  secret,
  ssoSecrets,
  type K8sObject,
  type SandboxDbms,
} from './resources.js';

export interface ReconcileContext {
  kube: Kube;
  sandbox: SandboxDbms;
  /** Where the Keycloak distribution is (SANDBOX_KEYCLOAK_DIST); none: no real Keycloak. */
  keycloakDist?: string;
  /** Other Keycloak versions' distributions (SANDBOX_KEYCLOAK_DISTS), by version. */
  keycloakDists?: Record<string, string>;
  log: (msg: string) => void;
  /** Report `successful` only once the generated deployments are ready. */
  waitReady: boolean;
  /** Where the component manager stand-in comes from; none: the CM container runs nothing. */
  cm?: CmContext;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** uid -> generation whose objects and databases are in place (readiness may be pending). */
const provisioned = new Map<string, number>();

/** uid -> what it last logged waiting for (logged once per change). */
const lastWaiting = new Map<string, string>();

export function forget(uid: string): void {
  provisioned.delete(uid);
  lastWaiting.delete(uid);
}

const decode = (s: V1Secret | undefined, key: string) =>
  s?.data?.[key] !== undefined ? Buffer.from(s.data[key], 'base64').toString('utf8') : undefined;

/** DB credential secrets: created only if absent; returns the credentials they hold. */
async function ensureDbSecrets(
  ctx: ReconcileContext,
  cr: EntandoResource,
): Promise<Record<string, Credential>> {
  const dbms = dbmsOf(cr);
  const out: Record<string, Credential> = {};
  if (!hasInNamespaceDbms(dbms)) return out;
  for (const qualifier of datasources(cr)) {
    const name = names.dbSecret(cr.metadata.name, qualifier);
    let existing = await ctx.kube.readSecret(cr.metadata.namespace, name);
    if (!existing) {
      const created = await ctx.kube.createIfAbsent(
        secret(cr, name, {
          username: databaseUsername(cr.metadata.name, qualifier, dbms),
          password: randomPassword(),
        }),
      );
      if (created) ctx.log(`${key(cr)}: created secret ${name}`);
      existing = await ctx.kube.readSecret(cr.metadata.namespace, name);
    } else {
      ctx.log(`${key(cr)}: reusing existing secret ${name}`);
    }
    const username = decode(existing, 'username');
    const password = decode(existing, 'password');
    if (!username || password === undefined) {
      throw new Error(`secret ${name} lacks username/password`);
    }
    out[qualifier] = { username, password };
  }
  return out;
}

async function ensureSsoSecrets(ctx: ReconcileContext, cr: EntandoResource): Promise<void> {
  for (const [name, clientId] of ssoSecrets(cr)) {
    const created = await ctx.kube.createIfAbsent(
      secret(cr, name, { clientId, clientSecret: randomClientSecret() }),
    );
    if (created) ctx.log(`${key(cr)}: created secret ${name}`);
  }
}

/**
 * SSO of a CR. With a real Keycloak in the namespace: its clients made in the realm (found or
 * created), and each `<clientId>-secret` written from Keycloak's secret only when absent.
 * Without one (annotation sandbox.entando.org/keycloak: none, or an external Keycloak): the
 * secrets only, created if absent. Returns false while the Keycloak is not answering yet.
 */
async function ensureSso(
  ctx: ReconcileContext,
  cr: EntandoResource,
): Promise<{ ready: boolean; keycloak?: KeycloakEndpoint }> {
  const sso = {
    kube: ctx.kube,
    sandbox: ctx.sandbox,
    log: ctx.log,
    dist: ctx.keycloakDist,
    dists: ctx.keycloakDists,
  };
  const mode = await ssoMode(sso, cr);
  if (mode !== 'in-namespace') {
    await ensureSsoSecrets(ctx, cr);
    return { ready: true };
  }
  const kc =
    cr.kind === 'EntandoApp'
      ? await ensureKeycloakServer(sso, cr)
      : await findKeycloak(sso, cr.metadata.namespace);
  if (!kc) {
    ctx.log(`${key(cr)}: waiting for Keycloak ${SSO_NAMES.deployment}`);
    return { ready: false };
  }
  const realm = cr.spec?.keycloakToUse?.realm ?? 'entando';
  await ensureRealm(kc, realm);
  for (const client of clientSpecs(cr)) {
    if (client.publicClient) {
      await ensurePublicClient(kc, realm, client.clientId, client.url);
      continue;
    }
    const clientSecret = await ensureConfidentialClient(kc, realm, client);
    const created = await ctx.kube.createIfAbsent(
      secret(cr, `${client.clientId}-secret`, { clientId: client.clientId, clientSecret }),
    );
    if (created) ctx.log(`${key(cr)}: created secret ${client.clientId}-secret`);
  }
  return { ready: true, keycloak: kc };
}

/** The shared in-namespace DBMS objects: converged, each user CR added as an owner. */
async function ensureDbms(
  ctx: ReconcileContext,
  cr: EntandoResource,
  dbms: 'postgresql' | 'mysql',
): Promise<void> {
  const objs = dbmsObjects(cr, dbms, ctx.sandbox);
  const adminSecret = objs.adminSecret as K8sObject & { stringData: Record<string, string> };
  const secretData = Object.fromEntries(
    Object.entries(adminSecret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  const shared: K8sObject[] = [
    { ...adminSecret, stringData: undefined, data: secretData },
    objs.service,
    objs.deployment,
  ];
  for (const obj of shared) {
    // Applied without ownerReferences (another CR may own it too); owners are added below.
    const metadata = { ...obj.metadata };
    delete metadata.ownerReferences;
    const body = Object.fromEntries(
      Object.entries({ ...obj, metadata }).filter(([, v]) => v !== undefined),
    );
    await ctx.kube.apply(body as K8sObject);
    await ctx.kube.addOwner(obj, controllerRef(cr));
  }
}

function key(cr: EntandoResource): string {
  return `${cr.kind}/${cr.metadata.namespace}/${cr.metadata.name}`;
}

async function pvcPhases(kube: Kube, namespace: string, pvcs: string[]) {
  const phases: Record<string, string> = {};
  for (const name of pvcs) {
    try {
      const pvc = await kube.core.readNamespacedPersistentVolumeClaim({ namespace, name });
      phases[name] = pvc.status?.phase ?? 'Pending';
    } catch (err) {
      if (!isNotFound(err)) throw err;
      phases[name] = 'Missing';
    }
  }
  return phases;
}

/** Names of generated deployments not yet ready. */
async function unready(kube: Kube, namespace: string, deployments: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of deployments) {
    try {
      const d = await kube.apps.readNamespacedDeployment({ namespace, name });
      const want = d.spec?.replicas ?? 1;
      const fresh = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
      if (!fresh || (d.status?.readyReplicas ?? 0) < want) out.push(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      out.push(name);
    }
  }
  return out;
}

interface Part {
  qualifier: string;
  deploymentName: string;
  serviceName: string;
  ingressName?: string;
  pvcs: string[];
  ssoClientId?: string;
  webPath?: string;
}

function parts(cr: EntandoResource, objects: K8sObject[]): Part[] {
  const n = cr.metadata.name;
  const hasIngress = objects.some((o) => o.kind === 'Ingress');
  if (cr.kind === 'EntandoApp') {
    return [
      {
        qualifier: 'main',
        deploymentName: names.deployment(n),
        serviceName: names.service(n),
        ingressName: names.ingress(n),
        pvcs: [names.pvc(n, 'server')],
        ssoClientId: n,
        webPath: cr.spec?.ingressPath ?? '/entando-de-app',
      },
      {
        qualifier: 'cm',
        deploymentName: names.deployment(n, 'cm'),
        serviceName: names.service(n, 'cm'),
        ingressName: names.ingress(n),
        pvcs: [names.pvc(n, 'de')],
        ssoClientId: `${n}-de`,
        webPath: '/digital-exchange',
      },
      {
        qualifier: 'ab',
        deploymentName: names.deployment(n, 'ab'),
        serviceName: names.service(n, 'ab'),
        ingressName: names.ingress(n),
        pvcs: [],
        webPath: '/app-builder/',
      },
    ];
  }
  return [
    {
      qualifier: 'main',
      deploymentName: names.deployment(n),
      serviceName: names.service(n),
      ingressName: hasIngress ? names.ingress(n) : undefined,
      pvcs: [names.pvc(n, 'server')],
      ssoClientId: `${n}-server`,
      webPath: hasIngress ? (cr.spec?.ingressPath ?? `/${n}`) : undefined,
    },
  ];
}

async function serverStatuses(ctx: ReconcileContext, cr: EntandoResource, objects: K8sObject[]) {
  const ns = cr.metadata.namespace;
  const host = cr.spec?.ingressHostName;
  const scheme = cr.spec?.tlsSecretName ? 'https' : 'http';
  const realm = cr.spec?.keycloakToUse?.realm ?? 'entando';
  const now = new Date().toISOString();
  const statuses: Record<string, unknown> = {};
  for (const p of parts(cr, objects)) {
    statuses[p.qualifier] = {
      type: p.ingressName ? 'WebServerStatus' : 'ServerStatus',
      qualifier: p.qualifier,
      deploymentName: p.deploymentName,
      serviceName: p.serviceName,
      ...(p.ingressName ? { ingressName: p.ingressName } : {}),
      ...(p.ssoClientId ? { ssoRealm: realm, ssoClientId: p.ssoClientId } : {}),
      ...(p.ssoClientId ? { adminSecretName: `${p.ssoClientId}-secret` } : {}),
      ...(host && p.webPath ? { externalBaseUrl: `${scheme}://${host}${p.webPath}` } : {}),
      persistentVolumeClaimPhases: await pvcPhases(ctx.kube, ns, p.pvcs),
      finished: now,
    };
  }
  const dbms = dbmsOf(cr);
  if (hasInNamespaceDbms(dbms)) {
    statuses.db = {
      type: 'DbServerStatus',
      qualifier: 'db',
      deploymentName: names.dbmsDeployment(dbms),
      serviceName: names.dbmsService(dbms),
      adminSecretName: names.dbmsAdminSecret(dbms),
      persistentVolumeClaimPhases: {},
      finished: now,
    };
  }
  return statuses;
}

/** EntandoApp and EntandoPlugin. */
export async function reconcileWorkload(
  ctx: ReconcileContext,
  cr: EntandoResource,
): Promise<ReconcileResult> {
  if (!needsProcessing(cr)) return {};
  const generation = cr.metadata.generation ?? 1;
  const dbms = dbmsOf(cr);
  let creds: Record<string, Credential> = {};
  let objects: K8sObject[];
  const usernames = () =>
    Object.fromEntries(Object.entries(creds).map(([q, c]) => [q, c.username]));
  if (provisioned.get(cr.metadata.uid) !== generation) {
    ctx.log(`${key(cr)}: processing generation ${generation} (dbms ${dbms})`);
    await ctx.kube.patchCrStatus(cr, { phase: 'requested', entandoDeploymentPhase: 'requested' });
    creds = await ensureDbSecrets(ctx, cr);
    const sso = await ensureSso(ctx, cr);
    if (!sso.ready) return { requeueAfterMs: 3000 };
    if (hasInNamespaceDbms(dbms)) {
      await ensureDbms(ctx, cr, dbms);
      await provision(ctx.sandbox, dbms, Object.values(creds), cr.metadata.namespace);
      ctx.log(
        `${key(cr)}: ${dbms} roles ready: ${Object.values(creds)
          .map((c) => c.username)
          .join(', ')}`,
      );
    }
    // The component manager stand-in runs only where the app's realm is in a real Keycloak.
    const cm =
      cr.kind === 'EntandoApp' && ctx.cm && sso.keycloak
        ? await cmRuntime(ctx.cm, cr, {
            base: sso.keycloak.base,
            publicBase: publicKeycloakBase(cr.metadata.namespace),
          })
        : undefined;
    objects =
      cr.kind === 'EntandoApp' ? appObjects(cr, usernames(), cm) : pluginObjects(cr, usernames());
    for (const obj of objects) await ctx.kube.apply(obj);
    if (cm) portApplied(cm.hostPort);
    provisioned.set(cr.metadata.uid, generation);
    await ctx.kube.patchCrStatus(cr, { phase: 'started', entandoDeploymentPhase: 'started' });
  } else {
    // Only names matter from here on: usernames are needed for mysql URLs, not for names.
    objects = cr.kind === 'EntandoApp' ? appObjects(cr, {}) : pluginObjects(cr, {});
  }
  const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
  if (hasInNamespaceDbms(dbms)) deployments.push(names.dbmsDeployment(dbms));
  const waiting = await unready(ctx.kube, cr.metadata.namespace, deployments);
  if (ctx.waitReady && waiting.length > 0) {
    const what = waiting.join(', ');
    if (lastWaiting.get(cr.metadata.uid) !== what) ctx.log(`${key(cr)}: waiting for ${what}`);
    lastWaiting.set(cr.metadata.uid, what);
    return { requeueAfterMs: 2000 };
  }
  lastWaiting.delete(cr.metadata.uid);
  await ctx.kube.patchCrStatus(cr, {
    phase: 'successful',
    entandoDeploymentPhase: 'successful',
    observedGeneration: generation,
    serverStatuses: await serverStatuses(ctx, cr, objects),
  });
  if (cr.metadata.annotations?.[PROCESSING_INSTRUCTION] === 'force') {
    await ctx.kube.patchCrMetadata(cr, { annotations: { [PROCESSING_INSTRUCTION]: null } });
  }
  provisioned.delete(cr.metadata.uid);
  ctx.log(`${key(cr)}: successful (generation ${generation})`);
  return {};
}

/** EntandoAppPluginLink: nothing to create; successful once app and plugin exist. */
export async function reconcileLink(
  ctx: ReconcileContext,
  cr: EntandoResource,
): Promise<ReconcileResult> {
  if (!needsProcessing(cr)) return {};
  const ns = cr.metadata.namespace;
  const app = cr.spec?.entandoAppName;
  const plugin = cr.spec?.entandoPluginName;
  const appCr = app
    ? await ctx.kube.getCr('EntandoApp', cr.spec?.entandoAppNamespace ?? ns, app)
    : undefined;
  const pluginCr = plugin
    ? await ctx.kube.getCr('EntandoPlugin', cr.spec?.entandoPluginNamespace ?? ns, plugin)
    : undefined;
  if (!appCr || !pluginCr) {
    if (cr.status?.phase !== 'requested') {
      await ctx.kube.patchCrStatus(cr, { phase: 'requested', entandoDeploymentPhase: 'requested' });
    }
    ctx.log(`${key(cr)}: waiting for ${!appCr ? `EntandoApp ${app}` : `EntandoPlugin ${plugin}`}`);
    return { requeueAfterMs: 5000 };
  }
  await ctx.kube.patchCrStatus(cr, {
    phase: 'successful',
    entandoDeploymentPhase: 'successful',
    observedGeneration: cr.metadata.generation ?? 1,
    serverStatuses: {},
  });
  if (cr.metadata.annotations?.[PROCESSING_INSTRUCTION] === 'force') {
    await ctx.kube.patchCrMetadata(cr, { annotations: { [PROCESSING_INSTRUCTION]: null } });
  }
  ctx.log(`${key(cr)}: successful`);
  return {};
}
