import { expect } from 'chai';
import { KeycloakAdmin } from '../../src/components/keycloak/admin.js';
import type { KeycloakSession } from '../../src/components/keycloak/locate.js';
import { otpSecret, totp, userName, userPassword } from '../../sandbox/fixture/realm.js';
import { runCli } from '../helpers/cli.js';
import { Scenario } from '../helpers/scenario.js';
import {
  appKeycloak,
  applyFixture,
  deleteNamespace,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
} from '../helpers/sandbox.js';
import { KEYCLOAK_SUITE_LOCK, takeSuiteLock } from '../helpers/suite-lock.js';

const FIXTURE = 'sandbox/fixtures/keycloak-20k.yaml';
const APP = 'big-realm';
const SEED = 2020;
const USERS = 20_000;

/** Every user of the realm as `id username`, read over REST a page at a time. */
async function everyUser(s: KeycloakSession): Promise<string[]> {
  const out: string[] = [];
  for (let first = 0; ; first += 1000) {
    const page = await s.admin.get<{ id: string; username: string }[]>(
      `/realms/entando/users?first=${first}&max=1000&briefRepresentation=true`,
    );
    out.push(...page.map((u) => `${u.id} ${u.username}`));
    if (page.length < 1000) return out.sort();
  }
}

describe('e2e: a realm of 20,000 users round trip (every user back, a sample logs in)', function () {
  this.timeout(30 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-kc20k-${suffix}`;
  const targetNs = `e2e-kc20k-r-${suffix}`;
  let scenario: Scenario;
  let unlock: (() => void) | undefined;
  let archive: string;

  before(async () => {
    await requireSandbox();
    unlock = await takeSuiteLock(KEYCLOAK_SUITE_LOCK, 'e2e keycloak-scale', {
      timeoutMs: 1_500_000,
    });
    scenario = new Scenario();
    archive = scenario.file('kc20k.tar.age');
    await applyFixture(FIXTURE, SOURCE, sourceNs, { keycloak: true });
  });

  after(async () => {
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    await deleteNamespace(TARGET, targetNs).catch(() => undefined);
    scenario?.cleanup();
    unlock?.();
  });

  it('backs up the realm: the archive counts every user, as Keycloak does', async () => {
    const r = await scenario.backup(SOURCE, sourceNs, archive, ['--progress', 'none']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const inspect = await runCli(['inspect', archive, '-i', scenario.keyFile, '-o', 'json']);
    expect(inspect.code, inspect.stderr).to.equal(0);
    const kc = (
      JSON.parse(inspect.stdout) as {
        components: { keycloak: { counts: { users: number; serviceAccounts: number } } };
      }
    ).components.keycloak;
    expect(kc.counts.users - kc.counts.serviceAccounts).to.equal(USERS);
  });

  it('restores it into another cluster and namespace: every user, same id, and a sample logs in', async () => {
    const r = await scenario.restore(archive, TARGET, targetNs, ['--progress', 'none']);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const src = await appKeycloak(SOURCE, sourceNs, APP);
    const tgt = await appKeycloak(TARGET, targetNs, APP);
    try {
      const [before, after] = [await everyUser(src), await everyUser(tgt)];
      expect(before.length).to.equal(USERS);
      // Compared as a whole (a deep-equal diff of 20,000 lines would drown the message).
      const restored = new Set(after);
      const missing = before.filter((u) => !restored.has(u));
      expect(missing.slice(0, 5), `${missing.length} users missing`).to.deep.equal([]);
      expect(after.length).to.equal(before.length);
      const login = (i: number, extra: Record<string, string> = {}) =>
        KeycloakAdmin.passwordGrant(tgt.admin.base, 'entando', {
          grant_type: 'password',
          client_id: 'admin-cli',
          username: userName(i),
          password: userPassword(SEED, i),
          ...extra,
        });
      // Users from the first, middle and last import pages, and one at random.
      const sample = [3, 499, 500, 10_001, USERS - 1, 3 + Math.floor(Math.random() * (USERS - 3))];
      for (const i of sample) await login(i);
      let refused = false;
      await login(1).catch(() => (refused = true));
      expect(refused, 'an OTP user without a code').to.equal(true);
      await login(1, { otp: totp(otpSecret(SEED, 1)) });
    } finally {
      await src.close();
      await tgt.close();
    }
  });
});
