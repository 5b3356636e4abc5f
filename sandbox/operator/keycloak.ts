// The operator STAND-IN's Keycloak: one real Keycloak 18.0.2 (WildFly distribution, from
// scripts/lib/keycloak.sh; 15.0.2 in a namespace labelled for it) per namespace, as Entando's operator deploys `default-sso-in-namespace`,
// and the realm/clients Entando's KeycloakClientCreator makes. Follows
// entando-k8s-operator-common (DefaultKeycloakClient.ensureRealm, KeycloakClientCreator,
// prepareClientAndReturnSecret/updateClientWithId: clients found or created with a generated
// secret, redirect URIs and web origins only appended, k8s secret written only when absent) and
// entando-k8s-keycloak-controller (KeycloakDeployableContainer: DB_* env, admin secret, PVC at
// /opt/jboss/keycloak/standalone/data). See /work/shared/entando/KEYCLOAK.md §4-5.
import { randomInt } from 'node:crypto';
import { KeycloakAdmin, type ClientRepresentation } from '../../src/components/keycloak/admin.js';
import { provision } from './dbms.js';
import { Kube, isNotFound } from './kube.js';
import {
  API_VERSION,
  controllerRef,
  dbmsOf,
  randomClientSecret,
  randomPassword,
  type EntandoResource,
  type EnvVar,
} from './model.js';
import { PORT_MAP_ANNOTATION, secret, type K8sObject, type SandboxDbms } from './resources.js';

export const KEYCLOAK_ANNOTATION = 'sandbox.entando.org/keycloak';
export const SSO = 'default-sso-in-namespace';
export const SSO_NAMES = {
  server: SSO,
  deployment: `${SSO}-deployment`,
  service: `${SSO}-service`,
  ingress: `${SSO}-ingress`,
  adminSecret: `${SSO}-admin-secret`,
  dbSecret: `${SSO}-db-secret`,
  pvc: `${SSO}-pvc`,
};
const OFFSET_LABEL = 'sandbox.entando.org/keycloak-port-offset';
const DIST_MOUNT = '/opt/jboss/keycloak';
const OFFSET_STEP = 20;
const OFFSETS_PER_CLUSTER = 25;
const ADMIN_USER = 'entando_keycloak_admin';

/**
 * The Keycloak's public URL (its ingress host): Entando's Keycloak runs with
 * KEYCLOAK_FRONTEND_URL set to it, so every token carries `iss` <this>/realms/<realm>, also when
 * obtained through a port-forward; the CM and plugins are configured with that issuer.
 */
export function publicKeycloakBase(namespace: string): string {
  return `http://sso.${namespace}.sandbox.local/auth`;
}

export interface SsoContext {
  kube: Kube;
  sandbox: SandboxDbms;
  log: (msg: string) => void;
  /** SANDBOX_KEYCLOAK_DIST: where scripts/lib/keycloak.sh installed the distribution. */
  dist?: string;
  /** SANDBOX_KEYCLOAK_DISTS: the other versions it installed, by version. */
  dists?: Record<string, string>;
}

/** Sandbox only: a namespace labelled so runs that Keycloak version (one installed). */
export const KEYCLOAK_VERSION_LABEL = 'sandbox.entando.org/keycloak-version';

/** Entando's image of each version the sandbox runs (7.1.6's image info names entando-keycloak 7.1.1, which runs 15.1.1; 15.0.2 stands for it). */
const IMAGES: Record<string, string> = {
  '18.0.2': 'registry.hub.docker.com/entando/entando-keycloak:7.3.0',
  '15.0.2': 'registry.hub.docker.com/entando/entando-keycloak:7.1.1',
};

/** `15.0.2=/dist/15,...` (scripts/lib/keycloak.sh keycloak_other_dists). */
export function parseDists(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** The distribution and image of the namespace's Keycloak: its label's version, or the default. */
async function keycloakBuild(
  ctx: SsoContext,
  ns: string,
): Promise<{ dist: string; image: string }> {
  const n = await ctx.kube.core.readNamespace({ name: ns });
  const version = n.metadata?.labels?.[KEYCLOAK_VERSION_LABEL];
  if (!version) return { dist: ctx.dist!, image: IMAGES['18.0.2'] };
  const dist = ctx.dists?.[version];
  if (!dist || !IMAGES[version]) {
    throw new Error(
      `namespace ${ns}: ${KEYCLOAK_VERSION_LABEL}=${version} is not installed (have: 18.0.2 ${Object.keys(ctx.dists ?? {}).join(' ')})`,
    );
  }
  return { dist, image: IMAGES[version] };
}

/** How a CR gets its SSO: a real Keycloak in the namespace, an external one, or none. */
export type SsoMode = 'in-namespace' | 'external' | 'none';

export async function ssoMode(ctx: SsoContext, cr: EntandoResource): Promise<SsoMode> {
  if (!ctx.dist) return 'none';
  const app = await appOf(ctx, cr);
  if (!app) {
    // A plugin not linked (yet): it uses the namespace's Keycloak when there is one.
    const d = await ctx.kube.apps
      .readNamespacedDeployment({ namespace: cr.metadata.namespace, name: SSO_NAMES.deployment })
      .catch(() => undefined);
    return d ? 'in-namespace' : 'none';
  }
  if (app.metadata.annotations?.[KEYCLOAK_ANNOTATION] === 'none') return 'none';
  const ref = app.spec?.keycloakToUse as { name?: string; namespace?: string } | undefined;
  if (ref?.name && ref.name !== SSO) {
    const server = await ctx.kube.custom
      .getNamespacedCustomObject({
        group: 'entando.org',
        version: 'v1',
        namespace: ref.namespace ?? app.metadata.namespace,
        plural: 'entandokeycloakservers',
        name: ref.name,
      })
      .catch(() => undefined);
    const strategy = (server as { spec?: { provisioningStrategy?: string } } | undefined)?.spec
      ?.provisioningStrategy;
    if (strategy === 'UseExternal') return 'external';
  }
  return 'in-namespace';
}

/** The EntandoApp a CR belongs to: itself, or the app its plugin is linked to. */
async function appOf(ctx: SsoContext, cr: EntandoResource): Promise<EntandoResource | undefined> {
  if (cr.kind === 'EntandoApp') return cr;
  const links = await ctx.kube.listCrs('EntandoAppPluginLink');
  const link = links.find(
    (l) =>
      l.metadata.namespace === cr.metadata.namespace &&
      l.spec?.entandoPluginName === cr.metadata.name,
  );
  if (!link?.spec?.entandoAppName) return undefined;
  return ctx.kube.getCr(
    'EntandoApp',
    link.spec.entandoAppNamespace ?? link.metadata.namespace,
    link.spec.entandoAppName,
  );
}

let allocating: Promise<unknown> = Promise.resolve();
/** Offsets handed out and not yet visible as deployment labels. */
const pending = new Set<number>();

/** A port offset for a new Keycloak: distinct per cluster and per instance, ports never overlap. */
async function allocateOffset(ctx: SsoContext): Promise<number> {
  const run = allocating.then(async () => {
    const list = await ctx.kube.apps.listDeploymentForAllNamespaces({
      labelSelector: OFFSET_LABEL,
    });
    const used = new Set(list.items.map((d) => Number(d.metadata?.labels?.[OFFSET_LABEL])));
    // Source (PostgreSQL on 16432) starts at 1000, target (26432) at 1500, moved sandboxes after.
    const base = 1000 + (Math.floor(ctx.sandbox.postgresql.port / 10000) - 1) * 500;
    for (let i = 0; i < OFFSETS_PER_CLUSTER; i++) {
      const off = base + i * OFFSET_STEP;
      if (!used.has(off) && !pending.has(off)) {
        pending.add(off);
        return off;
      }
    }
    throw new Error(
      `no free Keycloak port offset (${OFFSETS_PER_CLUSTER} Keycloaks in this cluster)`,
    );
  });
  allocating = run.catch(() => undefined);
  return run;
}

function meta(owner: EntandoResource, name: string, labels: Record<string, string> = {}) {
  return {
    name,
    namespace: owner.metadata.namespace,
    labels: {
      EntandoKeycloakServer: SSO,
      'entando.org/entando-resource-kind': 'EntandoKeycloakServer',
      ...labels,
    },
    ownerReferences: [{ ...controllerRef(owner), apiVersion: owner.apiVersion || API_VERSION }],
  };
}

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

export interface KeycloakEndpoint {
  base: string;
  admin: KeycloakAdmin;
}

/**
 * The namespace's Keycloak: EntandoKeycloakServer, admin and DB secrets, PVC, deployment,
 * service, ingress. Returns its endpoint once it answers, undefined while it starts.
 */
export async function ensureKeycloakServer(
  ctx: SsoContext,
  app: EntandoResource,
): Promise<KeycloakEndpoint | undefined> {
  const ns = app.metadata.namespace;
  const dbms = dbmsOf(app) === 'postgresql' ? 'postgresql' : 'embedded';
  const server = await ensureServerCr(ctx, app, dbms);
  await ctx.kube.createIfAbsent(
    secret(server, SSO_NAMES.adminSecret, { username: ADMIN_USER, password: randomPassword() }),
  );
  const admin = await ctx.kube.readSecret(ns, SSO_NAMES.adminSecret);
  const creds = {
    username: decode(admin, 'username') ?? ADMIN_USER,
    password: decode(admin, 'password') ?? '',
  };
  const env: EnvVar[] = [
    { name: 'KEYCLOAK_USER', valueFrom: secretRef(SSO_NAMES.adminSecret, 'username') },
    { name: 'KEYCLOAK_PASSWORD', valueFrom: secretRef(SSO_NAMES.adminSecret, 'password') },
    { name: 'PROXY_ADDRESS_FORWARDING', value: 'true' },
    { name: 'KEYCLOAK_FRONTEND_URL', value: publicKeycloakBase(ns) },
  ];
  if (dbms === 'postgresql') {
    await ctx.kube.createIfAbsent(
      secret(server, SSO_NAMES.dbSecret, {
        username: `default_sso_in_namespace_db_${String(randomInt(0, 100000)).padStart(5, '0')}`,
        password: randomPassword(),
      }),
    );
    const db = await ctx.kube.readSecret(ns, SSO_NAMES.dbSecret);
    await provision(
      ctx.sandbox,
      'postgresql',
      [{ username: decode(db, 'username')!, password: decode(db, 'password')! }],
      ns,
    );
    env.push(
      { name: 'DB_VENDOR', value: 'postgres' },
      // The sandbox's PostgreSQL runs on the host (the real env names the in-namespace service).
      { name: 'DB_ADDR', value: '127.0.0.1' },
      { name: 'DB_PORT', value: String(ctx.sandbox.postgresql.port) },
      { name: 'DB_DATABASE', value: ctx.sandbox.postgresql.database },
      { name: 'DB_USER', valueFrom: secretRef(SSO_NAMES.dbSecret, 'username') },
      { name: 'DB_PASSWORD', valueFrom: secretRef(SSO_NAMES.dbSecret, 'password') },
      { name: 'DB_SCHEMA', valueFrom: secretRef(SSO_NAMES.dbSecret, 'username') },
    );
  } else {
    env.push({ name: 'DB_VENDOR', value: 'h2' });
  }
  const existing = await ctx.kube.apps
    .readNamespacedDeployment({ namespace: ns, name: SSO_NAMES.deployment })
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  const known = existing?.metadata?.labels?.[OFFSET_LABEL];
  const offset = known ? Number(known) : await allocateOffset(ctx);
  env.push({ name: 'SANDBOX_KEYCLOAK_PORT_OFFSET', value: String(offset) });
  const build = await keycloakBuild(ctx, ns);
  for (const obj of keycloakObjects(server, env, offset, build)) await ctx.kube.apply(obj);
  pending.delete(offset);
  const base = `http://127.0.0.1:${8080 + offset}/auth`;
  if (!(await answers(base))) return undefined;
  return { base, admin: new KeycloakAdmin(base, creds) };
}

async function ensureServerCr(
  ctx: SsoContext,
  app: EntandoResource,
  dbms: string,
): Promise<EntandoResource> {
  const ns = app.metadata.namespace;
  const body: K8sObject = {
    apiVersion: API_VERSION,
    kind: 'EntandoKeycloakServer',
    metadata: {
      name: SSO,
      namespace: ns,
      // Made by the operator for the app (not a user's): origin and owner say so.
      annotations: { 'entando.org/origin-uuid': app.metadata.uid },
      ownerReferences: [{ ...controllerRef(app), controller: false }],
    },
    spec: {
      dbms,
      standardImage: 'keycloak',
      ingressHostName: `sso.${ns}.sandbox.local`,
      replicas: 1,
      provisioningStrategy: 'DeployDirectly',
    },
  };
  await ctx.kube.apply(body);
  const cr = await ctx.kube.custom.getNamespacedCustomObject({
    group: 'entando.org',
    version: 'v1',
    namespace: ns,
    plural: 'entandokeycloakservers',
    name: SSO,
  });
  return cr as EntandoResource;
}

function keycloakObjects(
  server: EntandoResource,
  env: EnvVar[],
  offset: number,
  { dist, image }: { dist: string; image: string },
): K8sObject[] {
  const ns = server.metadata.namespace;
  const podLabels = {
    EntandoKeycloakServer: SSO,
    'entando.org/deployment': SSO_NAMES.deployment,
    deployment: SSO_NAMES.deployment,
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(server, SSO_NAMES.pvc),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(server, SSO_NAMES.deployment, { [OFFSET_LABEL]: String(offset) }),
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'entando.org/deployment': SSO_NAMES.deployment } },
        template: {
          metadata: {
            labels: podLabels,
            annotations: { [PORT_MAP_ANNOTATION]: `8080:${8080 + offset}` },
          },
          spec: {
            containers: [
              {
                name: 'server-container',
                image,
                imagePullPolicy: 'IfNotPresent',
                // The image's entrypoint; here the stand-in of it in the distribution.
                command: [`${DIST_MOUNT}/bin/sandbox-entrypoint.sh`],
                // What the jboss/keycloak image's entrypoint does with KEYCLOAK_FRONTEND_URL: the
                // server-level hostname SPI frontendUrl (the realm's attributes stay untouched).
                args: ['-Dkeycloak.frontendUrl=$(KEYCLOAK_FRONTEND_URL)'],
                ports: [{ containerPort: 8080, protocol: 'TCP', name: 'server-port' }],
                env,
                resources: { limits: { memory: '1200Mi', cpu: '1000m' } },
                volumeMounts: [
                  { name: 'keycloak-dist', mountPath: DIST_MOUNT },
                  { name: 'standalone', mountPath: `${DIST_MOUNT}/standalone` },
                  { name: `${SSO_NAMES.pvc}-volume`, mountPath: `${DIST_MOUNT}/standalone/data` },
                ],
              },
            ],
            volumes: [
              // Sandbox only: the distribution is the image's content, mounted from the host.
              { name: 'keycloak-dist', hostPath: { path: dist, type: 'Directory' } },
              { name: 'standalone', emptyDir: {} },
              {
                name: `${SSO_NAMES.pvc}-volume`,
                persistentVolumeClaim: { claimName: SSO_NAMES.pvc },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(server, SSO_NAMES.service),
      spec: {
        selector: { 'entando.org/deployment': SSO_NAMES.deployment },
        ports: [{ name: 'server-port', port: 8080, targetPort: 8080, protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(server, SSO_NAMES.ingress),
      spec: {
        rules: [
          {
            host: `sso.${ns}.sandbox.local`,
            http: {
              paths: [
                {
                  path: '/auth',
                  pathType: 'Prefix',
                  backend: { service: { name: SSO_NAMES.service, port: { number: 8080 } } },
                },
              ],
            },
          },
        ],
      },
    },
  ];
}

async function answers(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/realms/master`, { signal: AbortSignal.timeout(5000) });
    return res.ok;
  } catch {
    return false;
  }
}

const decode = (s: { data?: Record<string, string> } | undefined, key: string) =>
  s?.data?.[key] !== undefined ? Buffer.from(s.data[key], 'base64').toString('utf8') : undefined;

/** The endpoint of the namespace's Keycloak if it runs and answers (plugins use the app's). */
export async function findKeycloak(
  ctx: SsoContext,
  namespace: string,
): Promise<KeycloakEndpoint | undefined> {
  const d = await ctx.kube.apps
    .readNamespacedDeployment({ namespace, name: SSO_NAMES.deployment })
    .catch(() => undefined);
  const off = d?.metadata?.labels?.[OFFSET_LABEL];
  if (!off) return undefined;
  const base = `http://127.0.0.1:${8080 + Number(off)}/auth`;
  if (!(await answers(base))) return undefined;
  const admin = await ctx.kube.readSecret(namespace, SSO_NAMES.adminSecret);
  return {
    base,
    admin: new KeycloakAdmin(base, {
      username: decode(admin, 'username') ?? ADMIN_USER,
      password: decode(admin, 'password') ?? '',
    }),
  };
}

export interface ClientSpec {
  clientId: string;
  /** Roles the client must have (others are deleted, as updateClientWithId does). */
  roles: { code: string; name?: string }[];
  /** Roles its service account gets: `client:role` pairs. */
  permissions: { client: string; role: string }[];
  /** <scheme>://<host><webContext> whose `/*` is appended to the redirect URIs. */
  url?: string;
}

/** Realm `entando` (created if absent, as DefaultKeycloakClient.ensureRealm). */
export async function ensureRealm(kc: KeycloakEndpoint, realm: string): Promise<void> {
  if (await kc.admin.realmExists(realm)) return;
  try {
    await kc.admin.call('POST', '/realms', { realm, enabled: true, sslRequired: 'none' });
  } catch (err) {
    // The app and a plugin may both create it: the other one won.
    if ((err as { status?: number }).status !== 409) throw err;
  }
}

/** The public client `entando-web`: redirect `<url>/*` and web origin appended. */
export async function ensurePublicClient(
  kc: KeycloakEndpoint,
  realm: string,
  clientId: string,
  origin: string | undefined,
): Promise<void> {
  const r = encodeURIComponent(realm);
  const found = await kc.admin.findClient(realm, clientId);
  const redirect = origin ? [`${origin}/*`] : [];
  const web = origin ? [origin] : [];
  if (!found) {
    await kc.admin.call('POST', `/realms/${r}/clients`, {
      clientId,
      publicClient: true,
      enabled: true,
      redirectUris: redirect,
      webOrigins: web,
    });
    return;
  }
  await appendUris(kc, realm, found, redirect, web);
}

async function appendUris(
  kc: KeycloakEndpoint,
  realm: string,
  client: ClientRepresentation,
  redirect: string[],
  web: string[],
): Promise<void> {
  const redirectUris = [...new Set([...(client.redirectUris ?? []), ...redirect])];
  const webOrigins = [...new Set([...(client.webOrigins ?? []), ...web])];
  if (
    redirectUris.length === (client.redirectUris ?? []).length &&
    webOrigins.length === (client.webOrigins ?? []).length
  ) {
    return;
  }
  await kc.admin.call('PUT', `/realms/${encodeURIComponent(realm)}/clients/${client.id}`, {
    ...client,
    redirectUris,
    webOrigins,
  });
}

/**
 * prepareClientAndReturnSecret: the confidential client found or created (service account,
 * direct access grants, a generated secret), its roles and service-account permissions
 * converged, URIs appended; returns the client's current secret in Keycloak.
 */
export async function ensureConfidentialClient(
  kc: KeycloakEndpoint,
  realm: string,
  spec: ClientSpec,
): Promise<string> {
  const r = `/realms/${encodeURIComponent(realm)}`;
  let client = await kc.admin.findClient(realm, spec.clientId);
  if (!client) {
    await kc.admin.call('POST', `${r}/clients`, {
      clientId: spec.clientId,
      enabled: true,
      publicClient: false,
      serviceAccountsEnabled: true,
      directAccessGrantsEnabled: true,
      standardFlowEnabled: true,
      redirectUris: [],
      webOrigins: [],
    });
    client = (await kc.admin.findClient(realm, spec.clientId))!;
    await kc.admin.call('POST', `${r}/clients/${client.id}/client-secret`);
  }
  const have = await kc.admin.get<{ name: string }[]>(`${r}/clients/${client.id}/roles`);
  const want = new Set(spec.roles.map((x) => x.code));
  for (const role of have) {
    if (!want.has(role.name)) {
      await kc.admin.call(
        'DELETE',
        `${r}/clients/${client.id}/roles/${encodeURIComponent(role.name)}`,
      );
    }
  }
  for (const role of spec.roles) {
    if (!have.some((h) => h.name === role.code)) {
      await kc.admin.call('POST', `${r}/clients/${client.id}/roles`, {
        name: role.code,
        description: role.name ?? role.code,
      });
    }
  }
  if (spec.permissions.length > 0) {
    const sa = await kc.admin.get<{ id: string }>(`${r}/clients/${client.id}/service-account-user`);
    for (const p of spec.permissions) {
      const target = await kc.admin.findClient(realm, p.client);
      if (!target)
        throw new Error(`client ${p.client} not found for ${spec.clientId}'s permission`);
      const role = await kc.admin.get<{ id: string; name: string }>(
        `${r}/clients/${target.id}/roles/${encodeURIComponent(p.role)}`,
      );
      await kc.admin.call('POST', `${r}/users/${sa.id}/role-mappings/clients/${target.id}`, [role]);
    }
  }
  if (spec.url) {
    const origin = new URL(spec.url).origin;
    const fresh = (await kc.admin.findClient(realm, spec.clientId))!;
    await appendUris(kc, realm, fresh, [`${spec.url}/*`], [origin]);
  }
  return (await kc.admin.clientSecret(realm, client.id!)) ?? randomClientSecret();
}

/** The clients KeycloakClientCreator makes for a CR (app: entando-web, <app>, <app>-de). */
export function clientSpecs(cr: EntandoResource): (ClientSpec & { publicClient?: boolean })[] {
  const n = cr.metadata.name;
  const host = cr.spec?.ingressHostName;
  const origin = host ? `${cr.spec?.tlsSecretName ? 'https' : 'http'}://${host}` : undefined;
  const spec = cr.spec as
    | {
        roles?: { code: string; name?: string }[];
        permissions?: { clientId: string; role: string }[];
        ingressPath?: string;
      }
    | undefined;
  if (cr.kind === 'EntandoApp') {
    return [
      { clientId: 'entando-web', publicClient: true, roles: [], permissions: [], url: origin },
      {
        clientId: n,
        roles: [{ code: 'superuser', name: 'superuser' }],
        permissions: [{ client: 'realm-management', role: 'realm-admin' }],
        url: origin && `${origin}${spec?.ingressPath ?? '/entando-de-app'}`,
      },
      {
        clientId: `${n}-de`,
        roles: [],
        permissions: [{ client: n, role: 'superuser' }],
        url: origin && `${origin}/digital-exchange`,
      },
    ];
  }
  return [
    {
      clientId: `${n}-server`,
      roles: spec?.roles ?? [],
      permissions: (spec?.permissions ?? []).map((p) => ({ client: p.clientId, role: p.role })),
      url: origin && `${origin}${spec?.ingressPath ?? `/${n}`}`,
    },
  ];
}
