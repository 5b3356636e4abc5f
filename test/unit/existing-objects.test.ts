import { expect } from 'chai';
import type { PlanContext } from '../../src/contract/component.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject, ObjectRef } from '../../src/kube/object.js';
import { planObjectSteps } from '../../src/components/resources/plan.js';
import { Results } from '../../src/report/results.js';

const bundle = (ns: string): KubeObject => ({
  apiVersion: 'entando.org/v1',
  kind: 'EntandoDeBundle',
  metadata: { name: 'standard-demo', namespace: ns },
  spec: { details: { name: 'standard-demo' } },
});

/** A plan of `objects` into `qs2` of a target that already holds every object asked for. */
async function refusals(objects: KubeObject[], namespaceMap?: Record<string, string>) {
  const results = new Results();
  const target = {
    get: async (ref: ObjectRef) =>
      ref.kind === 'Namespace' ? undefined : { ...bundle(ref.namespace!), metadata: { ...ref } },
  } as unknown as KubeClient;
  const ctx = {
    existing: 'fail',
    mapping: { sourceNamespace: 'qs', targetNamespace: 'qs2', namespaceMap },
    target,
    results,
  } as unknown as PlanContext;
  const steps = await planObjectSteps(ctx, objects);
  return { errors: results.errors.map((e) => `${e.where}: ${e.message}`), steps };
}

describe('restore: objects already in the target', () => {
  it('in a repository namespace kept by name: the advice is --namespace-map, not sharing it', async () => {
    const { errors, steps } = await refusals([bundle('qs-ecr')]);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(
      /^EntandoDeBundle qs-ecr\/standard-demo: already exists in the target: namespace qs-ecr is outside the app's .*pass --namespace-map qs-ecr=<new namespace>/,
    );
    expect(errors[0]).to.not.match(/: pass --existing/);
    const step = steps.find((s) => s.object?.kind === 'EntandoDeBundle');
    expect(step?.reason).to.include('--namespace-map qs-ecr=<new namespace>');
  });

  it("in the app's own namespace: skip or update", async () => {
    const { errors } = await refusals([bundle('qs')]);
    expect(errors).to.deep.equal([
      'EntandoDeBundle qs2/standard-demo: already exists in the target: pass --existing skip or --existing update',
    ]);
  });

  it('in a mapped repository namespace that exists too: skip or update (it is this copy’s own)', async () => {
    const { errors } = await refusals([bundle('qs-ecr')], { 'qs-ecr': 'qs2-ecr' });
    expect(errors).to.have.length(1);
    expect(errors).to.deep.equal([
      'EntandoDeBundle qs2-ecr/standard-demo: already exists in the target: pass --existing skip or --existing update',
    ]);
  });

  it("the target's Entando installation config is kept, in every --existing mode, without an error", async () => {
    const cm = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'qs' },
      data: { 'entando-keycloak': '{"version":"7.1.1"}' },
    });
    const { errors, steps } = await refusals([
      cm('entando-docker-image-info'),
      cm('entando-operator-config'),
    ]);
    expect(errors).to.deep.equal([]);
    const kept = steps.filter((s) => s.object?.kind === 'ConfigMap');
    expect(kept.map((s) => [s.object!.name, s.action, s.run])).to.deep.equal([
      ['entando-docker-image-info', 'exists', undefined],
      ['entando-operator-config', 'exists', undefined],
    ]);
    expect(kept[0].reason).to.match(/the target's Entando installation's/);
  });
});
