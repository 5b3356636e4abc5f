// Watch + work queue. A watch per kind (all namespaces) feeds a queue of keys; a periodic
// resync lists everything again (catches missed events); a key is never reconciled twice at once.
import { Watch } from '@kubernetes/client-node';
import { sweepOrphans } from './dbms.js';
import { errorMessage } from './kube.js';
import {
  GROUP,
  PLURALS,
  VERSION,
  needsProcessing,
  type EntandoResource,
  type Kind,
} from './model.js';
import {
  forget,
  reconcileLink,
  reconcileWorkload,
  type ReconcileContext,
  type ReconcileResult,
} from './reconcile.js';

const KINDS: Kind[] = ['EntandoApp', 'EntandoPlugin', 'EntandoAppPluginLink'];

export class Controller {
  private readonly queue = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Keys with a requeue timer pending: at most one per key. */
  private readonly scheduled = new Set<string>();
  private readonly aborts = new Map<Kind, AbortController>();
  private stopped = false;
  private sweepScheduled = false;
  private sweeping?: Promise<void>;

  constructor(
    private readonly ctx: ReconcileContext,
    private readonly opts: { concurrency: number; resyncMs: number },
  ) {}

  async start(): Promise<void> {
    for (const kind of KINDS) void this.watch(kind);
    const resync = setInterval(() => void this.resync(), this.opts.resyncMs);
    this.timers.add(resync);
    await this.resync();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const a of this.aborts.values()) a.abort();
  }

  private async watch(kind: Kind): Promise<void> {
    if (this.stopped) return;
    const path = `/apis/${GROUP}/${VERSION}/${PLURALS[kind]}`;
    const restart = (why: string) => {
      if (this.stopped) return;
      this.ctx.log(`watch ${kind}: ${why}; restarting`);
      this.later(() => void this.watch(kind), 1000);
    };
    try {
      const abort = await new Watch(this.ctx.kube.kc).watch(
        path,
        { allowWatchBookmarks: false },
        (type: string, obj: EntandoResource) => {
          if (!obj?.metadata) return;
          if (type === 'DELETED') {
            forget(obj.metadata.uid);
            this.scheduleSweep();
            return;
          }
          if (type === 'ADDED' || type === 'MODIFIED') {
            if (needsProcessing({ ...obj, kind })) this.enqueue(kind, obj);
          }
        },
        (err: unknown) => {
          // client-node aborts an idle watch after 30 s: routine, restart quietly.
          const routine = !err || (err as { name?: string }).name === 'TimeoutError';
          if (routine && !this.stopped) this.later(() => void this.watch(kind), 100);
          else restart(errorMessage(err));
        },
      );
      this.aborts.set(kind, abort);
    } catch (err) {
      restart(errorMessage(err));
    }
  }

  private async resync(): Promise<void> {
    for (const kind of KINDS) {
      try {
        for (const cr of await this.ctx.kube.listCrs(kind)) {
          if (needsProcessing(cr)) this.enqueue(kind, cr);
        }
      } catch (err) {
        this.ctx.log(`resync ${kind}: ${errorMessage(err)}`);
      }
    }
    await this.sweepDatabases();
  }

  /** A CR was deleted, maybe with its namespace: sweep soon (its CRs go before it does). */
  private scheduleSweep(): void {
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    this.later(() => {
      this.sweepScheduled = false;
      void this.sweepDatabases();
    }, 2000);
  }

  /**
   * Drops the sandbox DBMS's roles/schemas and databases of namespaces that are gone or being
   * deleted, as deleting a namespace deletes its in-namespace DBMS in a real cluster.
   */
  private sweepDatabases(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        const list = await this.ctx.kube.core.listNamespace();
        const live = new Set(
          list.items
            .filter((n) => !n.metadata?.deletionTimestamp && n.status?.phase !== 'Terminating')
            .map((n) => n.metadata!.name!),
        );
        const dropped = await sweepOrphans(this.ctx.sandbox, live);
        if (dropped.length > 0) {
          this.ctx.log(`dropped the databases of deleted namespaces: ${dropped.join(', ')}`);
        }
      } catch (err) {
        this.ctx.log(`database sweep: ${errorMessage(err)}`);
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private enqueue(kind: Kind, cr: Pick<EntandoResource, 'metadata'>): void {
    this.enqueueKey(`${kind}/${cr.metadata.namespace}/${cr.metadata.name}`);
  }

  private enqueueKey(key: string): void {
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.queue.add(key);
    this.pump();
  }

  private pump(): void {
    for (const key of this.queue) {
      if (this.running.size >= this.opts.concurrency) return;
      this.queue.delete(key);
      this.running.add(key);
      void this.process(key).finally(() => {
        this.running.delete(key);
        if (this.dirty.delete(key)) this.queue.add(key);
        this.pump();
      });
    }
  }

  private async process(key: string): Promise<void> {
    const [kind, namespace, name] = key.split('/') as [Kind, string, string];
    let result: ReconcileResult = {};
    try {
      const cr = await this.ctx.kube.getCr(kind, namespace, name);
      if (!cr) return;
      cr.kind = kind;
      result =
        kind === 'EntandoAppPluginLink'
          ? await reconcileLink(this.ctx, cr)
          : await reconcileWorkload(this.ctx, cr);
      this.failures.delete(key);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(30_000, 500 * 2 ** Math.min(n, 6));
      this.ctx.log(
        `${key}: reconcile failed (attempt ${n}, retry in ${delay} ms): ${errorMessage(err)}`,
      );
      result = { requeueAfterMs: delay };
    }
    if (result.requeueAfterMs !== undefined && !this.stopped && !this.scheduled.has(key)) {
      this.scheduled.add(key);
      this.later(() => {
        this.scheduled.delete(key);
        this.enqueueKey(key);
      }, result.requeueAfterMs);
    }
  }
}
