import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DrillReport } from '../../src/drill/report.js';
import { realmEntryPath } from '../../src/components/keycloak/backup.js';
import { userName, userPassword } from '../../sandbox/fixture/realm.js';
import { runCli } from '../helpers/cli.js';
import { rewriteArchive } from '../helpers/rewrite.js';
import { Scenario } from '../helpers/scenario.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  TARGET,
  waitFor,
} from '../helpers/sandbox.js';
import { KEYCLOAK_SUITE_LOCK, takeSuiteLock } from '../helpers/suite-lock.js';

const run = promisify(execFile);
const SEED = 7301; // sandbox/fixtures/default.yaml

/** The target cluster's PostgreSQL, where the operator stand-in records whose schemas are whose. */
function targetDbms(): { host: string; port: number; adminUser: string; adminPassword: string } {
  const file = path.join(path.dirname(KUBECONFIG), 'clusters/target/dbms.json');
  return (
    JSON.parse(fs.readFileSync(file, 'utf8')) as { postgresql: ReturnType<typeof targetDbms> }
  ).postgresql;
}

/** Roles and schemas the stand-in still holds for these namespaces (sandbox_meta.owners). */
async function schemasOf(namespaces: string[]): Promise<number> {
  const db = targetDbms();
  const list = namespaces.map((n) => `'${n}'`).join(', ');
  const { stdout } = await run(
    'psql',
    [
      '-X',
      '-At',
      '-h',
      db.host,
      '-p',
      String(db.port),
      '-U',
      db.adminUser,
      '-d',
      'sandbox_meta',
      '-c',
      `SELECT count(*) FROM owners WHERE namespace IN (${list})`,
    ],
    { env: { ...process.env, PGPASSWORD: db.adminPassword } },
  );
  return Number(stdout.trim());
}

describe('e2e: drill (restore into throw-away namespaces, check, delete, report)', function () {
  this.timeout(25 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-drill-${suffix}`;
  let scenario: Scenario;
  let archive: string;
  let folder: string;
  let passwordFile: string;
  let unlock: (() => void) | undefined;

  const drill = (what: string, reportDir: string) =>
    runCli(
      [
        'drill',
        what,
        '--kubeconfig',
        KUBECONFIG,
        '--to-context',
        TARGET,
        '-i',
        scenario.keyFile,
        '--login-user',
        userName(1),
        '--login-password-file',
        passwordFile,
        '--report-dir',
        reportDir,
        '-o',
        'json',
      ],
      scenario.env,
    );

  /** Nothing of the drill is left in the target: namespaces, schemas, volumes. */
  async function expectNothingLeft(report: DrillReport): Promise<void> {
    const namespaces = [report.target!.namespace, ...Object.values(report.target!.namespaceMap)];
    const target = client(TARGET);
    for (const ns of namespaces) {
      expect(await target.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }), ns).to.equal(
        undefined,
      );
    }
    await waitFor('the drill schemas dropped', async () =>
      (await schemasOf(namespaces)) === 0 ? true : undefined,
    );
    const pvs = await target.list('v1', 'PersistentVolume');
    const left = pvs.filter((pv) =>
      namespaces.includes(
        (pv.spec as { claimRef?: { namespace?: string } }).claimRef?.namespace ?? '',
      ),
    );
    expect(left.map((pv) => pv.metadata.name)).to.deep.equal([]);
    const pvDir = path.join(path.dirname(KUBECONFIG), 'clusters/target/pv');
    // The node removes each claim's directory (an empty one per namespace may stay).
    for (const ns of namespaces) {
      const dir = path.join(pvDir, ns);
      expect(fs.existsSync(dir) ? fs.readdirSync(dir) : [], dir).to.deep.equal([]);
    }
  }

  before(async () => {
    await requireSandbox();
    // Its realm export and import run side servers, as the keycloak suite's do.
    unlock = await takeSuiteLock(KEYCLOAK_SUITE_LOCK, 'e2e drill', { timeoutMs: 1_500_000 });
    scenario = new Scenario();
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs, { keycloak: true });
    folder = scenario.file('archives');
    fs.mkdirSync(folder);
    archive = path.join(folder, 'qs.tar.age');
    const backup = await scenario.backup(SOURCE, sourceNs, archive);
    expect(backup.code, backup.stderr).to.equal(0);
    passwordFile = scenario.file('password');
    fs.writeFileSync(passwordFile, `${userPassword(SEED, 1)}\n`, { mode: 0o600 });
  });
  after(async () => {
    scenario?.cleanup();
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    unlock?.();
  });

  it("a good archive (the folder's newest): every check passes, a report with recovery point and time, nothing left", async () => {
    const reports = scenario.file('reports-good');
    const r = await drill(folder, reports);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const report = JSON.parse(r.stdout) as DrillReport;
    expect(report.passed, JSON.stringify(report.checks, null, 2)).to.equal(true);
    expect(report.archive).to.equal(archive);
    const outcomes = Object.fromEntries(report.checks.map((c) => [c.name, c.outcome]));
    expect(outcomes).to.include({
      archive: 'passed',
      restore: 'passed',
      'app-ready': 'passed',
      verify: 'passed',
      'realm-login': 'passed',
      bundles: 'passed',
    });
    // The sandbox's app engine runs no server (no process in its pod): named, not failed.
    expect(outcomes['app-health']).to.be.oneOf(['passed', 'skipped']);
    expect(report.checks.find((c) => c.name === 'realm-login')!.detail).to.include(
      `user ${userName(1)} logged in`,
    );
    expect(report.cleanup?.outcome).to.equal('passed');
    expect(report.recoveryPointSeconds).to.be.a('number').and.at.least(0);
    expect(report.recoveryTimeSeconds).to.be.a('number').and.greaterThan(0);
    expect(report.target!.namespace).to.match(new RegExp(`^${sourceNs}-drill-[a-z0-9]{5}$`));
    expect(report.target!.host).to.match(/-drill-[a-z0-9]{5}\./);
    const md = fs.readFileSync(report.files!.markdown, 'utf8');
    expect(md).to.match(/^# Restore drill: PASSED/);
    expect(md).to.include('Recovery point (archive age)');
    expect(md).to.include('| realm-login | PASS |');
    expect(JSON.parse(fs.readFileSync(report.files!.json, 'utf8')).passed).to.equal(true);
    expect(fs.statSync(report.files!.json).mode & 0o077).to.equal(0);
    await expectNothingLeft(report);
  });

  it('an archive whose realm lost a user before the restore: the drill fails with the check that saw it named; nothing left', async () => {
    const damaged = scenario.file('damaged.tar.age');
    await rewriteArchive(archive, damaged, scenario.keyFile, scenario.id.recipient, (p, data) => {
      if (p !== realmEntryPath('entando')) return data;
      const realm = JSON.parse(data.toString()) as { users?: { username: string }[] };
      if (!realm.users?.length) throw new Error(`no users in ${p}`);
      realm.users = realm.users.filter((u) => u.username !== userName(7));
      return Buffer.from(JSON.stringify(realm));
    });
    const r = await drill(damaged, scenario.file('reports-damaged'));
    expect(r.code, r.stderr + r.stdout).to.equal(1);
    const report = JSON.parse(r.stdout) as DrillReport;
    expect(report.passed).to.equal(false);
    // The restore's own count check after the import, or verify's realm counts: either names
    // the realm's users; no other check may fail.
    const failed = report.checks.filter((c) => c.outcome === 'failed');
    expect(failed, JSON.stringify(report.checks, null, 2)).to.have.length(1);
    expect(failed[0].name).to.be.oneOf(['restore', 'verify']);
    expect(failed[0].detail).to.match(/realm entando.*users|users.*realm entando/);
    expect(fs.readFileSync(report.files!.markdown, 'utf8')).to.include(
      `| ${failed[0].name} | FAIL |`,
    );
    expect(report.cleanup?.outcome).to.equal('passed');
    await expectNothingLeft(report);
  });
});
