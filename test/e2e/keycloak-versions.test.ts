import { expect } from 'chai';
import { KeycloakAdmin } from '../../src/components/keycloak/admin.js';
import { DOCKER_IMAGE_INFO_7_1_6 } from '../../sandbox/fixture/entando-7.1.6.js';
import { DOCKER_IMAGE_INFO } from '../../sandbox/fixture/entando-7.3.0.js';
import { otpSecret, totp, userName, userPassword } from '../../sandbox/fixture/realm.js';
import { KEYCLOAK_VERSION_LABEL } from '../../sandbox/operator/keycloak.js';
import { runCli } from '../helpers/cli.js';
import { kubectl, Scenario } from '../helpers/scenario.js';
import {
  appKeycloak,
  applyFixture,
  client,
  deleteNamespace,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
} from '../helpers/sandbox.js';
import { KEYCLOAK_SUITE_LOCK, takeSuiteLock } from '../helpers/suite-lock.js';

const FIXTURE = 'sandbox/fixtures/keycloak15.yaml';
const APP = 'old-app';
const SEED = 7331;

const secretValue = async (context: string, ns: string, name: string, key: string) => {
  const s = await client(context).get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  return Buffer.from((s!.data as Record<string, string>)[key], 'base64').toString('utf8');
};

/** A namespace as a namespace-scoped Entando install leaves it: its image info beside it. */
const entandoInstall = (
  context: string,
  ns: string,
  imageInfo: Record<string, string>,
  labels: Record<string, string> = {},
) =>
  kubectl(
    context,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'entando-docker-image-info', namespace: ns },
          data: imageInfo,
        },
      ],
    }),
  );

describe('e2e: Keycloak across Entando versions (7.1 on Keycloak 15 into 7.3 on 18, and back refused)', function () {
  this.timeout(20 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-kc15-${suffix}`;
  const targetNs = `e2e-kc15-r-${suffix}`;
  const downNs = `e2e-kc15-d-${suffix}`;
  let scenario: Scenario;
  let unlock: (() => void) | undefined;
  let archive: string;

  before(async () => {
    await requireSandbox();
    unlock = await takeSuiteLock(KEYCLOAK_SUITE_LOCK, 'e2e keycloak-versions', {
      timeoutMs: 1_500_000,
    });
    scenario = new Scenario();
    archive = scenario.file('kc15.tar.age');
    await applyFixture(FIXTURE, SOURCE, sourceNs, { keycloak: true });
  });

  after(async () => {
    for (const [context, ns] of [
      [SOURCE, sourceNs],
      [TARGET, targetNs],
      [SOURCE, downNs],
    ] as const) {
      await deleteNamespace(context, ns).catch(() => undefined);
    }
    scenario?.cleanup();
    unlock?.();
  });

  it('records the source versions: Entando 7.1.6, Keycloak 15.0.2', async () => {
    const r = await scenario.backup(SOURCE, sourceNs, archive, ['--progress', 'none']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const inspect = await runCli(['inspect', archive, '-i', scenario.keyFile, '-o', 'json']);
    expect(inspect.code, inspect.stderr).to.equal(0);
    const versions = (
      JSON.parse(inspect.stdout) as {
        versions: { entando: { version: string }; keycloak: { version: string } };
      }
    ).versions;
    expect(versions.keycloak.version).to.equal('15.0.2');
    expect(versions.entando.version).to.equal('7.1.6');
  });

  it('the plan says the realm is migrated forward to the target Keycloak', async () => {
    // The target namespace holds an Entando 7.3 install (its image info: Keycloak 18.0.2).
    await entandoInstall(TARGET, targetNs, DOCKER_IMAGE_INFO);
    const r = await scenario.restore(archive, TARGET, targetNs, ['--dry-run']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include('will be migrated forward: Keycloak 15.0.2 -> 18.0.2');
  });

  it('restores into Keycloak 18.0.2: users log in, the OTP user with a TOTP code, clients keep their secrets', async () => {
    const r = await scenario.restore(archive, TARGET, targetNs, ['--progress', 'none']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const info = await client(TARGET).get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: targetNs,
      name: 'entando-docker-image-info',
    });
    expect(info!.data, "the target's install keeps its image info").to.deep.equal(
      DOCKER_IMAGE_INFO,
    );
    const s = await appKeycloak(TARGET, targetNs, APP);
    try {
      expect(await s.admin.serverVersion()).to.equal('18.0.2');
      const login = (i: number, extra: Record<string, string> = {}) =>
        KeycloakAdmin.passwordGrant(s.admin.base, 'entando', {
          grant_type: 'password',
          client_id: 'admin-cli',
          username: userName(i),
          password: userPassword(SEED, i),
          ...extra,
        });
      for (const i of [1, 7, 29]) await login(i);
      let refused = false;
      await login(0).catch(() => (refused = true));
      expect(refused, 'the OTP user without a code').to.equal(true);
      await login(0, { otp: totp(otpSecret(SEED, 0)) });
      for (const clientId of [APP, `${APP}-de`]) {
        const c = (await s.admin.findClient('entando', clientId))!;
        expect(await s.admin.clientSecret('entando', c.id!), clientId).to.equal(
          await secretValue(TARGET, targetNs, `${clientId}-secret`, 'clientSecret'),
        );
        expect(await secretValue(TARGET, targetNs, `${clientId}-secret`, 'clientSecret')).to.equal(
          await secretValue(SOURCE, sourceNs, `${clientId}-secret`, 'clientSecret'),
        );
      }
    } finally {
      await s.close();
    }
  });

  it('a downgrade (the 18.0.2 app back into a 7.1 namespace) is refused before any change', async () => {
    const newer = scenario.file('kc18.tar.age');
    const b = await scenario.backup(TARGET, targetNs, newer, ['--progress', 'none']);
    expect(b.code, b.stderr + b.stdout).to.equal(0);
    // A 7.1 install: its image info (Keycloak 15.1.1), and the sandbox runs 15.0.2 there.
    await entandoInstall(SOURCE, downNs, DOCKER_IMAGE_INFO_7_1_6, {
      [KEYCLOAK_VERSION_LABEL]: '15.0.2',
    });
    const objects = () =>
      kubectl(SOURCE, ['-n', downNs, 'get', 'all,secrets,configmaps', '-o', 'name']);
    const before = await objects();
    const r = await scenario.restore(newer, SOURCE, downNs, ['--existing', 'update']);
    expect(r.code, r.stderr + r.stdout).to.equal(2);
    expect(r.stdout).to.match(
      /Keycloak: the archived realm was exported by Keycloak 18\.0\.2 and the target's Keycloak is 15\.1\.1/,
    );
    expect(r.stderr).to.match(/^error: restore refused/m);
    const after = await objects();
    expect(after).to.equal(before);
    const cm = await client(SOURCE).get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: downNs,
      name: 'entando-docker-image-info',
    });
    expect(cm!.data).to.deep.equal(DOCKER_IMAGE_INFO_7_1_6);
  });
});
