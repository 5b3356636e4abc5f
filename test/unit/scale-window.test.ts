import { expect } from 'chai';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject, ObjectRef } from '../../src/kube/object.js';
import { executePlan } from '../../src/restore/restore.js';
import type { Plan, PlanStep, StepContext } from '../../src/restore/plan.js';
import { ScaleWindows } from '../../src/restore/scale-window.js';
import { Results } from '../../src/report/results.js';
import type { Output } from '../../src/report/output.js';

/** Deployments whose status follows spec.replicas at once; records every replicas patch. */
function fakeKube(names: string[], opts: { readyByHand?: boolean } = {}) {
  const store = new Map<string, KubeObject>();
  const patches: string[] = [];
  for (const name of names) {
    store.set(name, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'ns' },
      spec: { replicas: 1 },
      status: { replicas: 1, readyReplicas: 1 },
    });
  }
  const kube = {
    get: (ref: ObjectRef) => Promise.resolve(store.get(ref.name)),
    mergePatch: (ref: ObjectRef, patch: { spec: { replicas: number } }) => {
      const d = store.get(ref.name)!;
      const n = patch.spec.replicas;
      patches.push(`${ref.name}=${n}`);
      d.spec = { replicas: n };
      if (n === 0 || !opts.readyByHand) d.status = { replicas: n, readyReplicas: n };
      return Promise.resolve(d);
    },
  };
  return { kube: kube as unknown as KubeClient, patches, store };
}

const quiet = { progress: () => undefined } as unknown as Output;
const owner = { kind: 'EntandoApp', name: 'qs', namespace: 'ns' };

function ctx(kube: KubeClient): StepContext {
  return {
    target: kube,
    results: new Results(),
    signal: new AbortController().signal,
    progress: () => undefined,
  };
}

describe('scale window: an owner scaled down once for its databases and files', () => {
  it('the first step in scales down, the last one out scales back', async () => {
    const { kube, patches } = fakeKube(['qs-deployment']);
    const w = new ScaleWindows().of(owner);
    w.join();
    w.join();
    const c = ctx(kube);
    await Promise.all([w.enter(c, ['qs-deployment']), w.enter(c, ['qs-deployment'])]);
    expect(patches).to.deep.equal(['qs-deployment=0']);
    await w.leave(c);
    expect(patches).to.deep.equal(['qs-deployment=0']);
    await w.leave(c);
    expect(patches).to.deep.equal(['qs-deployment=0', 'qs-deployment=1']);
  });

  it('a step that never left does not keep the servers down: closeAll scales back', async () => {
    const { kube, patches, store } = fakeKube(['qs-deployment']);
    const windows = new ScaleWindows();
    const w = windows.of(owner);
    w.join();
    w.join();
    const c = ctx(kube);
    await w.enter(c, ['qs-deployment']);
    await w.leave(c);
    await windows.closeAll();
    await windows.closeAll();
    expect(patches).to.deep.equal(['qs-deployment=0', 'qs-deployment=1']);
    expect((store.get('qs-deployment')!.spec as { replicas: number }).replicas).to.equal(1);
  });

  it("an app's window scales back without waiting; closeAll waits for the pods", async () => {
    const { kube, patches, store } = fakeKube(['qs-deployment'], { readyByHand: true });
    const windows = new ScaleWindows();
    const w = windows.of(owner);
    w.join();
    const c = ctx(kube);
    await w.enter(c, ['qs-deployment']);
    await w.leave(c);
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
    const step = (phase: string, run: () => Promise<void>, group?: string): PlanStep => ({
      priority: 0,
      phase,
      component: phase,
      action: 'run',
      reason: '',
      changes: [],
      group,
      run,
    });
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
    await executePlanWithLeaseFake(plan, kube, { namespace: 'ns', app: 'qs' }, events);
    expect(events.indexOf('files started')).to.be.lessThan(events.indexOf('databases done'));
    expect(events.slice(-2)).to.deep.equal(['plugins', 'released']);
  });
});

/** executePlan, the app's Lease (AppLock) answered by a fake that grants it. */
async function executePlanWithLeaseFake(
  plan: Plan,
  kube: KubeClient,
  scope: { namespace: string; app: string },
  events: string[],
): Promise<void> {
  const lockKube = Object.assign(Object.create(kube) as object, {
    create: (o: KubeObject) => Promise.resolve(o),
    delete: () => Promise.resolve(),
    get: () => Promise.resolve(undefined),
  }) as unknown as KubeClient;
  const results = await executePlan(
    plan,
    lockKube,
    quiet,
    new AbortController().signal,
    new Results(),
    scope,
  );
  expect(results.errors, events.join(', ')).to.deep.equal([]);
}
