import { expect } from 'chai';
import { parseNamespaceMap } from '../../src/cli/namespace-map.js';
import { UserError } from '../../src/errors.js';
import { describeNeed, needs } from '../../src/kube/access.js';
import type { KubeObject } from '../../src/kube/object.js';
import { mapNamespace, type RestoreMapping } from '../../src/contract/mapping.js';
import { prepareObject } from '../../src/components/resources/transforms/index.js';

const mapping: RestoreMapping = {
  sourceNamespace: 'src',
  targetNamespace: 'dst',
  namespaceMap: { bundles: 'bundles-copy' },
};

describe('--namespace-map: other namespaces of the archived objects', () => {
  it('maps the app namespace, a mapped one, and leaves others', () => {
    expect(mapNamespace(mapping, 'src')).to.equal('dst');
    expect(mapNamespace(mapping, 'bundles')).to.equal('bundles-copy');
    expect(mapNamespace(mapping, 'elsewhere')).to.equal('elsewhere');
    expect(mapNamespace(mapping, undefined)).to.equal(undefined);
  });

  it("moves a bundle and rewrites the app's componentRepositoryNamespaces", () => {
    const bundle: KubeObject = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoDeBundle',
      metadata: { name: 'b', namespace: 'bundles' },
      spec: {},
    };
    const app: KubeObject = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      metadata: { name: 'qs', namespace: 'src' },
      spec: { componentRepositoryNamespaces: ['bundles', 'other'] },
    };
    expect(prepareObject(bundle, mapping).object.metadata.namespace).to.equal('bundles-copy');
    const prepared = prepareObject(app, mapping);
    expect(
      (prepared.object.spec as Record<string, unknown>).componentRepositoryNamespaces,
    ).to.deep.equal(['bundles-copy', 'other']);
    expect(prepared.changes).to.include(
      'spec.componentRepositoryNamespaces[0]: bundles -> bundles-copy',
    );
  });

  const cases: [string[], Record<string, string> | RegExp][] = [
    [['a=b'], { a: 'b' }],
    [['a=b', 'c=d', 'a=b'], { a: 'b', c: 'd' }],
    [['a'], /expected SRC=DST/],
    [['a=b=c'], /expected SRC=DST/],
    [['A=b'], /expected SRC=DST/],
    [['a='], /expected SRC=DST/],
    [['a=b', 'a=c'], /maps a twice/],
  ];
  for (const [values, expected] of cases) {
    it(`parses ${JSON.stringify(values)}`, () => {
      if (expected instanceof RegExp) {
        expect(() => parseNamespaceMap(values))
          .to.throw(UserError)
          .with.property('message')
          .that.matches(expected);
      } else {
        expect(parseNamespaceMap(values)).to.deep.equal(expected);
      }
    });
  }
});

describe('access needs', () => {
  it('names resources the way kubectl auth can-i does', () => {
    expect(needs('Secret', ['get'], 'ns').map(describeNeed)).to.deep.equal(['get secrets']);
    expect(needs('EntandoApp', ['list']).map(describeNeed)).to.deep.equal([
      'list entandoapps.entando.org',
    ]);
    expect(needs('Deployment', ['patch']).map(describeNeed)).to.deep.equal(['patch deployments']);
    expect(
      describeNeed({ verb: 'create', group: '', resource: 'pods', subresource: 'exec' }),
    ).to.equal('create pods/exec');
    expect(needs('Unknown', ['get'])).to.deep.equal([]);
  });
});
