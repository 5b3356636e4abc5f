// restore: an object that appeared in the target meanwhile is kept only when it is ours exactly.
import { expect } from 'chai';
import { sameContent } from '../../src/components/resources/plan.js';
import type { KubeObject } from '../../src/kube/object.js';

const bundle = (
  over: Partial<KubeObject['metadata']> = {},
  spec: unknown = { tags: [{ version: '1.0.3' }] },
) =>
  ({
    apiVersion: 'entando.org/v1',
    kind: 'EntandoDeBundle',
    metadata: {
      name: 'entando-epc-bootstrap-3c07adf0',
      namespace: 'ns',
      labels: { widget: 'true' },
      annotations: { 'entando.org/tenants': 'primary' },
      ...over,
    },
    spec,
  }) as KubeObject;

describe('restore: objects that appeared meanwhile', () => {
  it('keeps one with the same spec, labels and annotations (extra server fields allowed)', () => {
    const theirs = bundle({
      uid: 'u',
      resourceVersion: '9',
      labels: { widget: 'true', x: 'y' },
    } as never);
    expect(sameContent(theirs, bundle())).to.equal(true);
  });
  it('refuses another spec, a missing label or another annotation value', () => {
    expect(sameContent(bundle({}, { tags: [] }), bundle())).to.equal(false);
    expect(sameContent(bundle({ labels: {} }), bundle())).to.equal(false);
    expect(
      sameContent(bundle({ annotations: { 'entando.org/tenants': 't2' } }), bundle()),
    ).to.equal(false);
  });
});
