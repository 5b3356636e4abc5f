import { expect } from 'chai';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ORIGINAL_REPLICAS } from '../../src/kube/scale.js';
import { executePlan } from '../../src/restore/restore.js';
import type { Plan } from '../../src/restore/plan.js';
import type { PlanStep, StepContext } from '../../src/contract/plan.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { Results } from '../../src/report/results.js';
import type { Output } from '../../src/report/output.js';
import { FakeKube } from '../helpers/fakes.js';

/** Deployments whose status follows spec.replicas at once; records every replicas patch. */
function fakeKube(names: string[], opts: { readyByHand?: boolean } = {}) {
  const fake = new FakeKube(
    names.map((name) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'ns' },
      spec: { replicas: 1 },
      status: { replicas: 1, readyReplicas: 1 },
    })),
  );
  const patches: string[] = [];
  fake.onPatch = (d, patch) => {
    const n = (patch.spec as { replicas: number }).replicas;
    patches.push(`${d.metadata.name}=${n}`);
    if (n === 0 || !opts.readyByHand) d.status = { replicas: n, readyReplicas: n };
  };
  /** The stored deployments by name (changed in place by a test to play the cluster). */
  const store = { get: (name: string) => fake.find('Deployment', 'ns', name) };
  return { kube: fake.client, patches, store };
}

const quiet = { progress: () => undefined } as unknown as Output;
const owner = { kind: 'EntandoApp', name: 'qs', namespace: 'ns' };
/** The app as the operator reports it: its one server is qs-deployment. */
const app: KubeObject = {
  apiVersion: 'entando.org/v1',
  kind: 'EntandoApp',
  metadata: { name: 'qs', namespace: 'ns' },
  status: { serverStatuses: { server: { deploymentName: 'qs-deployment' } } },
};

function ctx(kube: KubeClient): StepContext {
  return {
    target: kube,
    results: new Results(),
    signal: new AbortController().signal,
    progress: () => undefined,
  };
}

/** Fails with `what` if `p` takes more than `ms` (a regression that hangs fails fast). */
function within<T>(p: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function step(phase: string, run: () => Promise<void>, group?: string): PlanStep {
  return {
    priority: 0,
    phase,
    component: phase,
    action: 'run',
    reason: '',
    changes: [],
    group,
    run,
  };
}

describe('scale window: an owner scaled down once for its databases and files', () => {
  it('the first step in scales down, the last one out scales back', async () => {
    const { kube, patches } = fakeKube(['qs-deployment']);
    const w = new ScaleWindows().of(owner);
    w.join();
    w.join();
    const c = ctx(kube);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = w.run(c, async () => {
      await w.enter(c, app);
      await gate;
    });
    await w.run(c, () => w.enter(c, app));
    expect(patches, 'one step still in').to.deep.equal(['qs-deployment=0']);
    release();
    await first;
    expect(patches).to.deep.equal(['qs-deployment=0', 'qs-deployment=1']);
  });

  it('what a killed run left at 0 outside the window goes back when the window opens', async () => {
    const { kube, patches, store } = fakeKube(['qs-deployment', 'other-deployment']);
    const other = store.get('other-deployment')!;
    other.metadata.annotations = { [ORIGINAL_REPLICAS]: '2' };
    other.spec = { replicas: 0 };
    other.status = { replicas: 0, readyReplicas: 0 };
    const w = new ScaleWindows().of(owner);
    w.join();
    const c = ctx(kube);
    await w.run(c, () => w.enter(c, app));
    expect(patches).to.deep.equal(['other-deployment=2', 'qs-deployment=0', 'qs-deployment=1']);
  });

  it('a step that never left does not keep the servers down: closeAll scales back', async () => {
    const { kube, patches, store } = fakeKube(['qs-deployment']);
    const windows = new ScaleWindows();
    const w = windows.of(owner);
    w.join();
    w.join();
    const c = ctx(kube);
    await w.run(c, () => w.enter(c, app));
    expect(await windows.closeAll()).to.deep.equal([]);
    expect(await windows.closeAll()).to.deep.equal([]);
    expect(patches).to.deep.equal(['qs-deployment=0', 'qs-deployment=1']);
    expect((store.get('qs-deployment')!.spec as { replicas: number }).replicas).to.equal(1);
  });

  it("a failed scale-down is the first step's error; the other is told in a line of its own", async () => {
    const { kube } = fakeKube(['qs-deployment']);
    const failing = Object.assign(Object.create(kube) as object, {
      mergePatch: () => Promise.reject(new Error('forbidden')),
    }) as unknown as KubeClient;
    const w = new ScaleWindows().of(owner);
    w.join();
    w.join();
    const c = ctx(failing);
    const errors = await Promise.all([
      w.run(c, () => w.enter(c, app)).catch((e: Error) => e.message),
      w.run(c, () => w.enter(c, app)).catch((e: Error) => e.message),
    ]);
    expect(errors[0]).to.equal('forbidden');
    expect(errors[1]).to.match(/not run: the scale-down of qs failed/);
  });

  it("an app's window scales back without waiting; closeAll waits for the pods", async () => {
    const { kube, patches, store } = fakeKube(['qs-deployment'], { readyByHand: true });
    const windows = new ScaleWindows();
    const w = windows.of(owner);
    w.join();
    const c = ctx(kube);
    await within(
      w.run(c, () => w.enter(c, app)),
      'leaving before the pod is ready',
    );
    expect(patches).to.deep.equal(['qs-deployment=0', 'qs-deployment=1']);
    let settled = false;
    const all = windows.closeAll().then((errors) => {
      settled = true;
      return errors;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled, 'closeAll before the pod is ready').to.equal(false);
    store.get('qs-deployment')!.status = { replicas: 1, readyReplicas: 1 };
    expect(await all).to.deep.equal([]);
  });

  it('the executor runs the steps of a group at once, and the rest in order', async () => {
    const { kube } = fakeKube([]);
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const plan: Plan = {
      problems: [],
      steps: [
        step('namespace', async () => void events.push('namespace')),
        step(
          'databases',
          async () => {
            events.push('databases started');
            await gate;
            events.push('databases done');
          },
          'data:qs',
        ),
        step(
          'files',
          async () => {
            events.push('files started');
            release();
            await Promise.resolve();
            events.push('files done');
          },
          'data:qs',
        ),
        step('plugins', async () => void events.push('plugins')),
      ],
      release: () => {
        events.push('released');
        return Promise.resolve([]);
      },
    };
    const results = await within(executeWithLeaseFake(plan, kube), 'a group run in order');
    expect(results.errors).to.deep.equal([]);
    expect(events.indexOf('files started')).to.be.lessThan(events.indexOf('databases done'));
    expect(events.slice(-2)).to.deep.equal(['plugins', 'released']);
  });

  it("a group member's failure counts at its own place: the steps between still run", async () => {
    const { kube } = fakeKube([]);
    const ran: string[] = [];
    const ok = (name: string) => async () => void ran.push(name);
    const plan: Plan = {
      problems: [],
      steps: [
        step('databases', ok('a databases'), 'data:a'),
        step('databases', ok('b databases'), 'data:b'),
        step(
          'files',
          () => {
            ran.push('a files');
            return Promise.reject(new Error('tar -x failed'));
          },
          'data:a',
        ),
        step('files', ok('b files'), 'data:b'),
        step('links', ok('links')),
      ],
    };
    const results = await within(executeWithLeaseFake(plan, kube), 'the plan');
    expect(ran).to.have.members(['a databases', 'a files', 'b databases', 'b files']);
    expect(ran).to.not.include('links');
    expect(results.errors.map((e) => e.message)).to.deep.equal(['tar -x failed']);
  });
});

/** executePlan, the app's Lease (AppLock) answered by a fake that grants it. */
function executeWithLeaseFake(plan: Plan, kube: KubeClient): Promise<Results> {
  const lockKube = Object.assign(Object.create(kube) as object, {
    create: (o: KubeObject) => Promise.resolve(o),
    delete: () => Promise.resolve(),
    get: () => Promise.resolve(undefined),
  }) as unknown as KubeClient;
  const scope = { namespace: 'ns', app: 'qs' };
  return executePlan(plan, lockKube, quiet, new AbortController().signal, new Results(), scope);
}
