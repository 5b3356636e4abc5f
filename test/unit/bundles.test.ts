import { expect } from 'chai';
import nock from 'nock';
import {
  cmErrorDetail,
  ComponentManagerClient,
  type TokenSource,
} from '../../src/components/bundles/cm-client.js';
import {
  conflictingJobId,
  pollVerdict,
  reinstallBundle,
  type InstallTiming,
} from '../../src/components/bundles/install.js';
import { describeBundles } from '../../src/components/bundles/describe.js';
import type { BundlesSummary } from '../../src/components/bundles/backup.js';
import { bundlesModeFor } from '../../src/components/bundles/mode.js';
import { pluginDataPlacement, type RestoreMapping } from '../../src/contract/mapping.js';
import { prepareObject } from '../../src/components/resources/transforms/index.js';
import type { LoadedArchive } from '../../src/components/component.js';
import type { KubeObject } from '../../src/kube/object.js';

/** Narrow edge cases of the component manager's answers; the real flow runs on the sandbox. */
describe('bundles: component manager client (nock)', () => {
  const server = 'http://cm.invalid:8083';
  const base = `${server}/digital-exchange`;
  const issued: string[] = [];
  const tokens: TokenSource = {
    token: () => {
      issued.push('t');
      return Promise.resolve('secret-token-value');
    },
  };
  const cm = new ComponentManagerClient(base, tokens);
  const target = {
    code: 'simple-ms-bundle-1a2b3c4d',
    version: '0.0.2',
    clientId: 'qs-de',
    secretName: 'qs-de-secret',
    appClient: 'qs',
  };
  const sleeps: number[] = [];
  const timing = (deadlineIn = 60_000): InstallTiming => ({
    deadline: Date.now() + deadlineIn,
    pollMs: 5,
    backoffMs: 10,
    maxBackoffMs: 40,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  const path = `/digital-exchange/components/${target.code}/install`;

  before(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    sleeps.length = 0;
  });
  after(() => nock.enableNetConnect());

  it('reads the message of each error body shape, one line, cut', () => {
    expect(cmErrorDetail('{"message":"Bundle \'x\' has not been found"}')).to.equal(
      "Bundle 'x' has not been found",
    );
    expect(
      cmErrorDetail('{"errors":[{"code":"100","message":"external\\n references"}]}'),
    ).to.equal('external references');
    expect(cmErrorDetail('{"title":"Not Found","status":404,"detail":"A job with id j"}')).to.equal(
      'A job with id j',
    );
    expect(
      cmErrorDetail('{"error":"invalid_client","error_description":"Invalid client"}'),
    ).to.equal('Invalid client');
    expect(cmErrorDetail('<html>\n<body>Bad Gateway</body></html>')).to.equal(
      '<html> <body>Bad Gateway</body></html>',
    );
    expect(cmErrorDetail('x'.repeat(400))).to.have.length(303);
  });

  it('poll verdicts: another job is waited past, terminal states decide', () => {
    expect(pollVerdict(undefined, 'j1')).to.equal('wait');
    expect(pollVerdict({ id: 'old', status: 'INSTALL_COMPLETED' }, 'j1')).to.equal('wait');
    expect(pollVerdict({ id: 'j1', status: 'INSTALL_CREATED' }, 'j1')).to.equal('wait');
    expect(pollVerdict({ id: 'j1', status: 'INSTALL_IN_PROGRESS' }, 'j1')).to.equal('wait');
    expect(pollVerdict({ id: 'j1', status: 'INSTALL_COMPLETED' }, 'j1')).to.equal('completed');
    for (const s of ['INSTALL_ROLLBACK', 'INSTALL_ROLLBACK_PARTIAL', 'INSTALL_ERROR']) {
      expect(pollVerdict({ id: 'j1', status: s }, 'j1')).to.equal('failed');
    }
    expect(
      conflictingJobId('Conflict with another job for the component x - JOB ID: 3f0c-aa'),
    ).to.equal('3f0c-aa');
    expect(conflictingJobId('Another bundle operation is already running')).to.equal(undefined);
  });

  it('installs with SKIP at the recorded version and polls to INSTALL_COMPLETED', async () => {
    let body: unknown;
    nock(server)
      .post(path, (b: unknown) => ((body = b), true))
      .matchHeader('authorization', 'Bearer secret-token-value')
      .reply(201, { payload: { id: 'j1', status: 'INSTALL_CREATED' } })
      .get(path)
      .reply(200, { payload: { id: 'old', status: 'INSTALL_COMPLETED' } })
      .get(path)
      .reply(200, { payload: { id: 'j1', status: 'INSTALL_IN_PROGRESS', progress: 0.5 } })
      .get(path)
      .reply(200, {
        payload: { id: 'j1', status: 'INSTALL_COMPLETED', componentVersion: '0.0.2' },
      });
    const seen: string[] = [];
    const job = await reinstallBundle(cm, target, timing(), (m) => seen.push(m));
    expect(body).to.deep.equal({ version: '0.0.2', conflictStrategy: 'SKIP' });
    expect(job.status).to.equal('INSTALL_COMPLETED');
    expect(seen.join('\n')).to.include('INSTALL_IN_PROGRESS 50%');
    expect(seen.join('\n')).not.to.include('secret-token-value');
    expect(nock.isDone()).to.equal(true);
  });

  it('a rollback fails the step naming the bundle and the CM message', async () => {
    nock(server)
      .post(path)
      .reply(201, { payload: { id: 'j2', status: 'INSTALL_CREATED' } })
      .get(path)
      .reply(200, {
        payload: {
          id: 'j2',
          status: 'INSTALL_ROLLBACK',
          installErrorMessage: 'plugin pn-x not ready\nafter 5 minutes',
        },
      });
    const err = await reinstallBundle(cm, target, timing()).catch((e: Error) => e);
    expect(String(err)).to.match(
      /bundle simple-ms-bundle-1a2b3c4d version 0\.0\.2: install ended INSTALL_ROLLBACK: plugin pn-x not ready after 5 minutes/,
    );
    expect(String(err)).not.to.include('\n');
  });

  it('a 409 from the global lock is retried with doubling back-off, then installs', async () => {
    const busy = {
      message: 'Another bundle operation (analysis, install, etc.) is already running',
    };
    nock(server)
      .post(path)
      .times(4)
      .reply(409, busy)
      .post(path)
      .reply(201, { payload: { id: 'j3', status: 'INSTALL_CREATED' } })
      .get(path)
      .reply(200, { payload: { id: 'j3', status: 'INSTALL_COMPLETED' } });
    await reinstallBundle(cm, target, timing());
    expect(sleeps.filter((s) => s !== 5)).to.deep.equal([10, 20, 40, 40]);
  });

  it('a 409 that lasts past the wait timeout is one line naming the bundle', async () => {
    nock(server).post(path).reply(409, { message: 'Another bundle operation is already running' });
    const err = await reinstallBundle(cm, target, timing(0)).catch((e: Error) => e);
    expect(String(err)).to.match(
      /bundle simple-ms-bundle-1a2b3c4d: the component manager stayed busy .*HTTP 409 Another bundle operation is already running.*--existing update/,
    );
  });

  it("a 409 naming the bundle's own unfinished install job follows that job", async () => {
    nock(server)
      .post(path)
      .reply(409, {
        message: `Conflict with another job for the component ${target.code} - JOB ID: j9`,
      })
      .get(path)
      .reply(200, { payload: { id: 'j9', status: 'INSTALL_IN_PROGRESS' } })
      .get(path)
      .reply(200, { payload: { id: 'j9', status: 'INSTALL_COMPLETED' } });
    const job = await reinstallBundle(cm, target, timing());
    expect(job.id).to.equal('j9');
  });

  it('401 and 403 say what to fix, without the token', async () => {
    nock(server).post(path).reply(401, '');
    const e401 = String(await reinstallBundle(cm, target, timing()).catch((e: Error) => e));
    expect(e401).to.match(
      /bundle simple-ms-bundle-1a2b3c4d: the component manager refused the token of client qs-de \(HTTP 401\).*secret qs-de-secret/,
    );
    nock(server).post(path).reply(403, {
      message: 'The user does not have the required permission to execute this operation',
    });
    const e403 = String(await reinstallBundle(cm, target, timing()).catch((e: Error) => e));
    expect(e403).to.match(
      /client qs-de may not install bundles \(HTTP 403 The user does not have.*role superuser of client qs/,
    );
    expect(e401 + e403).not.to.include('secret-token-value');
  });

  it('post-init status: bare, quoted or enveloped', async () => {
    nock(server)
      .get('/digital-exchange/post-inits/status')
      .reply(200, 'SUCCESSFUL', { 'content-type': 'text/plain' })
      .get('/digital-exchange/post-inits/status')
      .reply(200, '"STARTED"', { 'content-type': 'application/json' })
      .get('/digital-exchange/post-inits/status')
      .reply(200, { payload: 'FAILED' });
    expect(await cm.postInitStatus()).to.equal('SUCCESSFUL');
    expect(await cm.postInitStatus()).to.equal('STARTED');
    expect(await cm.postInitStatus()).to.equal('FAILED');
  });
});

describe('bundles: restore mode and plugin objects', () => {
  const summary: BundlesSummary = {
    recorded: true,
    bundles: [
      {
        code: 'simple-ms-bundle-1a2b3c4d',
        installed: true,
        version: '0.0.2',
        plugins: [{ pluginCode: 'pn-1a2b3c4d-5e6f7a8b-simple-ms' }],
      },
      { code: 'banner-widget-99aa88bb', installed: true, version: '1.0.0', plugins: [] },
      { code: 'not-installed-11223344', installed: false, plugins: [] },
    ],
  };
  const archive = (bundles?: BundlesSummary) =>
    ({ manifest: { components: bundles ? { bundles } : {} } }) as unknown as LoadedArchive;
  const mapping = (bundles: RestoreMapping['bundles']): RestoreMapping => ({
    sourceNamespace: 'src',
    targetNamespace: 'dst',
    bundles,
  });
  const plugin: KubeObject = {
    apiVersion: 'entando.org/v1',
    kind: 'EntandoPlugin',
    metadata: { name: 'pn-1a2b3c4d-5e6f7a8b-simple-ms', namespace: 'src' },
  };
  const link: KubeObject = {
    apiVersion: 'entando.org/v1',
    kind: 'EntandoAppPluginLink',
    metadata: { name: 'qs-pn-1a2b3c4d-5e6f7a8b-simple-ms-link', namespace: 'src' },
    spec: { entandoAppName: 'qs', entandoPluginName: 'pn-1a2b3c4d-5e6f7a8b-simple-ms' },
  };
  const handMade: KubeObject = {
    apiVersion: 'entando.org/v1',
    kind: 'EntandoPlugin',
    metadata: { name: 'my-own-plugin', namespace: 'src' },
  };
  const bundleCr: KubeObject = {
    apiVersion: 'entando.org/v1',
    kind: 'EntandoDeBundle',
    metadata: { name: 'banner-widget-99aa88bb', namespace: 'src', annotations: { a: 'b' } },
  };

  it('reinstall by default; objects-only when the archive has no recorded bundles', () => {
    expect(bundlesModeFor(archive(summary), undefined)).to.deep.equal({
      mode: 'reinstall',
      plugins: ['pn-1a2b3c4d-5e6f7a8b-simple-ms'],
    });
    expect(bundlesModeFor(archive(), undefined)?.mode).to.equal('objects-only');
    expect(
      bundlesModeFor(archive({ recorded: false, reason: 'no CM', bundles: [] }), 'reinstall')?.mode,
    ).to.equal('objects-only');
    expect(bundlesModeFor(archive(summary), 'skip')?.mode).to.equal('skip');
  });

  const cases: [string, RestoreMapping['bundles'], KubeObject, RegExp | undefined][] = [
    [
      'reinstall: bundle plugin left to the CM',
      { mode: 'reinstall', plugins: [plugin.metadata.name] },
      plugin,
      /reinstall/,
    ],
    [
      'reinstall: its link too',
      { mode: 'reinstall', plugins: [plugin.metadata.name] },
      link,
      /reinstall/,
    ],
    [
      'reinstall: a hand-made plugin restored',
      { mode: 'reinstall', plugins: [plugin.metadata.name] },
      handMade,
      undefined,
    ],
    [
      'reinstall: bundle CRs restored',
      { mode: 'reinstall', plugins: [plugin.metadata.name] },
      bundleCr,
      undefined,
    ],
    ['objects-only: plugin restored', { mode: 'objects-only', plugins: [] }, plugin, undefined],
    ['skip: no plugin', { mode: 'skip', plugins: [] }, handMade, /--bundles skip/],
    ['skip: no bundle CR', { mode: 'skip', plugins: [] }, bundleCr, /--bundles skip/],
    ['none (compare): restored', undefined, plugin, undefined],
  ];
  for (const [name, bundles, obj, skip] of cases) {
    it(name, () => {
      const result = prepareObject(obj, mapping(bundles));
      if (skip) expect(result.skip).to.match(skip);
      else expect(result.skip).to.equal(undefined);
    });
  }

  it('bundle CRs keep their labels and annotations', () => {
    const r = prepareObject(bundleCr, mapping({ mode: 'reinstall', plugins: [] }));
    expect(r.object.metadata.annotations).to.deep.equal({ a: 'b' });
  });

  it('a bundle left without annotations gets the tenants one (k8s-service 7.3 ignores it otherwise)', () => {
    const bare: KubeObject = {
      ...bundleCr,
      metadata: {
        name: 'b',
        namespace: 'src',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    };
    const r = prepareObject(bare, mapping({ mode: 'reinstall', plugins: [] }));
    expect(r.object.metadata.annotations).to.deep.equal({ 'entando.org/tenants': 'primary' });
    expect(r.changes.join()).to.match(/entando.org\/tenants/);
  });

  it('plugin data goes after the reinstall of its bundle, nowhere with skip', () => {
    const m = mapping({ mode: 'reinstall', plugins: [plugin.metadata.name] });
    expect(pluginDataPlacement(m, plugin.metadata.name)).to.deep.equal({ afterReinstall: true });
    expect(pluginDataPlacement(m, 'my-own-plugin')).to.deep.equal({ afterReinstall: false });
    expect(pluginDataPlacement(mapping({ mode: 'skip', plugins: [] }), 'x').skip).to.match(/skip/);
  });

  it('describes recorded and unrecorded bundles', () => {
    const lines = describeBundles(summary);
    expect(lines[0]).to.equal('3 known to the component manager, 2 installed');
    expect(lines[1]).to.include('installed 0.0.2').and.include('pn-1a2b3c4d-5e6f7a8b-simple-ms');
    expect(describeBundles({ recorded: false, reason: 'no CM', bundles: [] })).to.deep.equal([
      'not recorded (no CM)',
    ]);
  });
});
