import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KeycloakAdmin } from '../../src/components/keycloak/admin.js';
import type { KeycloakSession } from '../../src/components/keycloak/locate.js';
import type { KubeClient } from '../../src/kube/client.js';
import {
  otpSecret,
  realmUsers,
  totp,
  userName,
  userPassword,
} from '../../sandbox/fixture/realm.js';
import { runCli } from '../helpers/cli.js';
import { Scenario } from '../helpers/scenario.js';
import {
  appKeycloak,
  applyFixture,
  client,
  deleteNamespace,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';
import { KEYCLOAK_SUITE_LOCK, takeSuiteLock } from '../helpers/suite-lock.js';

const SEED = 7301; // sandbox/fixtures/default.yaml
const APP = 'quickstart';
// The name the component manager (stand-in) gives the plugin: sha8 of its deploymentBaseName.
const PLUGIN_CLIENT = 'pn-6cd85816-93ce70fd-simple-ms-server';
const REALM = '/realms/entando';
const SSO_DEPLOYMENT = 'default-sso-in-namespace-deployment';

const session = (context: string, ns: string): Promise<KeycloakSession> =>
  appKeycloak(context, ns, APP);

/** What must be equal between source and restored realm (ids included). */
async function realmView(admin: KeycloakAdmin) {
  const users = await admin.get<{ id: string; username: string }[]>(
    `${REALM}/users?first=0&max=100000`,
  );
  const clients = await admin.get<{ id: string; clientId: string }[]>(`${REALM}/clients?max=1000`);
  const groups = await admin.get<{ id: string; name: string }[]>(`${REALM}/groups?max=1000`);
  const roles = await admin.get<{ id: string; name: string }[]>(`${REALM}/roles?max=1000`);
  const keys = await admin.get<{ keys: { kid: string }[] }>(`${REALM}/keys`);
  return {
    users: users.map((u) => `${u.id} ${u.username}`).sort(),
    clients: clients.map((c) => `${c.id} ${c.clientId}`).sort(),
    groups: groups.map((g) => `${g.id} ${g.name}`).sort(),
    roles: roles.map((r) => `${r.id} ${r.name}`).sort(),
    kids: keys.keys.map((k) => k.kid).sort(),
  };
}

async function secretValue(kube: KubeClient, ns: string, name: string, key: string) {
  const s = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  const v = (s?.data as Record<string, string> | undefined)?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

const sideDirs = () => fs.readdirSync('/tmp').filter((d) => d.startsWith('kubectl-entando-kc'));
/**
 * Side-server directories already there when this suite starts (an earlier run or suite, e.g. a
 * killed one): not this suite's to judge. Taken in its `before`.
 */
let preexisting = new Set<string>();

/**
 * No export server and no export directory left on the node (pods are host processes) by this
 * run: a directory some earlier, killed run left behind is not counted.
 */
function leftovers(): string {
  const ps = (() => {
    try {
      return execFileSync('pgrep', ['-af', 'keycloak.migration.action=export'], {
        encoding: 'utf8',
      });
    } catch {
      return '';
    }
  })();
  const dirs = sideDirs().filter((d) => !preexisting.has(d));
  return `${ps.trim()}${dirs.join(' ')}`;
}

describe('e2e: the Keycloak realm, moved with no data loss (real Keycloak 18.0.2)', function () {
  this.timeout(20 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-kc-${suffix}`;
  const targetNs = `e2e-kc-restored-${suffix}`;
  const skipNs = `e2e-kc-skip-${suffix}`;
  const keepNs = `e2e-kc-keep-${suffix}`;
  const sourceHost = 'quickstart.entando-pg.sandbox.local'; // default.yaml's ingressHostName
  const targetHost = `qs-${suffix}.restored.sandbox.local`;
  let scenario: Scenario;
  let tmp: Scenario['tmp'];
  let keyFile: string;
  let archive: string;
  let baseline: Awaited<ReturnType<typeof realmView>>;

  let releaseLock: (() => void) | undefined;

  before(async () => {
    await requireSandbox();
    releaseLock = await takeSuiteLock(KEYCLOAK_SUITE_LOCK, 'e2e keycloak', {
      timeoutMs: 1_500_000,
    });
    preexisting = new Set(sideDirs());
    scenario = new Scenario();
    tmp = scenario.tmp;
    keyFile = scenario.keyFile;
    archive = path.join(tmp.dir, 'qs.tar.age');
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs, { keycloak: true });
    const s = await session(SOURCE, sourceNs);
    try {
      baseline = await realmView(s.admin);
    } finally {
      await s.close();
    }
  });
  after(async () => {
    releaseLock?.();
    tmp?.cleanup();
    for (const [ctx, ns] of [
      [SOURCE, sourceNs],
      [TARGET, targetNs],
      [TARGET, skipNs],
      [TARGET, keepNs],
      [TARGET, sourceNs], // its `-ecr`, restored under the same name
    ]) {
      await deleteNamespace(ctx, ns).catch(() => undefined);
    }
  });

  const backup = (extra: string[], file = archive) =>
    scenario.backup(SOURCE, sourceNs, file, extra);

  it('backs up the realm: counts in the output, nothing left in the pod, source unchanged, no secret in the log', async () => {
    const r = await backup(['-o', 'json', '-v']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.keycloak.mode).to.equal('realm');
    expect(out.keycloak.counts.users - out.keycloak.counts.serviceAccounts).to.equal(500);
    expect(out.keycloak.counts.groups).to.equal(5);
    expect(out.keycloak.locales).to.deep.equal(['en']);
    expect(leftovers()).to.equal('');
    const s = await session(SOURCE, sourceNs);
    try {
      expect(await realmView(s.admin)).to.deep.equal(baseline);
    } finally {
      await s.close();
    }
    // Secrets of the realm are in the archive only, encrypted.
    const deSecret = (await secretValue(
      client(SOURCE),
      sourceNs,
      `${APP}-de-secret`,
      'clientSecret',
    ))!;
    const otp = otpSecret(SEED, 0);
    const bytes = fs.readFileSync(archive);
    for (const secret of [deSecret, otp]) {
      expect(r.stdout + r.stderr).not.to.include(secret);
      expect(bytes.includes(Buffer.from(secret))).to.equal(false);
    }
    const inspect = await runCli(['inspect', archive, '-i', keyFile]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expect(inspect.stdout).to.match(/realm entando \(Keycloak 18\.0\.2\): 500 users/);
  });

  it('restores into the other cluster, namespace and host: logins, OTP, ids, keys, secrets and both hosts', async () => {
    const r = await scenario.restore(archive, TARGET, targetNs, ['--ingress-host', targetHost]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout + r.stderr).not.to.include(otpSecret(SEED, 0));
    expect(leftovers(), 'no import server or file left').to.equal('');
    const s = await session(TARGET, targetNs);
    try {
      expect(await realmView(s.admin)).to.deep.equal(baseline);
      const base = s.admin.base;
      for (const i of [1, 2, 99, 250, 499]) {
        await KeycloakAdmin.passwordGrant(base, 'entando', {
          grant_type: 'password',
          client_id: 'admin-cli',
          username: userName(i),
          password: userPassword(SEED, i),
        });
      }
      const otpUser = {
        grant_type: 'password',
        client_id: 'admin-cli',
        username: userName(0),
        password: userPassword(SEED, 0),
      };
      let refused = false;
      await KeycloakAdmin.passwordGrant(base, 'entando', otpUser).catch(() => (refused = true));
      expect(refused, 'the OTP user without a code').to.equal(true);
      await KeycloakAdmin.passwordGrant(base, 'entando', {
        ...otpUser,
        otp: totp(otpSecret(SEED, 0)),
      });

      const target = client(TARGET);
      for (const clientId of [APP, `${APP}-de`, PLUGIN_CLIENT]) {
        const c = (await s.admin.findClient('entando', clientId))!;
        expect(
          await secretValue(target, targetNs, `${clientId}-secret`, 'clientSecret'),
          clientId,
        ).to.equal(await s.admin.clientSecret('entando', c.id!));
      }
      await KeycloakAdmin.passwordGrant(base, 'entando', {
        grant_type: 'client_credentials',
        client_id: `${APP}-de`,
        client_secret: (await secretValue(target, targetNs, `${APP}-de-secret`, 'clientSecret'))!,
      });
      const app = (await s.admin.findClient('entando', APP))!;
      expect(app.redirectUris).to.include.members([
        `https://${sourceHost}/entando-de-app/*`,
        `https://${targetHost}/entando-de-app/*`,
      ]);
      expect(app.webOrigins).to.include.members([`https://${sourceHost}`, `https://${targetHost}`]);
      // The plugin client's custom role, on the users and the group that had it.
      const plugin = (await s.admin.findClient('entando', PLUGIN_CLIENT))!;
      const holders = await s.admin.get<{ username: string }[]>(
        `${REALM}/clients/${plugin.id}/roles/fixture-auditor/users?max=1000`,
      );
      const expected = realmUsers(
        SEED,
        { users: 500, otpUsers: 1, groups: 5 },
        PLUGIN_CLIENT,
        'fixture-auditor',
      )
        .filter((u) => u.clientRoles)
        .map((u) => u.username);
      expect(holders.map((u) => u.username).sort()).to.deep.equal(expected.sort());
      const group = (
        await s.admin.get<{ id: string; name: string }[]>(`${REALM}/groups?search=group-1`)
      ).find((g) => g.name === 'group-1')!;
      const mapped = await s.admin.get<{ name: string }[]>(
        `${REALM}/groups/${group.id}/role-mappings/clients/${plugin.id}`,
      );
      expect(mapped.map((x) => x.name)).to.include('fixture-auditor');
      expect(await s.admin.get(`${REALM}/localization/en`)).to.deep.equal({
        'fixture.greeting': `Hello ${SEED}`,
      });
    } finally {
      await s.close();
    }
  });

  it('--keycloak skip: the target keeps its operator-made realm and fresh client secrets that match', async () => {
    const r = await scenario.restore(archive, TARGET, skipNs, [
      '--ingress-host',
      `skip-${suffix}.sandbox.local`,
      // default.yaml's third bundle lives in <ns>-ecr, already restored once under that name.
      '--namespace-map',
      `${sourceNs}-ecr=${skipNs}-ecr`,
      '--keycloak',
      'skip',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const s = await session(TARGET, skipNs);
    try {
      expect(await s.admin.get<number>(`${REALM}/users/count`)).to.equal(0);
      const target = client(TARGET);
      const secret = await secretValue(target, skipNs, `${APP}-de-secret`, 'clientSecret');
      const archived = await secretValue(
        client(SOURCE),
        sourceNs,
        `${APP}-de-secret`,
        'clientSecret',
      );
      expect(secret).to.not.equal(archived);
      await KeycloakAdmin.passwordGrant(s.admin.base, 'entando', {
        grant_type: 'client_credentials',
        client_id: `${APP}-de`,
        client_secret: secret!,
      });
    } finally {
      await s.close();
    }
  });

  it('--keycloak keep: the restored app uses the source Keycloak as an external one, which gets the new host', async () => {
    const keepHost = `keep-${suffix}.sandbox.local`;
    const src = client(SOURCE);
    const d = await src.get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: sourceNs,
      name: SSO_DEPLOYMENT,
    });
    const offset = Number(d!.metadata.labels!['sandbox.entando.org/keycloak-port-offset']);
    // The recorded public URL (sso.<ns>.sandbox.local) does not resolve here: say where it is.
    const url = `http://127.0.0.1:${8080 + offset}/auth`;
    const r = await scenario.restore(archive, TARGET, keepNs, [
      '--ingress-host',
      keepHost,
      '--namespace-map',
      `${sourceNs}-ecr=${keepNs}-ecr`,
      '--keycloak',
      'keep',
      '--keycloak-url',
      url,
      // The sandbox runs its component manager stand-in only for an app whose realm is in a
      // Keycloak of its own namespace (sandbox/README.md): with `keep` the restored app uses the
      // source's Keycloak as an external one, so there is no CM to reinstall through here.
      '--bundles',
      'objects-only',
    ]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const tgt = client(TARGET);
    const app = await tgt.get({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      namespace: keepNs,
      name: APP,
    });
    expect((app!.spec as { keycloakToUse?: { name?: string } }).keycloakToUse?.name).to.equal(
      `${APP}-original-sso`,
    );
    const server = await tgt.get({
      apiVersion: 'entando.org/v1',
      kind: 'EntandoKeycloakServer',
      namespace: keepNs,
      name: `${APP}-original-sso`,
    });
    expect((server!.spec as { provisioningStrategy?: string }).provisioningStrategy).to.equal(
      'UseExternal',
    );
    expect(
      await tgt.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: keepNs,
        name: SSO_DEPLOYMENT,
      }),
    ).to.equal(undefined);
    const s = await session(SOURCE, sourceNs);
    try {
      expect(await realmView(s.admin)).to.deep.equal(baseline);
      const c = (await s.admin.findClient('entando', APP))!;
      expect(c.redirectUris).to.include.members([
        `https://${sourceHost}/entando-de-app/*`,
        `https://${keepHost}/entando-de-app/*`,
      ]);
      await KeycloakAdmin.passwordGrant(s.admin.base, 'entando', {
        grant_type: 'client_credentials',
        client_id: `${APP}-de`,
        client_secret: (await secretValue(tgt, keepNs, `${APP}-de-secret`, 'clientSecret'))!,
      });
    } finally {
      await s.close();
    }
  });

  it('fails cleanly: an export that cannot start, and a Keycloak with no ready pod (no archive left)', async () => {
    const heap = path.join(tmp.dir, 'heap.tar.age');
    const r = await backup(['--keycloak-heap', '1m'], heap);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/keycloak realm entando: the export server failed/);
    expect(fs.existsSync(heap)).to.equal(false);
    expect(leftovers()).to.equal('');

    const src = client(SOURCE);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: sourceNs,
      name: 'default-sso-in-namespace-deployment',
    };
    await src.mergePatch(deployment, { spec: { replicas: 0 } });
    try {
      await waitFor('the Keycloak pod to go', async () => {
        const pods = await src.list(
          'v1',
          'Pod',
          sourceNs,
          'entando.org/deployment=default-sso-in-namespace-deployment',
        );
        return pods.length === 0 ? true : undefined;
      });
      const down = path.join(tmp.dir, 'down.tar.age');
      const d = await backup([], down);
      expect(d.code).to.equal(1);
      expect(d.stderr).to.match(/no running and ready pod.*--keycloak skip/);
      expect(fs.existsSync(down)).to.equal(false);
    } finally {
      await src.mergePatch(deployment, { spec: { replicas: 1 } });
    }
  });

  it('fails cleanly: the target Keycloak unreachable, then a re-run converges', async () => {
    const tgt = client(TARGET);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: targetNs,
      name: 'default-sso-in-namespace-deployment',
    };
    await tgt.mergePatch(deployment, { spec: { replicas: 0 } });
    const restore = () =>
      scenario.restore(archive, TARGET, targetNs, [
        '--ingress-host',
        targetHost,
        '--existing',
        'update',
      ]);
    try {
      await waitFor('the target Keycloak pod to go', async () => {
        const pods = await tgt.list(
          'v1',
          'Pod',
          targetNs,
          'entando.org/deployment=default-sso-in-namespace-deployment',
        );
        return pods.length === 0 ? true : undefined;
      });
      const r = await restore();
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/Keycloak .* has no running and ready pod/);
    } finally {
      await tgt.mergePatch(deployment, { spec: { replicas: 1 } });
    }
    await waitFor(
      'the target Keycloak to answer',
      async () => {
        try {
          const s = await session(TARGET, targetNs);
          await s.close();
          return true;
        } catch {
          return undefined;
        }
      },
      180_000,
    );
    const again = await restore();
    expect(again.code, again.stderr + again.stdout).to.equal(0);
    const s = await session(TARGET, targetNs);
    try {
      expect(await realmView(s.admin)).to.deep.equal(baseline);
    } finally {
      await s.close();
    }
  });

  it('fails cleanly: a realm that is not in the Keycloak (one line, no archive)', async () => {
    const src = client(SOURCE);
    const ref = {
      apiVersion: 'entando.org/v1',
      kind: 'EntandoApp',
      namespace: sourceNs,
      name: APP,
    };
    // The operator must not make the realm: it ignores the app while it names another one.
    await src.mergePatch(ref, {
      metadata: { annotations: { 'entando.org/processing-instruction': 'ignore' } },
    });
    await src.mergePatch(ref, { spec: { keycloakToUse: { realm: 'absent' } } });
    try {
      const file = path.join(tmp.dir, 'absent.tar.age');
      const r = await backup([], file);
      expect(r.code).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/realm absent not found in Keycloak/);
      expect(fs.existsSync(file)).to.equal(false);
      expect(leftovers()).to.equal('');
    } finally {
      await src.mergePatch(ref, { spec: { keycloakToUse: null } });
      await src.mergePatch(ref, {
        metadata: { annotations: { 'entando.org/processing-instruction': null } },
      });
    }
  });
});
