import { CoreV1Api } from '@kubernetes/client-node';
import { UserError } from '../errors.js';
import { apiErrorMessage, type KubeClient } from '../kube/client.js';
import { refOf, type KubeObject } from '../kube/object.js';
import { nextRun, parseCron } from './cron.js';
import { ANNOTATIONS, SCHEDULE_LABEL, objectName } from './objects.js';

/** The kinds a schedule is made of, in the order they are deleted (the CronJob first). */
const KINDS: [string, string][] = [
  ['batch/v1', 'CronJob'],
  ['batch/v1', 'Job'],
  ['v1', 'Pod'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['v1', 'ServiceAccount'],
];

const selector = (name: string) => `${SCHEDULE_LABEL}=${name}`;

async function cronJobOf(kube: KubeClient, ns: string, name: string): Promise<KubeObject> {
  const cron = await kube.get({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    namespace: ns,
    name: objectName(name),
  });
  if (!cron) {
    throw new UserError(
      `no schedule ${name} in namespace ${ns} (CronJob ${objectName(name)}): see kubectl entando schedule list -n ${ns}`,
    );
  }
  return cron;
}

/**
 * Creates the objects in order; an existing schedule is refused before anything is written,
 * and a failure removes what this call made (no half schedule is left).
 */
export async function createSchedule(
  kube: KubeClient,
  name: string,
  ns: string,
  objects: KubeObject[],
): Promise<KubeObject[]> {
  const existing = await kube.get({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    namespace: ns,
    name: objectName(name),
  });
  if (existing) {
    throw new UserError(
      `schedule ${name} already exists in namespace ${ns}: delete it first (kubectl entando schedule delete ${name} -n ${ns}) or choose another name`,
    );
  }
  const made: KubeObject[] = [];
  try {
    for (const obj of objects) made.push(await kube.create(obj));
  } catch (err) {
    for (const obj of made.reverse()) await kube.delete(refOf(obj)).catch(() => undefined);
    throw new UserError(
      `schedule ${name} not created (nothing left behind): ${apiErrorMessage(err)}`,
    );
  }
  return made;
}

/** A time of an object's status as ISO text: client-node hands Dates, a raw list strings. */
export function isoTime(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : undefined;
}

export interface ScheduleRow {
  name: string;
  cron: string;
  suspended: boolean;
  app: string;
  to: string;
  retention: string;
  lastScheduled?: string;
  lastSuccessful?: string;
  /** Undefined when suspended (or the expression never matches). */
  nextRun?: string;
}

export function scheduleRow(cron: KubeObject, now: Date): ScheduleRow {
  const spec = cron.spec as { schedule: string; suspend?: boolean };
  const status = (cron.status ?? {}) as {
    lastScheduleTime?: unknown;
    lastSuccessfulTime?: unknown;
  };
  const a = cron.metadata.annotations ?? {};
  const suspended = spec.suspend === true;
  let next: Date | undefined;
  try {
    next = suspended ? undefined : nextRun(parseCron(spec.schedule), now);
  } catch {
    next = undefined;
  }
  return {
    name: cron.metadata.labels?.[SCHEDULE_LABEL] ?? cron.metadata.name,
    cron: spec.schedule,
    suspended,
    app: a[ANNOTATIONS.app] ?? '',
    to: a[ANNOTATIONS.to] ?? '',
    retention: a[ANNOTATIONS.retention] ?? '',
    lastScheduled: isoTime(status.lastScheduleTime),
    lastSuccessful: isoTime(status.lastSuccessfulTime),
    nextRun: next?.toISOString(),
  };
}

export async function listSchedules(kube: KubeClient, ns: string, now: Date) {
  const crons = await kube.list('batch/v1', 'CronJob', ns, SCHEDULE_LABEL);
  return crons.map((c) => scheduleRow(c, now)).sort((a, b) => a.name.localeCompare(b.name));
}

export interface RunRow {
  job: string;
  /** scheduled, or manual (schedule run). */
  trigger: string;
  started?: string;
  finished?: string;
  outcome: 'succeeded' | 'failed' | 'running';
  /** Why it failed: the failed container's `error:` line, else the Job's condition. */
  reason?: string;
  /** Where the backup went: the backup container's JSON result, when its log can be read. */
  archive?: string;
}

/** A Job's outcome, from its status (conditions, then counts). */
export function jobOutcome(job: KubeObject): Pick<RunRow, 'outcome' | 'reason' | 'finished'> {
  const status = (job.status ?? {}) as {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    completionTime?: unknown;
    succeeded?: number;
    failed?: number;
  };
  const done = (status.conditions ?? []).find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
  if (done?.type === 'Complete' || (!done && (status.succeeded ?? 0) > 0)) {
    return { outcome: 'succeeded', finished: isoTime(status.completionTime) };
  }
  if (done?.type === 'Failed' || (status.failed ?? 0) > 0) {
    const why = done ? [done.reason, done.message].filter(Boolean).join(': ') : 'a pod failed';
    return { outcome: 'failed', reason: why };
  }
  return { outcome: 'running' };
}

/**
 * The `file` of the backup's `-o json` result in its log: the last JSON document, printed
 * indented (`{` and `}` alone on their lines) or on one line; warnings may come before it.
 */
export function archiveFromLog(log: string): string | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith('{')) continue;
    const end = lines[i].trim() === '{' ? lines.indexOf('}', i) : i;
    if (end < 0) continue;
    try {
      const parsed = JSON.parse(lines.slice(i, end + 1).join('\n')) as { file?: unknown };
      if (typeof parsed.file === 'string') return parsed.file;
    } catch {
      // not the result
    }
  }
  return undefined;
}

/** The tool's one-line `error: ...` (the last one) in a container's log. */
export function errorFromLog(log: string): string | undefined {
  const lines = log.split('\n').filter((l) => l.startsWith('error: '));
  return lines.at(-1)?.slice('error: '.length);
}

/** The container of a pod that ended with a non-zero exit (init containers first). */
export function failedContainer(pod: KubeObject): string | undefined {
  type Status = { name: string; state?: { terminated?: { exitCode?: number } } };
  const status = (pod.status ?? {}) as {
    initContainerStatuses?: Status[];
    containerStatuses?: Status[];
  };
  const all = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  return all.find((c) => (c.state?.terminated?.exitCode ?? 0) !== 0)?.name;
}

export async function describeSchedule(kube: KubeClient, ns: string, name: string, now: Date) {
  const cron = await cronJobOf(kube, ns, name);
  const jobs = await kube.list('batch/v1', 'Job', ns, selector(name));
  const pods = await kube.list('v1', 'Pod', ns, selector(name));
  const core = kube.config.makeApiClient(CoreV1Api);
  const logOf = (pod: KubeObject, container: string) =>
    core
      .readNamespacedPodLog({ name: pod.metadata.name, namespace: ns, container })
      .then(String)
      .catch(() => '');
  const runs: RunRow[] = [];
  for (const job of jobs) {
    const status = (job.status ?? {}) as { startTime?: unknown };
    const pod = pods.find((p) => p.metadata.labels?.['job-name'] === job.metadata.name);
    const outcome = jobOutcome(job);
    const archive = pod ? archiveFromLog(await logOf(pod, 'backup')) : undefined;
    const failed = pod && outcome.outcome === 'failed' ? failedContainer(pod) : undefined;
    // The tool's own words say why (S3 denied, app locked...); the Job's condition only
    // says that a pod failed.
    const said = pod && failed ? errorFromLog(await logOf(pod, failed)) : undefined;
    runs.push({
      job: job.metadata.name,
      trigger:
        job.metadata.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual'
          ? 'manual'
          : 'scheduled',
      started: isoTime(status.startTime),
      ...outcome,
      ...(said && { reason: `${failed}: ${said}` }),
      ...(archive && { archive }),
    });
  }
  runs.sort((a, b) => (b.started ?? '9').localeCompare(a.started ?? '9'));
  return { schedule: scheduleRow(cron, now), runs };
}

/** A Job from the CronJob's template, now (as `kubectl create job --from=cronjob/...`). */
export async function runNow(
  kube: KubeClient,
  ns: string,
  name: string,
  now: Date,
): Promise<string> {
  const cron = await cronJobOf(kube, ns, name);
  const template = (
    cron.spec as { jobTemplate: { metadata?: KubeObject['metadata']; spec: unknown } }
  ).jobTemplate;
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${cron.metadata.name}-m${Math.floor(now.getTime() / 1000).toString(36)}`,
      namespace: ns,
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: cron.metadata.name,
          uid: cron.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: template.spec,
  };
  await kube.create(job);
  return job.metadata.name;
}

export async function setSuspended(
  kube: KubeClient,
  ns: string,
  name: string,
  suspend: boolean,
): Promise<void> {
  const cron = await cronJobOf(kube, ns, name);
  await kube.mergePatch(refOf(cron), { spec: { suspend } });
}

/**
 * Deletes every object labelled with the schedule: the CronJob first (no new run starts),
 * its Jobs and their pods (a Job's default deletion orphans its pods), the Secret, the
 * ConfigMap, the Roles and RoleBindings (also in the other namespaces the CronJob names), the
 * ServiceAccount. What it deleted, by kind/namespace/name.
 */
export async function deleteSchedule(kube: KubeClient, ns: string, name: string) {
  const cron = await cronJobOf(kube, ns, name);
  const others = (cron.metadata.annotations?.[ANNOTATIONS.roleNamespaces] ?? '')
    .split(',')
    .filter((n) => n && n !== ns);
  const deleted: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    const rbac = kind === 'Role' || kind === 'RoleBinding';
    for (const where of rbac ? [ns, ...others] : [ns]) {
      for (const obj of await kube.list(apiVersion, kind, where, selector(name))) {
        await kube.delete({ apiVersion, kind, namespace: where, name: obj.metadata.name });
        deleted.push(`${kind} ${where}/${obj.metadata.name}`);
      }
    }
  }
  return deleted;
}
