import type { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import type { DbExecutor } from '../../src/components/databases/executor.js';
import type { AccessCheck, KubeClient } from '../../src/kube/client.js';
import type { KubeObject, ObjectRef } from '../../src/kube/object.js';
import type { PodExecRequest, PodExecResult } from '../../src/kube/pod-exec.js';

/**
 * Shared fakes for unit tests that need a cluster: a KubeClient over objects in memory and a
 * pod exec that answers from a script. Both record what they were asked, for assertions.
 */

type Patch = Record<string, unknown>;

/** RFC 7386 merge patch: objects merged, null removes, anything else replaces. */
function mergePatched(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatched(out[k], v);
  }
  return out;
}

const keyOf = (r: { kind: string; namespace?: string; name: string }) =>
  `${r.kind}/${r.namespace ?? ''}/${r.name}`;
const refKey = (o: KubeObject) => keyOf({ kind: o.kind, ...o.metadata });

/**
 * Every public operation of KubeClient over a map of objects. `calls` lists each write as
 * "verb Kind ns/name" (reads are not recorded); `onPatch` lets a test play the cluster's part
 * (e.g. a Deployment's status following its replicas).
 */
export class FakeKube implements Pick<KubeClient, keyof KubeClient> {
  readonly config = new KubeConfig();
  readonly objects = new Map<string, KubeObject>();
  readonly calls: string[] = [];
  onPatch?: (obj: KubeObject, patch: Patch) => void;

  constructor(objects: KubeObject[] = []) {
    for (const o of objects) this.objects.set(refKey(o), structuredClone(o));
  }

  /** This fake where a KubeClient is asked for (the class has private members). */
  get client(): KubeClient {
    return this as unknown as KubeClient;
  }

  /** A stored object, for assertions. */
  find(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(keyOf({ kind, namespace, name }));
  }

  private record(verb: string, r: { kind: string; namespace?: string; name: string }): void {
    this.calls.push(`${verb} ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`);
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const o = this.objects.get(keyOf(ref));
    return o && structuredClone(o);
  }

  /** labelSelector: comma-separated `key=value` terms only. */
  async list(
    _apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<KubeObject[]> {
    const terms = (labelSelector ?? '')
      .split(',')
      .filter(Boolean)
      .map((t) => t.split('='));
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (!namespace || o.metadata.namespace === namespace))
      .filter((o) => terms.every(([k, v]) => o.metadata.labels?.[k] === v))
      .map((o) => structuredClone(o));
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    this.record('create', { kind: obj.kind, ...obj.metadata });
    if (this.objects.has(refKey(obj))) throw new Error(`${refKey(obj)} already exists`);
    this.objects.set(refKey(obj), structuredClone(obj));
    return structuredClone(obj);
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    this.record('replace', { kind: obj.kind, ...obj.metadata });
    if (!this.objects.has(refKey(obj))) throw new Error(`${refKey(obj)} not found`);
    this.objects.set(refKey(obj), structuredClone(obj));
    return structuredClone(obj);
  }

  /** Server-side apply, simplified: the applied fields merged into what is there. */
  async apply(obj: KubeObject): Promise<KubeObject> {
    this.record('apply', { kind: obj.kind, ...obj.metadata });
    const merged = mergePatched(this.objects.get(refKey(obj)), obj) as KubeObject;
    this.objects.set(refKey(obj), merged);
    return structuredClone(merged);
  }

  async mergePatch(ref: ObjectRef, patch: Patch): Promise<KubeObject> {
    this.record('patch', ref);
    const current = this.objects.get(keyOf(ref));
    if (!current) throw new Error(`${keyOf(ref)} not found`);
    const patched = mergePatched(current, patch) as KubeObject;
    this.onPatch?.(patched, patch);
    this.objects.set(keyOf(ref), patched);
    return structuredClone(patched);
  }

  async delete(ref: ObjectRef): Promise<void> {
    this.record('delete', ref);
    this.objects.delete(keyOf(ref));
  }

  async serverVersion(): Promise<string> {
    return 'v1.30.0';
  }

  async canI(_check: AccessCheck): Promise<boolean> {
    return true;
  }
}

/** What the fake pod exec answers to one command. */
export interface ExecReply {
  /** Written to the request's stdout (waiting for drain), which is then ended. */
  stdout?: (string | Buffer)[];
  exitCode?: number;
  stderr?: string;
  /** Thrown after stdout was written (an exec that ended without a status). */
  throws?: Error;
}

/** One command the fake ran: its pod, command and the whole of its stdin (when it had one). */
export interface ExecCall {
  pod: string;
  command: string[];
  stdin?: string;
}

/**
 * A stand-in for `podExec` (src/kube/pod-exec.ts), same signature: reads stdin whole, answers
 * from `reply` (default: exit 0, no output) and records each call.
 */
export class FakePodExec {
  readonly calls: ExecCall[] = [];

  constructor(private readonly reply: (req: PodExecRequest) => ExecReply = () => ({})) {}

  readonly exec = async (_config: unknown, req: PodExecRequest): Promise<PodExecResult> => {
    const call: ExecCall = { pod: `${req.namespace}/${req.pod}`, command: req.command };
    this.calls.push(call);
    if (req.stdin) {
      let s = '';
      for await (const c of req.stdin as AsyncIterable<Buffer | string>) s += c.toString();
      call.stdin = s;
    }
    const r = this.reply(req);
    const stdout = req.stdout as Writable | undefined;
    if (stdout && r.stdout) {
      for (const chunk of r.stdout) {
        if (!stdout.write(chunk)) await new Promise((ok) => stdout.once('drain', ok));
      }
    }
    if (r.throws) throw r.throws;
    if (stdout && r.stdout) stdout.end();
    return { exitCode: r.exitCode ?? 0, stderr: r.stderr ?? '' };
  };

  /** A database executor (the seam the databases component runs its tools through). */
  executor(pod = 'ns/db', kind: DbExecutor['kind'] = 'dbms-pod'): DbExecutor {
    const [namespace, name] = pod.split('/');
    return {
      where: `pod ${pod}`,
      kind,
      exec: (command, io) => this.exec(undefined, { namespace, pod: name, command, ...io }),
    };
  }
}
