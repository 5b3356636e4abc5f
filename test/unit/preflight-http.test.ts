import { expect } from 'chai';
import nock from 'nock';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.js';
import { hostCollision } from '../../src/restore/preflight.js';
import { findApp } from '../../src/components/resources/find-app.js';

/** Narrow HTTP edge cases of the API server answers; the real behaviour is tested on the sandbox. */
describe('API error handling (nock)', () => {
  const server = 'http://kube.invalid:8080';
  let client: KubeClient;
  before(() => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    client = new KubeClient(kc);
    nock.disableNetConnect();
  });
  afterEach(() => nock.cleanAll());
  after(() => nock.enableNetConnect());

  it('a forbidden Ingress list becomes a preflight problem that says what access is missing', async () => {
    nock(server)
      .get('/apis/networking.k8s.io/v1')
      .reply(200, {
        kind: 'APIResourceList',
        groupVersion: 'networking.k8s.io/v1',
        resources: [{ name: 'ingresses', kind: 'Ingress', namespaced: true, verbs: ['list'] }],
      })
      .get('/apis/networking.k8s.io/v1/ingresses')
      .query(true)
      .reply(403, {
        kind: 'Status',
        message: 'ingresses is forbidden: User "u" cannot list resource "ingresses"',
      });
    const problem = await hostCollision(client, 'a.example.com', 'ns', { app: 'qs', plugins: [] });
    expect(problem).to.match(/cannot list Ingresses.*HTTP 403.*forbidden/);
  });

  it('several apps and none named: the error lists them', async () => {
    nock(server)
      .get('/apis/entando.org/v1')
      .reply(200, {
        kind: 'APIResourceList',
        groupVersion: 'entando.org/v1',
        resources: [{ name: 'entandoapps', kind: 'EntandoApp', namespaced: true, verbs: ['list'] }],
      })
      .get('/apis/entando.org/v1/namespaces/ns/entandoapps')
      .query(true)
      .reply(200, {
        kind: 'EntandoAppList',
        apiVersion: 'entando.org/v1',
        metadata: {},
        items: [{ metadata: { name: 'one' } }, { metadata: { name: 'two' } }],
      });
    const err = await findApp(client, 'ns').catch((e) => e);
    expect(err.message).to.equal(
      '2 EntandoApps in namespace ns (one, two): name the one to back up',
    );
  });
});
