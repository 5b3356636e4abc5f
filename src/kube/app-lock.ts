import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import { apiErrorMessage, isStatus, type KubeClient } from './client.js';
import type { KubeObject, ObjectRef } from './object.js';

/** Seconds a holder that stopped renewing keeps the lock (a killed run frees it after this). */
export const LOCK_SECONDS = 60;
const RENEW_MS = 15_000;
/** Holders of this process still working (a released one that could not be deleted is not). */
const holding = new Set<string>();

export const lockNeeds = (namespace: string) => [
  { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace },
  { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace },
  { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace },
];

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
}

/**
 * One backup or restore of an app at a time, per namespace: a coordination Lease
 * `kubectl-entando.<app>` that the run holds and renews. A second run (another backup, or a
 * backup while a restore writes) is refused with who holds it; a run killed outright frees it
 * after LOCK_SECONDS.
 */
export class AppLock {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly kube: KubeClient,
    private readonly ref: ObjectRef,
    private readonly holder: string,
  ) {}

  static async acquire(
    kube: KubeClient,
    namespace: string,
    app: string,
    what: string,
  ): Promise<AppLock> {
    const ref: ObjectRef = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace,
      name: `kubectl-entando.${app}`,
    };
    const holder = `${what} by ${os.userInfo().username}@${os.hostname()} pid ${process.pid} ${randomBytes(3).toString('hex')}`;
    const lock = new AppLock(kube, ref, holder);
    await lock.take(what);
    holding.add(holder);
    lock.timer = setInterval(() => {
      lock.renewing = lock.renew().catch(() => undefined);
    }, RENEW_MS);
    lock.timer.unref();
    return lock;
  }

  private lease(spec: LeaseSpec, resourceVersion?: string): KubeObject {
    return {
      apiVersion: this.ref.apiVersion,
      kind: 'Lease',
      metadata: {
        name: this.ref.name,
        namespace: this.ref.namespace,
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      spec: { ...spec },
    };
  }

  private fresh(now = new Date()): LeaseSpec {
    const time = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    return {
      holderIdentity: this.holder,
      leaseDurationSeconds: LOCK_SECONDS,
      acquireTime: time,
      renewTime: time,
    };
  }

  private async take(what: string): Promise<void> {
    try {
      await this.kube.create(this.lease(this.fresh()));
      return;
    } catch (err) {
      if (!isStatus(err, 409)) throw lockError(err, this.ref);
    }
    const current = await this.kube.get(this.ref);
    const spec = (current?.spec ?? {}) as LeaseSpec;
    const renewed = Date.parse(spec.renewTime ?? '') || 0;
    const expires = renewed + (spec.leaseDurationSeconds ?? LOCK_SECONDS) * 1000;
    if (current && Date.now() < expires && !deadHere(spec.holderIdentity)) {
      throw new UserError(
        `${what} refused: ${spec.holderIdentity ?? 'another run'} is working on this app since ${spec.acquireTime ?? '?'} (Lease ${this.ref.namespace}/${this.ref.name}): wait for it to finish; a run that was killed frees it within ${LOCK_SECONDS} s`,
      );
    }
    // An expired lease of a killed run: taken over (the resourceVersion makes it one winner).
    try {
      if (current) {
        await this.kube.replace(
          this.lease(this.fresh(), current.metadata.resourceVersion as string | undefined),
        );
      } else {
        await this.kube.create(this.lease(this.fresh()));
      }
    } catch (err) {
      if (isStatus(err, 409)) {
        throw new UserError(
          `${what} refused: another run took the lock of this app just now (Lease ${this.ref.namespace}/${this.ref.name}): wait for it to finish`,
        );
      }
      throw lockError(err, this.ref);
    }
  }

  private async renew(): Promise<void> {
    const current = await this.kube.get(this.ref);
    if (!current || (current.spec as LeaseSpec).holderIdentity !== this.holder) return;
    const spec = { ...(current.spec as LeaseSpec), renewTime: this.fresh().renewTime };
    await this.kube.replace(
      this.lease(spec, current.metadata.resourceVersion as string | undefined),
    );
  }

  /** Frees the lock (only if still ours). */
  async release(): Promise<void> {
    clearInterval(this.timer);
    holding.delete(this.holder);
    await this.renewing;
    const current = await this.kube.get(this.ref).catch(() => undefined);
    if (current && (current.spec as LeaseSpec).holderIdentity === this.holder) {
      await this.kube.delete(this.ref).catch(() => undefined);
    }
  }
}

/** A holder on this machine whose process is gone (a run killed or cut off from the cluster). */
function deadHere(holder: string | undefined): boolean {
  const m = / by [^@]+@(\S+) pid (\d+) /.exec(holder ?? '');
  if (!m || m[1] !== os.hostname()) return false;
  if (Number(m[2]) === process.pid) return !holding.has(holder!);
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function lockError(err: unknown, ref: ObjectRef): Error {
  return new UserError(
    `cannot take the lock of this app (Lease ${ref.namespace}/${ref.name}): ${apiErrorMessage(err)}`,
  );
}
