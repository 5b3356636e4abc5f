// Pure builders of the Kubernetes objects the operator STAND-IN generates for a CR.
import { CM_PORT_LABEL, type CmRuntime } from './cm.js';
import {
  controllerRef,
  dbmsOf,
  hasInNamespaceDbms,
  names,
  resourceLabels,
  type EntandoResource,
  type EnvVar,
} from './model.js';

export interface DbmsEndpoint {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
}
/** `<cluster dir>/dbms.json`, written by scripts/lib/dbms.sh. */
export interface SandboxDbms {
  postgresql: DbmsEndpoint & { database: string };
  mysql: DbmsEndpoint;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: ReturnType<typeof controllerRef>[];
  };
  [key: string]: unknown;
}

export const PORT_MAP_ANNOTATION = 'sandbox.entando.org/port-map';
const DEFAULT_STORAGE = '2Gi';
const IMAGE_PREFIX = 'registry.hub.docker.com/entando';

function meta(cr: EntandoResource, name: string, extraLabels: Record<string, string> = {}) {
  return {
    name,
    namespace: cr.metadata.namespace,
    labels: { ...resourceLabels(cr), ...extraLabels },
    ownerReferences: [controllerRef(cr)],
  };
}

export function secret(
  cr: EntandoResource,
  name: string,
  stringData: Record<string, string>,
): K8sObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta(cr, name), type: 'Opaque', stringData };
}

export function pvc(cr: EntandoResource, name: string, storage = DEFAULT_STORAGE): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(cr, name),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage } },
      ...(cr.spec?.storageClass ? { storageClassName: cr.spec.storageClass } : {}),
    },
  };
}

export function service(
  cr: EntandoResource,
  name: string,
  deploymentName: string,
  port: number,
): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cr, name),
    spec: {
      type: 'ClusterIP',
      selector: { 'entando.org/deployment': deploymentName },
      ports: [{ name: `port-${port}`, port, targetPort: port, protocol: 'TCP' }],
    },
  };
}

interface ContainerSpec {
  name: string;
  image: string;
  port: number;
  env: EnvVar[];
  pvcName?: string;
  /** An explicit command: the node agent then runs the container as a host process. */
  command?: string[];
}

export function deployment(
  cr: EntandoResource,
  name: string,
  container: ContainerSpec,
  opts: {
    replicas?: number;
    podAnnotations?: Record<string, string>;
    serviceAccount?: string;
    labels?: Record<string, string>;
  } = {},
): K8sObject {
  const podLabels = { ...resourceLabels(cr), 'entando.org/deployment': name, deployment: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(cr, name, opts.labels),
    spec: {
      replicas: opts.replicas ?? 1,
      // Recreate: a ReadWriteOnce PVC cannot be shared by an old and a new pod.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { 'entando.org/deployment': name } },
      template: {
        metadata: {
          labels: podLabels,
          ...(opts.podAnnotations ? { annotations: opts.podAnnotations } : {}),
        },
        spec: {
          ...(opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {}),
          containers: [
            {
              name: container.name,
              image: container.image,
              imagePullPolicy: 'IfNotPresent',
              ...(container.command ? { command: container.command } : {}),
              ports: [{ containerPort: container.port, protocol: 'TCP' }],
              env: container.env,
              ...(container.pvcName
                ? {
                    volumeMounts: [
                      { name: `${container.pvcName}-volume`, mountPath: '/entando-data' },
                    ],
                  }
                : {}),
            },
          ],
          ...(container.pvcName
            ? {
                volumes: [
                  {
                    name: `${container.pvcName}-volume`,
                    persistentVolumeClaim: { claimName: container.pvcName },
                  },
                ],
              }
            : {}),
        },
      },
    },
  };
}

export function ingress(
  cr: EntandoResource,
  paths: { path: string; service: string; port: number }[],
): K8sObject {
  const host = cr.spec?.ingressHostName;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(cr, names.ingress(cr.metadata.name)),
    spec: {
      ...(cr.spec?.tlsSecretName && host
        ? { tls: [{ hosts: [host], secretName: cr.spec.tlsSecretName }] }
        : {}),
      rules: [
        {
          ...(host ? { host } : {}),
          http: {
            paths: paths.map((p) => ({
              path: p.path,
              pathType: 'Prefix',
              backend: { service: { name: p.service, port: { number: p.port } } },
            })),
          },
        },
      ],
    },
  };
}

const secretRef = (name: string, key: string): EnvVar['valueFrom'] => ({
  secretKeyRef: { name, key },
});

/** The in-namespace DBMS deployment: its env points host tools at this cluster's server. */
export function dbmsObjects(
  cr: EntandoResource,
  dbms: 'postgresql' | 'mysql',
  sandbox: SandboxDbms,
): { deployment: K8sObject; service: K8sObject; adminSecret: K8sObject } {
  const admin = names.dbmsAdminSecret(dbms);
  const deploymentName = names.dbmsDeployment(dbms);
  const env: EnvVar[] =
    dbms === 'postgresql'
      ? [
          { name: 'PGHOST', value: '127.0.0.1' },
          { name: 'PGPORT', value: String(sandbox.postgresql.port) },
          { name: 'PGUSER', value: sandbox.postgresql.adminUser },
          { name: 'PGDATABASE', value: 'postgres' },
          // Stands in for the local trust auth of the real image's socket.
          { name: 'PGPASSWORD', valueFrom: secretRef(admin, 'password') },
          { name: 'POSTGRESQL_ADMIN_PASSWORD', valueFrom: secretRef(admin, 'password') },
        ]
      : [
          { name: 'MYSQL_HOST', value: '127.0.0.1' },
          { name: 'MYSQL_TCP_PORT', value: String(sandbox.mysql.port) },
          { name: 'MYSQL_PWD', valueFrom: secretRef(admin, 'password') },
          { name: 'MYSQL_ROOT_PASSWORD', valueFrom: secretRef(admin, 'password') },
        ];
  const port = dbms === 'postgresql' ? 5432 : 3306;
  const hostPort = dbms === 'postgresql' ? sandbox.postgresql.port : sandbox.mysql.port;
  const image =
    dbms === 'postgresql'
      ? `${IMAGE_PREFIX}/entando-postgres-rocky:v14.8`
      : `${IMAGE_PREFIX}/entando-mysql-rocky:8.0.33`;
  const s = dbms === 'postgresql' ? sandbox.postgresql : sandbox.mysql;
  return {
    deployment: deployment(
      cr,
      deploymentName,
      { name: 'db-container', image, port, env },
      { podAnnotations: { [PORT_MAP_ANNOTATION]: `${port}:${hostPort}` } },
    ),
    service: service(cr, names.dbmsService(dbms), deploymentName, port),
    adminSecret: secret(cr, admin, { username: s.adminUser, password: s.adminPassword }),
  };
}

export function jdbcUrl(dbms: 'postgresql' | 'mysql', namespace: string, username: string): string {
  const host = `${names.dbmsService(dbms)}.${namespace}.svc.cluster.local`;
  return dbms === 'postgresql'
    ? `jdbc:postgresql://${host}:5432/${names.pgDatabase}`
    : `jdbc:mysql://${host}:3306/${username}`;
}

/** DB env of one datasource: `<PREFIX>_URL`, `_USERNAME`, `_PASSWORD` from the secret. */
function datasourceEnv(
  cr: EntandoResource,
  prefix: string,
  secretName: string,
  username: string | undefined,
  embeddedUrl: string,
): EnvVar[] {
  const dbms = dbmsOf(cr);
  if (!hasInNamespaceDbms(dbms) || username === undefined) {
    return dbms === 'none' ? [] : [{ name: `${prefix}_URL`, value: embeddedUrl }];
  }
  return [
    { name: `${prefix}_URL`, value: jdbcUrl(dbms, cr.metadata.namespace, username) },
    { name: `${prefix}_USERNAME`, valueFrom: secretRef(secretName, 'username') },
    { name: `${prefix}_PASSWORD`, valueFrom: secretRef(secretName, 'password') },
  ];
}

/**
 * The SSO client env. `<prefix>_REALM` only where the operator writes one (KEYCLOAK_REALM of the
 * app engine); the CM's realm is in its issuer URI (ComponentManagerDeployableContainer.java).
 */
function ssoEnv(
  cr: EntandoResource,
  secretName: string,
  prefix: string,
  withRealm = true,
): EnvVar[] {
  return [
    ...(withRealm
      ? [{ name: `${prefix}_REALM`, value: cr.spec?.keycloakToUse?.realm ?? 'entando' }]
      : []),
    { name: `${prefix}_CLIENT_ID`, valueFrom: secretRef(secretName, 'clientId') },
    { name: `${prefix}_CLIENT_SECRET`, valueFrom: secretRef(secretName, 'clientSecret') },
  ];
}

const APP_IMAGES: Record<string, string> = {
  tomcat: 'entando-de-app-tomcat',
  wildfly: 'entando-de-app-wildfly',
  eap: 'entando-de-app-eap',
};

/** Deployments, services, PVCs and ingress of an EntandoApp (`cm`: how the CM stand-in runs). */
export function appObjects(
  cr: EntandoResource,
  usernames: Record<string, string>,
  cmRuntime?: CmRuntime,
): K8sObject[] {
  const app = cr.metadata.name;
  const ns = cr.metadata.namespace;
  const ingressPath = cr.spec?.ingressPath ?? '/entando-de-app';
  const main = names.deployment(app);
  const cm = names.deployment(app, 'cm');
  const ab = names.deployment(app, 'ab');
  const image =
    cr.spec?.customServerImage ??
    `${IMAGE_PREFIX}/${APP_IMAGES[cr.spec?.standardServerImage ?? 'tomcat'] ?? APP_IMAGES.tomcat}:7.3.0`;
  const mainEnv: EnvVar[] = [
    ...datasourceEnv(
      cr,
      'PORTDB',
      names.dbSecret(app, 'portdb'),
      usernames.portdb,
      'jdbc:derby:/entando-data/databases/entandoPort;create=true',
    ),
    ...datasourceEnv(
      cr,
      'SERVDB',
      names.dbSecret(app, 'servdb'),
      usernames.servdb,
      'jdbc:derby:/entando-data/databases/entandoServ;create=true',
    ),
    ...ssoEnv(cr, `${app}-secret`, 'KEYCLOAK'),
    { name: 'ENTANDO_WEB_CONTEXT', value: ingressPath },
    ...(cr.spec?.environmentVariables ?? []),
  ];
  const cmEnv: EnvVar[] = [
    ...datasourceEnv(
      cr,
      'SPRING_DATASOURCE',
      names.dbSecret(app, 'dedb'),
      usernames.dedb,
      'jdbc:h2:file:/entando-data/databases/de.db;DB_CLOSE_ON_EXIT=FALSE',
    ),
    ...ssoEnv(cr, `${app}-de-secret`, 'SPRING_SECURITY_OAUTH2_CLIENT_REGISTRATION_OIDC', false),
    { name: 'ENTANDO_APP_NAME', value: app },
    {
      name: 'ENTANDO_URL',
      value: `http://${names.service(app)}.${ns}.svc.cluster.local:8080${ingressPath}`,
    },
    ...(cmRuntime?.env ?? []),
  ];
  const serviceAccount = cr.spec?.serviceAccountToUse;
  return [
    pvc(cr, names.pvc(app, 'server')),
    pvc(cr, names.pvc(app, 'de')),
    deployment(
      cr,
      main,
      {
        name: 'server-container',
        image,
        port: 8080,
        env: mainEnv,
        pvcName: names.pvc(app, 'server'),
      },
      { replicas: cr.spec?.replicas ?? 1, serviceAccount },
    ),
    deployment(
      cr,
      cm,
      {
        name: 'de-container',
        image: `${IMAGE_PREFIX}/entando-component-manager:7.3.0`,
        port: 8083,
        env: cmEnv,
        pvcName: names.pvc(app, 'de'),
        command: cmRuntime?.command,
      },
      {
        serviceAccount,
        ...(cmRuntime
          ? {
              podAnnotations: { [PORT_MAP_ANNOTATION]: `8083:${cmRuntime.hostPort}` },
              labels: { [CM_PORT_LABEL]: String(cmRuntime.hostPort) },
            }
          : {}),
      },
    ),
    deployment(cr, ab, {
      name: 'appbuilder-container',
      image: `${IMAGE_PREFIX}/app-builder:7.3.0`,
      port: 8081,
      env: [{ name: 'DOMAIN', value: ingressPath }],
    }),
    service(cr, names.service(app), main, 8080),
    service(cr, names.service(app, 'cm'), cm, 8083),
    service(cr, names.service(app, 'ab'), ab, 8081),
    ingress(cr, [
      { path: ingressPath, service: names.service(app), port: 8080 },
      { path: '/digital-exchange', service: names.service(app, 'cm'), port: 8083 },
      { path: '/app-builder/', service: names.service(app, 'ab'), port: 8081 },
    ]),
  ];
}

/** Deployment, service, PVC (and ingress when a host is set) of an EntandoPlugin. */
export function pluginObjects(cr: EntandoResource, usernames: Record<string, string>): K8sObject[] {
  const plugin = cr.metadata.name;
  const dep = names.deployment(plugin);
  const ingressPath = cr.spec?.ingressPath ?? `/${plugin}`;
  const env: EnvVar[] = [
    ...datasourceEnv(
      cr,
      'SPRING_DATASOURCE',
      names.dbSecret(plugin, 'plugindb'),
      usernames.plugindb,
      `jdbc:h2:file:/entando-data/databases/${plugin}.db;DB_CLOSE_ON_EXIT=FALSE`,
    ),
    ...ssoEnv(cr, `${plugin}-server-secret`, 'SPRING_SECURITY_OAUTH2_CLIENT_REGISTRATION_OIDC'),
    { name: 'SERVER_SERVLET_CONTEXT_PATH', value: ingressPath },
    ...(cr.spec?.environmentVariables ?? []),
  ];
  const objects: K8sObject[] = [
    pvc(cr, names.pvc(plugin, 'server')),
    deployment(
      cr,
      dep,
      {
        name: 'server-container',
        image: cr.spec?.image ?? `${IMAGE_PREFIX}/entando-sample-plugin:1.0.0`,
        port: 8081,
        env,
        pvcName: names.pvc(plugin, 'server'),
      },
      {
        replicas: cr.spec?.replicas ?? 1,
        serviceAccount: cr.spec?.serviceAccountToUse ?? 'entando-plugin',
      },
    ),
    service(cr, names.service(plugin), dep, 8081),
  ];
  if (cr.spec?.ingressHostName) {
    objects.push(ingress(cr, [{ path: ingressPath, service: names.service(plugin), port: 8081 }]));
  }
  return objects;
}

/** Datasource qualifiers (DB secrets) of a CR; none when embedded/none/oracle. */
export function datasources(cr: EntandoResource): string[] {
  if (!hasInNamespaceDbms(dbmsOf(cr))) return [];
  return cr.kind === 'EntandoApp' ? ['portdb', 'servdb', 'dedb'] : ['plugindb'];
}

/** SSO client secrets of a CR: [secret name, clientId]. */
export function ssoSecrets(cr: EntandoResource): [string, string][] {
  const n = cr.metadata.name;
  return cr.kind === 'EntandoApp'
    ? [
        [`${n}-secret`, n],
        [`${n}-de-secret`, `${n}-de`],
      ]
    : [[`${n}-server-secret`, `${n}-server`]];
}
