import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import {
  IN_CLUSTER_CONTEXT,
  SERVICE_ACCOUNT_DIR_ENV,
  resolveKube,
} from '../../src/kube/kubeconfig.js';
import { UserError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

describe('in-cluster config (the schedule job runs in a pod with no kubeconfig)', () => {
  let home: string;
  let sa: string;
  let env: NodeJS.ProcessEnv;
  let cleanup: () => void;
  afterEach(() => cleanup());
  beforeEach(() => {
    const t = tempDir('incluster-');
    cleanup = t.cleanup;
    const dir = t.dir;
    home = path.join(dir, 'home');
    sa = path.join(dir, 'sa');
    fs.mkdirSync(home);
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), 'first-token');
    fs.writeFileSync(path.join(sa, 'ca.crt'), 'CA PEM');
    fs.writeFileSync(path.join(sa, 'namespace'), 'entando');
    env = {
      HOME: home,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      [SERVICE_ACCOUNT_DIR_ENV]: sa,
    };
  });

  it("uses the service account: server, the pod's namespace, the token and the CA", async () => {
    const kube = resolveKube({}, env);
    expect(kube).to.include({
      contextName: IN_CLUSTER_CONTEXT,
      namespace: 'entando',
      server: 'https://10.96.0.1:443',
    });
    const opts: { headers?: Record<string, string>; ca?: Buffer } = {};
    await kube.config.applyToHTTPSOptions(opts);
    expect(opts.headers?.Authorization).to.equal('Bearer first-token');
    expect(opts.ca?.toString()).to.equal('CA PEM');
    expect(resolveKube({ namespace: 'other' }, env).namespace).to.equal('other');
  });

  it('re-reads a rotated token', async () => {
    const kube = resolveKube({}, env);
    fs.writeFileSync(path.join(sa, 'token'), 'rotated');
    // The file authenticator caches for a minute; a new config reads the new file.
    const opts: { headers?: Record<string, string> } = {};
    await resolveKube({}, env).config.applyToHTTPSOptions(opts);
    expect(opts.headers?.Authorization).to.equal('Bearer rotated');
    expect(kube.server).to.equal('https://10.96.0.1:443');
  });

  it('brackets an IPv6 service host; no namespace file: default', () => {
    fs.rmSync(path.join(sa, 'namespace'));
    const kube = resolveKube({}, { ...env, KUBERNETES_SERVICE_HOST: 'fd00::1' });
    expect(kube.server).to.equal('https://[fd00::1]:443');
    expect(kube.namespace).to.equal('default');
  });

  it('a kubeconfig, when there is one, wins over the service account', () => {
    fs.mkdirSync(path.join(home, '.kube'));
    fs.writeFileSync(
      path.join(home, '.kube', 'config'),
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'clusters: [{name: c, cluster: {server: "https://from-file"}}]',
        'users: [{name: c, user: {token: t}}]',
        'contexts: [{name: c, context: {cluster: c, user: c}}]',
      ].join('\n'),
    );
    expect(resolveKube({}, env).server).to.equal('https://from-file');
  });

  it('outside a pod, no kubeconfig is the usual error', () => {
    const outside = { HOME: home };
    expect(() => resolveKube({}, outside)).to.throw(UserError, /no kubeconfig found/);
  });

  it('a pod without a mounted token: one line naming the path and the fix', () => {
    fs.rmSync(path.join(sa, 'token'));
    expect(() => resolveKube({}, env)).to.throw(
      UserError,
      /service account token \(.*token is missing\): mount one \(automountServiceAccountToken: true\)/,
    );
  });
});
