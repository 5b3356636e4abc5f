import type { AccessNeed } from '../kube/access.js';
import type { KubeObject } from '../kube/object.js';

/** Every object of a schedule carries it, valued with the schedule's name. */
export const SCHEDULE_LABEL = 'backup.entando.org/schedule';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kubectl-entando' } as const;
/** Where the job's container finds the recipients (a ConfigMap volume). */
export const RECIPIENTS_DIR = '/etc/kubectl-entando';
export const RECIPIENTS_FILE = `${RECIPIENTS_DIR}/recipients`;
/** The annotations on the CronJob that `describe` reads back. */
export const ANNOTATIONS = {
  app: 'backup.entando.org/app',
  to: 'backup.entando.org/to',
  retention: 'backup.entando.org/retention',
  /** The namespaces holding a Role and RoleBinding of the schedule (delete finds them). */
  roleNamespaces: 'backup.entando.org/role-namespaces',
} as const;

/** The AWS SDK variables copied into the schedule's Secret from the user's environment. */
export const S3_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
] as const;

export interface ScheduleSpec {
  name: string;
  /** The app's namespace: every object but the extra Roles lives there. */
  namespace: string;
  app: string;
  cron: string;
  /** s3://BUCKET/PREFIX/ */
  to: string;
  /** age1... public keys only. */
  recipients: string[];
  image: string;
  /** What a backup of this app needs (backupAccessNeeds): the Roles grant exactly that. */
  access: AccessNeed[];
  /** The S3 credentials: copied into the schedule's Secret, or an existing Secret's name. */
  s3: { copied: Record<string, string> } | { secret: string };
  s3Endpoint?: string;
  s3PathStyle?: boolean;
  /** prune's flags (--keep-daily 7 ...); none: the job does not prune. */
  retention: string[];
  /** backup flags passed on (--quiesce, --keycloak skip). */
  backupFlags: string[];
  /** Extra env of the job's containers (--job-env). */
  env: Record<string, string>;
  /** activeDeadlineSeconds of each job. */
  deadlineSeconds: number;
  startingDeadlineSeconds: number;
  historyLimit: number;
}

/** The name of every object of a schedule (CronJob names are at most 52 characters). */
export const objectName = (schedule: string) => `entando-backup-${schedule}`;

export const MAX_NAME = 52 - objectName('').length;

/** The prune flag that identifies the schedule's archives without a key (docs/schedules.md). */
export const seriesFlag = (spec: Pick<ScheduleSpec, 'namespace' | 'app'>) => [
  '--by-name',
  `${spec.namespace}/${spec.app}`,
];

/**
 * The objects of a schedule, in the order they are applied: ServiceAccount, a Role and a
 * RoleBinding per namespace the backup reads (the app's, and its bundle repositories' or
 * Keycloak's when elsewhere), the S3 Secret (unless an existing one is named), the recipients
 * ConfigMap, the CronJob. Never a private key: the job can write archives, not read them.
 */
export function scheduleObjects(spec: ScheduleSpec): KubeObject[] {
  const name = objectName(spec.name);
  const meta = (namespace: string, extra: Record<string, unknown> = {}) => ({
    name,
    namespace,
    labels: { ...MANAGED_BY, [SCHEDULE_LABEL]: spec.name },
    ...extra,
  });
  const rbac = Object.entries(roleRules(spec.access)).flatMap(([ns, rules]) => [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(ns), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(ns),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: spec.namespace }],
    },
  ]);
  const secret =
    'copied' in spec.s3
      ? [
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: meta(spec.namespace),
            type: 'Opaque',
            data: Object.fromEntries(
              Object.entries(spec.s3.copied).map(([k, v]) => [
                k,
                Buffer.from(v).toString('base64'),
              ]),
            ),
          },
        ]
      : [];
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(spec.namespace),
      automountServiceAccountToken: true,
    },
    ...rbac,
    ...secret,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(spec.namespace),
      data: { recipients: spec.recipients.map((r) => `${r}\n`).join('') },
    },
    cronJob(spec, meta(spec.namespace, { annotations: annotations(spec) })),
  ];
}

function annotations(spec: ScheduleSpec): Record<string, string> {
  return {
    [ANNOTATIONS.app]: spec.app,
    [ANNOTATIONS.to]: spec.to,
    [ANNOTATIONS.retention]: spec.retention.join(' '),
    [ANNOTATIONS.roleNamespaces]: Object.keys(roleRules(spec.access)).join(','),
  };
}

/**
 * One rule per resource (and subresource), its verbs sorted, per namespace: the needs as RBAC.
 * A cluster-wide need cannot be granted by a Role: none of a backup's is, and one would be a
 * bug here, not something to grant silently.
 */
export function roleRules(access: AccessNeed[]): Record<string, RoleRule[]> {
  const byNs = new Map<
    string,
    Map<string, { group: string; resource: string; verbs: Set<string> }>
  >();
  for (const n of access) {
    if (n.namespace === undefined) {
      throw new Error(`a schedule's Role cannot grant the cluster-wide ${n.verb} ${n.resource}`);
    }
    const resource = n.subresource ? `${n.resource}/${n.subresource}` : n.resource;
    const rules = byNs.get(n.namespace) ?? new Map();
    byNs.set(n.namespace, rules);
    const key = `${n.group} ${resource}`;
    const rule = rules.get(key) ?? { group: n.group, resource, verbs: new Set<string>() };
    rules.set(key, rule);
    rule.verbs.add(n.verb);
  }
  return Object.fromEntries(
    [...byNs.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([ns, rules]) => [
        ns,
        [...rules.values()]
          .sort((a, b) => `${a.group} ${a.resource}`.localeCompare(`${b.group} ${b.resource}`))
          .map((r) => ({
            apiGroups: [r.group],
            resources: [r.resource],
            verbs: [...r.verbs].sort(),
          })),
      ]),
  );
}

export interface RoleRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The argv of the backup container (one process: the image has no shell). */
export function backupArgs(spec: ScheduleSpec): string[] {
  return [
    'backup',
    spec.app,
    '-n',
    spec.namespace,
    '-f',
    spec.to,
    '-R',
    RECIPIENTS_FILE,
    ...spec.backupFlags,
    ...s3Flags(spec),
    '--progress',
    'none',
    '-o',
    'json',
  ];
}

/** The argv of the prune container: the schedule's retention, without a key (by name). */
export function pruneArgs(spec: ScheduleSpec): string[] {
  return [
    'prune',
    spec.to,
    ...spec.retention,
    '--app',
    spec.app,
    ...seriesFlag(spec),
    ...s3Flags(spec),
    '-o',
    'json',
  ];
}

function s3Flags(spec: ScheduleSpec): string[] {
  return [
    ...(spec.s3Endpoint ? ['--s3-endpoint', spec.s3Endpoint] : []),
    ...(spec.s3PathStyle === undefined
      ? []
      : [spec.s3PathStyle ? '--s3-path-style' : '--no-s3-path-style']),
  ];
}

/** The CronJob: the backup as an init container, then (with a retention) prune. */
function cronJob(spec: ScheduleSpec, metadata: KubeObject['metadata']): KubeObject {
  const name = objectName(spec.name);
  const secretName = 'copied' in spec.s3 ? name : spec.s3.secret;
  const container = (role: 'backup' | 'prune', args: string[]) => ({
    name: role,
    image: spec.image,
    command: ['kubectl-entando'],
    args,
    envFrom: [{ secretRef: { name: secretName } }],
    env: [
      { name: 'HOME', value: '/tmp' },
      ...Object.entries(spec.env).map(([k, value]) => ({ name: k, value })),
    ],
    volumeMounts: [
      { name: 'recipients', mountPath: RECIPIENTS_DIR, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  });
  const backup = container('backup', backupArgs(spec));
  const prune = spec.retention.length > 0 ? container('prune', pruneArgs(spec)) : undefined;
  const labels = { ...MANAGED_BY, [SCHEDULE_LABEL]: spec.name };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata,
    spec: {
      schedule: spec.cron,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: spec.startingDeadlineSeconds,
      successfulJobsHistoryLimit: spec.historyLimit,
      failedJobsHistoryLimit: spec.historyLimit,
      suspend: false,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: spec.deadlineSeconds,
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              automountServiceAccountToken: true,
              restartPolicy: 'Never',
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65532,
                runAsGroup: 65532,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              // Init containers run in order and stop the pod at the first failure: a failed
              // backup never prunes. Without a retention the backup is the only container.
              ...(prune
                ? { initContainers: [backup], containers: [prune] }
                : { containers: [backup] }),
              volumes: [
                { name: 'recipients', configMap: { name } },
                { name: 'tmp', emptyDir: {} },
              ],
            },
          },
        },
      },
    },
  };
}
