import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KeycloakAdmin } from '../../src/components/keycloak/admin.js';
import { connectCm, type CmSession } from '../../src/components/bundles/connect.js';
import type { CmBundle } from '../../src/components/bundles/cm-client.js';
import type { BundlesSummary, RecordedBundle } from '../../src/components/bundles/backup.js';
import { collectState } from '../../sandbox/fixture/statelib.js';
import { descriptorPath, readDescriptor, writeDescriptor } from '../../sandbox/cm/registry.js';
import { runCli } from '../helpers/cli.js';
import { kubectl, Scenario } from '../helpers/scenario.js';
import { KEYCLOAK_SUITE_LOCK, takeSuiteLock } from '../helpers/suite-lock.js';
import {
  appKeycloak,
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  ROOT,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';

const FIXTURE = 'sandbox/fixtures/bundles.yaml';
const APP = 'quickstart';
/** The restored app's host: its own per namespace (two apps on one host collide). */
const host = (ns: string) => `quickstart.${ns}.sandbox.local`;
const REGISTRY = process.env.SANDBOX_CM_REGISTRY_DIR ?? path.join(ROOT, '.sandbox/cm-registry');

function kubeConfig(context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  kc.setCurrentContext(context);
  return kc;
}

async function cm<T>(context: string, ns: string, use: (s: CmSession) => Promise<T>): Promise<T> {
  const kube = client(context);
  const app = await kube.get({
    apiVersion: 'entando.org/v1',
    kind: 'EntandoApp',
    namespace: ns,
    name: APP,
  });
  const session = await connectCm(kube, app!);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

const installedOf = (list: CmBundle[]) =>
  Object.fromEntries(
    list
      .filter((b) => b.installed)
      .map((b) => [b.code, b.installedJob?.componentVersion])
      .sort(),
  );

/** Rows of every table of each plugin database (Liquibase's lock table aside). */
async function pluginRows(context: string, ns: string): Promise<Record<string, number>> {
  const state = await collectState(
    kubeConfig(context),
    { kubeconfig: KUBECONFIG, context, namespace: ns },
    APP,
  );
  const out: Record<string, number> = {};
  for (const [key, d] of Object.entries(state.databases)) {
    if (!key.includes('plugindb')) continue;
    for (const [table, t] of Object.entries(d.tables)) {
      if (t.hashed) out[`${key}.${table}`] = t.rows;
    }
  }
  return out;
}

async function secretValue(context: string, ns: string, name: string, key: string) {
  const s = await client(context).get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  const v = (s?.data as Record<string, string> | undefined)?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** A client-credentials grant of `<plugin>-server` with its secret in the namespace. */
async function pluginClientWorks(context: string, ns: string, plugin: string): Promise<void> {
  const session = await appKeycloak(context, ns, APP);
  try {
    const secret = `${plugin}-server-secret`;
    const t = await KeycloakAdmin.passwordGrant(session.admin.base, 'entando', {
      grant_type: 'client_credentials',
      client_id: (await secretValue(context, ns, secret, 'clientId'))!,
      client_secret: (await secretValue(context, ns, secret, 'clientSecret'))!,
    });
    expect(t.access_token, `${plugin}-server token`).to.be.a('string');
  } finally {
    await session.close();
  }
}

async function pluginReady(context: string, ns: string, plugin: string): Promise<void> {
  const cr = await client(context).get({
    apiVersion: 'entando.org/v1',
    kind: 'EntandoPlugin',
    namespace: ns,
    name: plugin,
  });
  expect((cr?.status as { phase?: string } | undefined)?.phase, plugin).to.equal('successful');
  const d = await client(context).get({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: ns,
    name: `${plugin}-deployment`,
  });
  expect(
    (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas,
    plugin,
  ).to.be.at.least(1);
}

/**
 * Issue 11: the app's bundles, installed through the component manager on sandbox-source,
 * restored into sandbox-target and reinstalled through its CM (the sandbox's stand-in): with
 * the realm and with a fresh Keycloak; failures as one line naming the bundle; a re-run converges.
 */
describe('e2e: bundles reinstalled through the component manager after a restore', function () {
  this.timeout(1_800_000);
  const ns = `bdl-${randomSuffix()}`;
  const withRealm = `${ns}-a`;
  const freshKc = `${ns}-b`;
  const namespaces = () => [
    ns,
    `${ns}-c`,
    `${ns}-ecr`,
    withRealm,
    `${withRealm}-ecr`,
    freshKc,
    `${freshKc}-ecr`,
  ];
  let scenario: Scenario;
  let archive: string;
  let summary: BundlesSummary;
  let source: Record<string, string | undefined>;
  let sourceRows: Record<string, number>;
  let plugins: string[];
  let releaseLock: (() => void) | undefined;
  const written: string[] = [];

  before(async () => {
    await requireSandbox();
    releaseLock = await takeSuiteLock(KEYCLOAK_SUITE_LOCK, 'e2e bundles', { timeoutMs: 1_500_000 });
    scenario = new Scenario();
    archive = scenario.file('bundles.tar.age');
    await applyFixture(FIXTURE, SOURCE, ns, { keycloak: true });
    source = await waitFor(
      'three bundles installed in the source CM',
      async () => {
        const list = await cm(SOURCE, ns, (s) => s.cm.components()).catch(() => undefined);
        const installed = list ? installedOf(list) : {};
        return Object.keys(installed).filter((c) => !c.startsWith('entando-epc-bootstrap'))
          .length >= 3
          ? installed
          : undefined;
      },
      600_000,
      3000,
    );
    sourceRows = await pluginRows(SOURCE, ns);
  });

  after(async () => {
    for (const f of written) fs.rmSync(f, { force: true });
    for (const n of namespaces()) {
      await deleteNamespace(SOURCE, n).catch(() => undefined);
      await deleteNamespace(TARGET, n).catch(() => undefined);
    }
    scenario?.cleanup();
    releaseLock?.();
  });

  it('backup records every bundle: code, namespace, repo URL, installed version, last job, plugins', async () => {
    const r = await scenario.backup(SOURCE, ns, archive, ['-o', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    summary = (JSON.parse(r.stdout) as { bundles: BundlesSummary }).bundles;
    expect(summary.recorded, JSON.stringify(summary)).to.equal(true);
    const recorded = Object.fromEntries(
      summary.bundles
        .filter((b) => b.installed)
        .map((b) => [b.code, b.version])
        .sort(),
    );
    expect(recorded).to.deep.equal(source);
    for (const b of summary.bundles.filter((x) => x.installed)) {
      expect(b.lastJobStatus, b.code).to.equal('INSTALL_COMPLETED');
      expect(b.repoUrl, b.code).to.be.a('string');
    }
    expect(
      summary.bundles.some((b) => b.namespace === `${ns}-ecr`),
      'a bundle of the second namespace',
    ).to.equal(true);
    plugins = [...new Set(summary.bundles.flatMap((b) => b.plugins.map((p) => p.pluginCode)))];
    expect(plugins.length, 'plugins recorded').to.be.at.least(1);
    expect(Object.keys(sourceRows).length, 'plugin tables').to.be.at.least(1);
    const inspect = await runCli(['inspect', archive, '-i', scenario.keyFile]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    for (const code of Object.keys(source)) expect(inspect.stdout).to.include(code);
  });

  it('dry-run shows the CM wait and one reinstall step per bundle, with reasons; plugins left to the CM', async () => {
    const r = await scenario.restore(archive, TARGET, withRealm, [
      '--dry-run',
      '--namespace-map',
      `${ns}-ecr=${withRealm}-ecr`,
      '--ingress-host',
      host(withRealm),
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const plan = JSON.parse(r.stdout) as {
      steps: {
        phase: string;
        action: string;
        object?: { kind: string; name: string };
        reason: string;
        priority: number;
      }[];
    };
    const reinstall = plan.steps.filter((s) => s.phase === 'bundles-reinstall');
    expect(reinstall.map((s) => s.object?.name).sort()).to.deep.equal(Object.keys(source).sort());
    for (const s of reinstall) expect(s.reason).to.match(/SKIP/);
    expect(plan.steps.find((s) => s.phase === 'component-manager')?.reason).to.match(/post-init/);
    for (const p of plugins) {
      const step = plan.steps.find(
        (s) => s.object?.kind === 'EntandoPlugin' && s.object.name === p && s.phase === 'plugins',
      );
      expect(step?.action, p).to.equal('skip');
      const data = plan.steps.find((s) => s.object?.name === p && s.phase === 'databases');
      expect(data?.priority, `${p} data after the reinstall`).to.be.greaterThan(
        reinstall[0]!.priority,
      );
    }
  });

  /**
   * In namespace `into` of the target: every bundle installed as in the source, each plugin
   * ready and working with its Keycloak client, whose secret is the archived one (`kept`) or a
   * new one (`new`), and the plugins' rows as in the source.
   */
  async function expectBundlesRestored(into: string, clientSecrets: 'kept' | 'new'): Promise<void> {
    expect(installedOf(await cm(TARGET, into, (s) => s.cm.components()))).to.deep.equal(source);
    for (const p of plugins) {
      await pluginReady(TARGET, into, p);
      const secret = await secretValue(TARGET, into, `${p}-server-secret`, 'clientSecret');
      const archived = await secretValue(SOURCE, ns, `${p}-server-secret`, 'clientSecret');
      if (clientSecrets === 'kept') expect(secret).to.equal(archived);
      else expect(secret).not.to.equal(archived);
      await pluginClientWorks(TARGET, into, p);
    }
    expect(await pluginRows(TARGET, into)).to.deep.equal(sourceRows);
  }

  it('(a) with the realm: every bundle installed at its source version, plugins with their rows, clients keep their secrets', async () => {
    const r = await scenario.restore(archive, TARGET, withRealm, [
      '--namespace-map',
      `${ns}-ecr=${withRealm}-ecr`,
      '--ingress-host',
      host(withRealm),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    await expectBundlesRestored(withRealm, 'kept');
  });

  it('(b) with a fresh Keycloak: plugin clients made again with new secrets, the archived ones not restored', async () => {
    const r = await scenario.restore(archive, TARGET, freshKc, [
      '--keycloak',
      'skip',
      '--namespace-map',
      `${ns}-ecr=${freshKc}-ecr`,
      '--ingress-host',
      host(freshKc),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    await expectBundlesRestored(freshKc, 'new');
  });

  it('a re-run converges: bundles still installed, plugins and rows unchanged', async () => {
    const r = await scenario.restore(archive, TARGET, withRealm, [
      '--existing',
      'update',
      '--namespace-map',
      `${ns}-ecr=${withRealm}-ecr`,
      '--ingress-host',
      host(withRealm),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(installedOf(await cm(TARGET, withRealm, (s) => s.cm.components()))).to.deep.equal(
      source,
    );
    for (const p of plugins) await pluginReady(TARGET, withRealm, p);
    expect(await pluginRows(TARGET, withRealm)).to.deep.equal(sourceRows);
  });

  const again = (extra: string[]) =>
    scenario.restore(archive, TARGET, withRealm, [
      '--existing',
      'skip',
      '--keycloak',
      'skip',
      '--namespace-map',
      `${ns}-ecr=${withRealm}-ecr`,
      '--ingress-host',
      host(withRealm),
      ...extra,
    ]);

  it('a token Keycloak refuses: one line naming the bundles, what to fix', async () => {
    const secret = `${APP}-de-secret`;
    const good = await secretValue(TARGET, withRealm, secret, 'clientSecret');
    await kubectl(TARGET, [
      '-n',
      withRealm,
      'patch',
      'secret',
      secret,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ stringData: { clientSecret: 'wrong' } }),
    ]);
    try {
      const r = await again(['--wait-timeout', '60']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(
        /bundles .* not reinstalled: Keycloak refused the credentials of client quickstart-de \(secret quickstart-de-secret\): HTTP 401/,
      );
      expect(r.stderr + r.stdout).not.to.include('wrong');
    } finally {
      await kubectl(TARGET, [
        '-n',
        withRealm,
        'patch',
        'secret',
        secret,
        '--type',
        'merge',
        '-p',
        JSON.stringify({ stringData: { clientSecret: good } }),
      ]);
    }
  });

  it('the CM not ready: one line naming the bundles not reinstalled', async () => {
    const cmDeployment = `${APP}-cm-deployment`;
    await kubectl(TARGET, [
      '-n',
      withRealm,
      'scale',
      'deployment',
      cmDeployment,
      '--replicas',
      '0',
    ]);
    try {
      const r = await again(['--wait-timeout', '20']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(
        /component manager not ready after 20 s \(.*\): bundles .* not reinstalled/,
      );
    } finally {
      await kubectl(TARGET, [
        '-n',
        withRealm,
        'scale',
        'deployment',
        cmDeployment,
        '--replicas',
        '1',
      ]);
      await kubectl(TARGET, [
        '-n',
        withRealm,
        'rollout',
        'status',
        `deployment/${cmDeployment}`,
        '--timeout',
        '300s',
      ]);
      await waitFor(
        'the component manager answering again',
        () => cm(TARGET, withRealm, (x) => x.cm.postInitStatus()).catch(() => undefined),
        300_000,
        2000,
      );
    }
  });

  /** A registry version of a recorded bundle that holds the CM's lock or makes a component fail. */
  function hookedVersion(code: string, version: string, hook: Record<string, unknown>): void {
    const b = summary.bundles.find((x) => x.code === code)!;
    const base = readDescriptor(REGISTRY, b.repoUrl!, b.version!)!;
    written.push(writeDescriptor(REGISTRY, { ...base, version, sandbox: hook }));
  }

  /** A recorded bundle that makes no plugin: a widget bundle. */
  const widgetBundle = () =>
    summary.bundles.find(
      (b) => b.installed && b.plugins.length === 0 && !b.code.startsWith('entando-epc-bootstrap'),
    )!;

  /** Offers `version` of bundle `b` (a tag on its EntandoDeBundle in `crNs`) and installs it. */
  async function startInstall(
    context: string,
    appNs: string,
    crNs: string,
    b: RecordedBundle,
    version: string,
  ): Promise<void> {
    await kubectl(context, [
      '-n',
      crNs,
      'patch',
      'entandodebundle',
      b.code,
      '--type',
      'json',
      '-p',
      JSON.stringify([
        {
          op: 'add',
          path: '/spec/tags/-',
          value: { version, tarball: b.repoUrl, integrity: '', shasum: '' },
        },
      ]),
    ]);
    await cm(context, appNs, (s) =>
      s.cm.call('POST', `/components/${b.code}/install`, { version, conflictStrategy: 'OVERRIDE' }),
    );
  }

  it('a 409 from a concurrent operation is retried, then one line naming the bundle', async () => {
    const widget = widgetBundle();
    const slow = '9.9.9-slow';
    hookedVersion(widget.code, slow, { installDelaySeconds: 60 });
    const crNs = widget.namespace === ns ? withRealm : `${withRealm}-ecr`;
    await startInstall(TARGET, withRealm, crNs, widget, slow);
    const r = await again(['--wait-timeout', '20']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      /bundle \S+: the component manager stayed busy with another bundle operation until the wait timeout \(HTTP 409/,
    );
    // Once the other operation ends, the same command converges.
    await cm(TARGET, withRealm, (s) =>
      waitFor(
        'the slow install',
        async () => {
          const j = await s.cm.installJob(widget.code);
          return ['INSTALL_COMPLETED', 'INSTALL_ROLLBACK', 'INSTALL_ERROR'].includes(j.status)
            ? j
            : undefined;
        },
        300_000,
        2000,
      ),
    );
    const ok = await again([]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(installedOf(await cm(TARGET, withRealm, (s) => s.cm.components()))).to.deep.equal(
      source,
    );
  });

  it('a bundle whose install rolls back fails its step, naming it and the CM message', async () => {
    const widget = widgetBundle();
    const b = readDescriptor(REGISTRY, widget.repoUrl!, widget.version!)!;
    // The recorded version changed meanwhile: a new widget (NEW, so CREATE even with SKIP) fails.
    const bid = /-([0-9a-f]{8})$/.exec(widget.code)![1];
    const file = descriptorPath(REGISTRY, widget.repoUrl!, widget.version!);
    const original = fs.readFileSync(file, 'utf8');
    try {
      writeDescriptor(REGISTRY, {
        ...b,
        widgets: [...(b.widgets ?? []), { code: 'hooked-widget', group: 'free' }],
        sandbox: {
          failComponent: {
            component: `widget:hooked-widget-${bid}`,
            message: 'widget refused by the sandbox hook',
          },
        },
      });
      const r = await again(['--wait-timeout', '300']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(
        new RegExp(
          `bundle ${widget.code} version ${widget.version}: install ended INSTALL_ROLLBACK(_PARTIAL)?: .*widget refused by the sandbox hook`,
        ),
      );
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('a bundle whose upgrade failed in the source: the restore plan and JSON name it, its recorded state and what the restore does instead', async () => {
    const widget = widgetBundle();
    const broken = '9.9.9-broken';
    const base = readDescriptor(REGISTRY, widget.repoUrl!, widget.version!)!;
    const bid = /-([0-9a-f]{8})$/.exec(widget.code)![1];
    written.push(
      writeDescriptor(REGISTRY, {
        ...base,
        version: broken,
        widgets: [...(base.widgets ?? []), { code: 'hooked-widget', group: 'free' }],
        sandbox: {
          failComponent: {
            component: `widget:hooked-widget-${bid}`,
            message: 'widget refused by the sandbox hook',
          },
        },
      }),
    );
    await startInstall(SOURCE, ns, widget.namespace ?? ns, widget, broken);
    const failed = await cm(SOURCE, ns, (s) =>
      waitFor(
        'the failed upgrade',
        async () => {
          const j = await s.cm.installJob(widget.code);
          return /ROLLBACK|ERROR/.test(j.status) ? j.status : undefined;
        },
        300_000,
        2000,
      ),
    );
    const second = scenario.file('upgrade-failed.tar.age');
    const b = await scenario.backup(SOURCE, ns, second, ['-o', 'json']);
    expect(b.code, b.stderr).to.equal(0);
    const recorded = (JSON.parse(b.stdout) as { bundles: BundlesSummary }).bundles.bundles.find(
      (x) => x.code === widget.code,
    )!;
    expect([recorded.installed, recorded.version, recorded.lastJobStatus]).to.deep.equal([
      true,
      widget.version,
      failed,
    ]);
    const into = `${ns}-c`;
    const plan = await scenario.restore(second, TARGET, into, [
      '--dry-run',
      '--namespace-map',
      `${ns}-ecr=${into}-ecr`,
      '--ingress-host',
      host(into),
      '-o',
      'json',
    ]);
    expect(plan.code, plan.stderr).to.equal(0);
    const out = JSON.parse(plan.stdout) as {
      steps: { phase: string; object?: { name: string }; reason: string }[];
      bundlesLeftAlone: { code: string; lastJobStatus?: string; outcome: string; why: string }[];
    };
    const step = out.steps.find(
      (s) => s.phase === 'bundles-reinstall' && s.object?.name === widget.code,
    )!;
    expect(step.reason).to.include(`its last job ended ${failed}`);
    expect(step.reason).to.include(`reinstalled at ${widget.version}, the failed job not repeated`);
    expect(out.bundlesLeftAlone.map((x) => [x.code, x.lastJobStatus, x.outcome])).to.deep.equal([
      [widget.code, failed, 'reinstalled at its installed version'],
    ]);
    const text = await scenario.restore(second, TARGET, into, [
      '--dry-run',
      '--namespace-map',
      `${ns}-ecr=${into}-ecr`,
      '--ingress-host',
      host(into),
    ]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include(`its last job ended ${failed}`);

    // The restore itself: its summary names the bundle, and it is back at its installed version.
    const done = await scenario.restore(second, TARGET, into, [
      '--namespace-map',
      `${ns}-ecr=${into}-ecr`,
      '--ingress-host',
      host(into),
    ]);
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.include('bundles not reinstalled as recorded (1):');
    expect(done.stdout).to.match(
      new RegExp(
        `\\n {4}${widget.code} \\([^)]*\\): installed at ${widget.version} in the source, its last job ended ${failed}`,
      ),
    );
    const back = await cm(TARGET, into, (s) => s.cm.components());
    expect(back.find((x) => x.code === widget.code)?.installedJob?.componentVersion).to.equal(
      widget.version,
    );
  });
});
