import { expect } from 'chai';
import type { KubeObject } from '../../src/kube/object.js';
import { cleanObject } from '../../src/components/resources/clean.js';
import { hostPattern } from '../../src/components/resources/transforms/host.js';
import { prepareObject } from '../../src/components/resources/transforms/index.js';
import type { RestoreMapping } from '../../src/contract/mapping.js';
import { PHASES, phaseOfKind } from '../../src/restore/order.js';
import { orderSteps } from '../../src/restore/plan.js';
import type { PlanStep } from '../../src/contract/plan.js';

const mapping: RestoreMapping = {
  sourceNamespace: 'src',
  targetNamespace: 'dst',
  sourceHost: 'qs.example.com',
  targetHost: 'qs2.example.com',
};

function app(extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'entando.org/v1',
    kind: 'EntandoApp',
    metadata: {
      name: 'quickstart',
      namespace: 'src',
      uid: 'u-1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl' }],
      selfLink: '/x',
      ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'gone' }],
      labels: { keep: 'yes' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'entando.org/processing-instruction': 'force',
        'user/note': 'kept',
      },
    },
    spec: {
      dbms: 'postgresql',
      ingressHostName: 'qs.example.com',
      keycloakToUse: { name: 'kc', namespace: 'src', realm: 'entando' },
      componentRepositoryNamespaces: ['src', 'shared-bundles'],
      environmentVariables: [{ name: 'URL', value: 'https://qs.example.com/entando-de-app' }],
      ...extra,
    },
    status: { phase: 'successful' },
  };
}

describe('cleaning', () => {
  it('removes server fields, status, ownerReferences and bookkeeping annotations', () => {
    const cleaned = cleanObject(app());
    expect(cleaned.status).to.equal(undefined);
    expect(cleaned.metadata).to.deep.equal({
      name: 'quickstart',
      namespace: 'src',
      labels: { keep: 'yes' },
      annotations: { 'user/note': 'kept' },
    });
  });

  it('keeps user processing instructions other than force', () => {
    const obj = app();
    obj.metadata.annotations = { 'entando.org/processing-instruction': 'ignore' };
    expect(cleanObject(obj).metadata.annotations).to.deep.equal({
      'entando.org/processing-instruction': 'ignore',
    });
  });

  it('does not modify its input', () => {
    const obj = app();
    cleanObject(obj);
    expect(obj.metadata.uid).to.equal('u-1');
  });
});

describe('remapping and host rewrite (table)', () => {
  const cases: {
    name: string;
    input: KubeObject;
    expectSpec?: Record<string, unknown>;
    expectNs?: string;
    expectChanges: number;
    skip?: boolean;
  }[] = [
    {
      name: 'EntandoApp: namespace, keycloak namespace, repo namespaces, host and URLs',
      input: app(),
      expectNs: 'dst',
      expectSpec: {
        dbms: 'postgresql',
        ingressHostName: 'qs2.example.com',
        keycloakToUse: { name: 'kc', namespace: 'dst', realm: 'entando' },
        componentRepositoryNamespaces: ['dst', 'shared-bundles'],
        environmentVariables: [{ name: 'URL', value: 'https://qs2.example.com/entando-de-app' }],
      },
      expectChanges: 5,
    },
    {
      name: 'EntandoAppPluginLink: both ends follow',
      input: {
        apiVersion: 'entando.org/v1',
        kind: 'EntandoAppPluginLink',
        metadata: { name: 'l', namespace: 'src' },
        spec: {
          entandoAppName: 'quickstart',
          entandoAppNamespace: 'src',
          entandoPluginName: 'p',
          entandoPluginNamespace: 'src',
        },
      },
      expectNs: 'dst',
      expectSpec: {
        entandoAppName: 'quickstart',
        entandoAppNamespace: 'dst',
        entandoPluginName: 'p',
        entandoPluginNamespace: 'dst',
      },
      expectChanges: 3,
    },
    {
      name: 'other namespaces are left alone',
      input: {
        apiVersion: 'entando.org/v1',
        kind: 'EntandoPlugin',
        metadata: { name: 'p', namespace: 'elsewhere' },
        spec: { keycloakToUse: { namespace: 'kc-ns' } },
      },
      expectNs: 'elsewhere',
      expectSpec: { keycloakToUse: { namespace: 'kc-ns' } },
      expectChanges: 0,
    },
    {
      name: 'a longer host that merely contains the old one is not rewritten',
      input: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'src' },
        data: {
          a: 'myqs.example.com',
          b: 'qs.example.com.evil.org',
          c: 'http://qs.example.com:8080/x',
        },
      },
      expectNs: 'dst',
      expectChanges: 2,
    },
    {
      name: 'service account tokens are skipped',
      input: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 't', namespace: 'src' },
      },
      expectNs: 'dst',
      expectChanges: 0,
      skip: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = prepareObject(c.input, mapping);
      expect(result.changes, result.changes.join('\n')).to.have.length(c.expectChanges);
      expect(!!result.skip).to.equal(!!c.skip);
      if (c.skip) return;
      expect(result.object.metadata.namespace).to.equal(c.expectNs);
      if (c.expectSpec) expect(result.object.spec).to.deep.equal(c.expectSpec);
    });
  }

  it('config map data: only whole host names change', () => {
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'src' },
      data: {
        a: 'myqs.example.com',
        b: 'qs.example.com.evil.org',
        c: 'http://qs.example.com:8080/x',
        d: 'qs.example.com',
      },
    };
    expect(prepareObject(cm, mapping).object.data).to.deep.equal({
      a: 'myqs.example.com',
      b: 'qs.example.com.evil.org',
      c: 'http://qs2.example.com:8080/x',
      d: 'qs2.example.com',
    });
  });

  it("follows the operator's resource-namespace label", () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'quickstart-portdb-secret',
        namespace: 'src',
        labels: { EntandoApp: 'quickstart', 'entando.org/entando-resource-namespace': 'src' },
      },
    };
    const result = prepareObject(secret, mapping);
    expect(result.object.metadata.labels).to.deep.equal({
      EntandoApp: 'quickstart',
      'entando.org/entando-resource-namespace': 'dst',
    });
    expect(result.changes).to.have.length(2);
  });

  it('no host flag, no host change', () => {
    const result = prepareObject(app(), { ...mapping, targetHost: 'qs.example.com' });
    expect((result.object.spec as { ingressHostName: string }).ingressHostName).to.equal(
      'qs.example.com',
    );
  });

  it('host pattern escapes dots', () => {
    expect('qsXexample.com').not.to.match(hostPattern('qs.example.com'));
  });
});

describe('restore order', () => {
  it('puts secrets before the app, the app before plugins, links and bundles', () => {
    const order = [
      'Namespace',
      'Secret',
      'ConfigMap',
      'ServiceAccount',
      'EntandoDatabaseService',
      'EntandoApp',
      'EntandoPlugin',
      'EntandoAppPluginLink',
      'EntandoDeBundle',
    ];
    const priorities = order.map((k) => phaseOfKind(k)!.priority);
    expect(priorities).to.deep.equal([...priorities].sort((a, b) => a - b));
    expect(new Set(priorities).size).to.equal(order.length);
    for (const p of PHASES) expect(p.reason).to.have.length.greaterThan(10);
  });

  it('sorts steps by priority and keeps component order within one', () => {
    const step = (priority: number, name: string): PlanStep => ({
      priority,
      phase: String(priority),
      component: 'c',
      action: 'create',
      reason: 'r',
      changes: [],
      object: { apiVersion: 'v1', kind: 'K', name },
    });
    const sorted = orderSteps([
      step(60, 'app'),
      step(20, 's1'),
      step(100, 'b'),
      step(20, 's2'),
      step(10, 'ns'),
    ]);
    expect(sorted.map((s) => s.object!.name)).to.deep.equal(['ns', 's1', 's2', 'app', 'b']);
  });
});
