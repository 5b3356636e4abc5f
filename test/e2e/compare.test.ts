import { expect } from 'chai';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { CompareOutcome } from '../../src/compare/compare.js';
import type { CompareRow } from '../../src/compare/rows.js';
import type { VerifyOutcome } from '../../src/compare/verify-restore.js';
import { runningPod } from '../../src/components/files/discover.js';
import { ENTANDO_API, EntandoKind } from '../../src/entando/kinds.js';
import { podExecOk } from '../../src/kube/pod-exec.js';
import { runCli } from '../helpers/cli.js';
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

async function allReady(context: string, namespace: string): Promise<void> {
  await waitFor(
    `deployments of ${namespace} ready`,
    async () => {
      const ds = await client(context).list('apps/v1', 'Deployment', namespace);
      for (const d of ds) {
        const want = (d.spec as { replicas?: number }).replicas ?? 1;
        if (((d.status as { readyReplicas?: number })?.readyReplicas ?? 0) < want) return undefined;
      }
      return ds.length > 0 ? true : undefined;
    },
    300_000,
  );
}

/** Runs a command in the first container of a ready pod of `deployment`; returns stdout. */
async function exec(
  context: string,
  namespace: string,
  deployment: string,
  command: string[],
): Promise<string> {
  const kube = client(context);
  const pod = await runningPod(kube, namespace, deployment);
  if (!pod) throw new Error(`no ready pod of ${deployment}`);
  const container = (pod.spec as { containers: { name: string }[] }).containers[0].name;
  const chunks: Buffer[] = [];
  const stdout = new PassThrough();
  stdout.on('data', (c: Buffer) => chunks.push(c));
  await podExecOk(
    kube.config,
    { namespace, pod: pod.metadata.name, container, command, stdout },
    command[0],
  );
  return Buffer.concat(chunks).toString();
}

const notEqual = (rows: CompareRow[]) =>
  rows.filter((r) => r.verdict !== 'same' && r.verdict !== 'expected');

describe('e2e: compare, two live apps after a backup and restore', function () {
  this.timeout(20 * 60_000);
  const suffix = randomSuffix();
  let scenario: Scenario;
  const kube = ['--kubeconfig', KUBECONFIG];
  let tmp: Scenario['tmp'];
  const verified = new Map<string, VerifyOutcome>();
  /** A second copy of the postgresql app in the target cluster, its repository mapped. */
  const mappedNs = `e2e-cmp-po-m-${suffix}`;
  const cases = [
    { name: 'postgresql', fixture: 'default', app: 'quickstart', quiesce: false },
    { name: 'mysql', fixture: 'mysql', app: 'mysql-app', quiesce: true },
    { name: 'embedded', fixture: 'embedded', app: 'embedded-app', quiesce: true },
  ].map((c) => ({
    ...c,
    source: `e2e-cmp-${c.name.slice(0, 2)}-${suffix}`,
    target: `e2e-cmp-${c.name.slice(0, 2)}-r-${suffix}`,
  }));

  const compare = (c: (typeof cases)[number], ...extra: string[]) =>
    runCli([
      'compare',
      c.app,
      ...kube,
      '--context',
      SOURCE,
      '-n',
      c.source,
      '--to-context',
      TARGET,
      '--to-namespace',
      c.target,
      '-o',
      'json',
      ...extra,
    ]);

  before(async () => {
    await requireSandbox();
    scenario = new Scenario();
    tmp = scenario.tmp;
    await Promise.all(
      cases.map(async (c) => {
        await applyFixture(`sandbox/fixtures/${c.fixture}.yaml`, SOURCE, c.source);
        const file = path.join(tmp.dir, `${c.name}.tar.age`);
        const b = await scenario.backup(SOURCE, c.source, file, [
          c.app,
          ...(c.quiesce ? ['--quiesce'] : []),
        ]);
        expect(b.code, b.stderr).to.equal(0);
        const r = await scenario.restore(file, TARGET, c.target, [
          '--ingress-host',
          `${c.target}.sandbox.local`,
          '--verify',
          '-o',
          'json',
        ]);
        expect(r.code, r.stderr + r.stdout).to.equal(0);
        verified.set(c.name, JSON.parse(r.stdout).verify as VerifyOutcome);
        await allReady(SOURCE, c.source);
        await allReady(TARGET, c.target);
      }),
    );
  });
  after(async () => {
    tmp?.cleanup();
    for (const c of cases) {
      await deleteNamespace(SOURCE, c.source).catch(() => undefined);
      await deleteNamespace(TARGET, c.target).catch(() => undefined);
      await deleteNamespace(TARGET, c.source).catch(() => undefined); // its `-ecr`, restored
    }
    await deleteNamespace(TARGET, mappedNs).catch(() => undefined);
  });

  for (const i of [0, 1, 2]) {
    it(`${cases[i].name}: equal after a faithful restore, intended differences named`, async () => {
      const c = cases[i];
      const r = await compare(c);
      const out = JSON.parse(r.stdout) as CompareOutcome;
      expect(notEqual(out.rows), r.stdout).to.deep.equal([]);
      expect(r.code, r.stderr).to.equal(0);
      expect(out.equal).to.equal(true);
      const sections = (s: string) => out.rows.filter((x) => x.section === s);
      expect(sections('object').length).to.be.greaterThan(8);
      expect(sections('files').length).to.be.greaterThan(0);
      const app = out.rows.find((x) => x.name === `${EntandoKind.App} ${c.target}/${c.app}`)!;
      expect(app.verdict).to.equal('expected');
      expect(app.why).to.contain(`-> ${c.target}.sandbox.local`);
      if (c.name === 'embedded') {
        expect(sections('files').map((x) => x.name)).to.include(`${c.app} main/databases`);
      } else {
        const tables = sections('table');
        expect(tables.length).to.be.greaterThan(8);
        const pages = tables.find((x) => x.name === `${c.app} portdb/sandbox_pages`)!;
        expect(pages.verdict).to.equal('same');
        expect(pages.source).to.match(/^\d+ rows [0-9a-f]{12}$/);
        const lock = tables.find((x) => x.name === `${c.app} portdb/databasechangeloglock`)!;
        expect(lock.verdict).to.equal('expected');
      }
    });
  }

  for (const i of [0, 1, 2]) {
    it(`${cases[i].name}: restore --verify finds the restored app equal to the archive`, () => {
      const c = cases[i];
      const v = verified.get(c.name)!;
      expect(notEqual(v.rows)).to.deep.equal([]);
      expect(v.equal).to.equal(true);
      const files = v.rows.filter((x) => x.section === 'files');
      expect(files.length).to.be.greaterThan(0);
      for (const f of files) expect(f.source).to.match(/^\d+ entries \d+ B [0-9a-f]{12}$/);
      if (c.name !== 'embedded') {
        const pages = v.rows.find((x) => x.name === `${c.app} portdb/sandbox_pages`)!;
        expect(pages.verdict).to.equal('same');
        expect(pages.source).to.match(/^[1-9]\d* rows$/);
      }
    });
  }

  it('postgresql: after deliberate changes on the target, exactly those rows differ (exit 1)', async () => {
    const c = cases[0];
    const kt = client(TARGET);
    // A row updated.
    const secret = await kt.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: c.target,
      name: `${c.app}-portdb-secret`,
    });
    const schema = Buffer.from(
      (secret!.data as { username: string }).username,
      'base64',
    ).toString();
    await exec(TARGET, c.target, 'default-postgresql-dbms-in-namespace-deployment', [
      'psql',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      'default_postgresql_dbms_in_namespace_db',
      '-c',
      `UPDATE "${schema}".sandbox_pages SET title = title || '!' WHERE id = (SELECT min(id) FROM "${schema}".sandbox_pages)`,
    ]);
    // A file's content changed (same size), a file removed.
    const changed = 'protected/private/secret-report.pdf';
    const removed = 'resources/static/js/run.sh';
    await exec(TARGET, c.target, `${c.app}-deployment`, [
      'sh',
      '-c',
      `f=/entando-data/${changed}; printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc 2>/dev/null; rm /entando-data/${removed}`,
    ]);
    // A secret's key changed.
    const envSecret = await kt.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: c.target,
      name: `${c.app}-env-secret`,
    });
    const key = Object.keys(envSecret!.data as Record<string, string>)[0];
    await kt.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: c.target, name: `${c.app}-env-secret` },
      { data: { [key]: Buffer.from('changed on purpose').toString('base64') } },
    );
    // An object deleted.
    const bundles = await kt.list(ENTANDO_API, EntandoKind.Bundle, c.target);
    const bundle = bundles[0].metadata.name;
    await kt.delete({
      apiVersion: ENTANDO_API,
      kind: EntandoKind.Bundle,
      namespace: c.target,
      name: bundle,
    });

    const r = await compare(c);
    expect(r.code, r.stderr).to.equal(1);
    const out = JSON.parse(r.stdout) as CompareOutcome;
    expect(out.equal).to.equal(false);
    const got = notEqual(out.rows).map((x) => [x.section, x.name, x.verdict, x.why]);
    expect(got).to.deep.equal([
      ['object', `${EntandoKind.Bundle} ${c.target}/${bundle}`, 'missing', 'not in the target'],
      ['object', `Secret ${c.target}/${c.app}-env-secret`, 'differs', `differs at data.${key}`],
      ['table', `${c.app} portdb/sandbox_pages`, 'differs', 'same row count, other content'],
      ['files', `${c.app} main/protected`, 'differs', got[3][3]],
      ['file', `${c.app} main/${changed}`, 'differs', 'content'],
      ['files', `${c.app} main/resources`, 'differs', got[5][3]],
      ['file', `${c.app} main/${removed}`, 'missing', 'not in the target'],
    ]);
    expect(got[3][3]).to.match(/^1 of \d+ entries differ/);
    expect(got[5][3]).to.match(/^1 of \d+ entries differ/);
    // The text table names the same rows.
    const text = await compare(c, '-o', 'text');
    expect(text.code).to.equal(1);
    expect(text.stdout).to.match(/NOT equal: .* 5 differ, 2 missing, 0 unchecked/);
    expect(text.stdout).to.not.contain('changed on purpose');

    // --quick: counts and sizes only; the same-size edits are not seen, the rest is.
    const quick = await compare(c, '--quick');
    expect(quick.code).to.equal(1);
    const q = JSON.parse(quick.stdout) as CompareOutcome;
    const qgot = notEqual(q.rows).map((x) => x.name);
    expect(qgot).to.deep.equal([
      `${EntandoKind.Bundle} ${c.target}/${bundle}`,
      `Secret ${c.target}/${c.app}-env-secret`,
      `${c.app} main/resources`,
      `${c.app} main/${removed}`,
    ]);
    expect(q.rows.find((x) => x.name === `${c.app} portdb/sandbox_pages`)!.source).to.match(
      /^\d+ rows$/,
    );
  });

  it('postgresql: restore --verify over the changed target (--existing skip) names what differs from the archive', async () => {
    const c = cases[0];
    const r = await scenario.restore(path.join(tmp.dir, `${c.name}.tar.age`), TARGET, c.target, [
      '--ingress-host',
      `${c.target}.sandbox.local`,
      '--existing',
      'skip',
      '--verify',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).to.equal(1);
    const v = JSON.parse(r.stdout).verify as VerifyOutcome;
    // The deleted bundle is restored again; the skipped secret and the edited volume are not.
    expect(notEqual(v.rows).map((x) => [x.section, x.name, x.verdict])).to.deep.equal([
      ['object', `Secret ${c.target}/${c.app}-env-secret`, 'differs'],
      ['files', `${c.app} main/protected`, 'differs'],
      ['file', `${c.app} main/protected/private/secret-report.pdf`, 'differs'],
      ['files', `${c.app} main/resources`, 'differs'],
      ['file', `${c.app} main/resources/static/js/run.sh`, 'missing'],
    ]);
  });

  it('postgresql: a second copy in the same cluster: refused with --namespace-map as the advice, then restored with it; compare follows it with the same map (exit 0, mapped values named)', async () => {
    const c = cases[0];
    const file = path.join(tmp.dir, `${c.name}.tar.age`);
    const repo = `${c.source}-ecr`; // the fixture's bundle repository, kept by name in the target
    const host = ['--ingress-host', `${mappedNs}.sandbox.local`];
    const refused = await scenario.restore(file, TARGET, mappedNs, host);
    expect(refused.code, refused.stderr).to.equal(2);
    // The problems are listed with the plan (stdout), the refusal is the one line on stderr.
    expect(refused.stderr).to.match(/^error: restore refused: 1 problem found before any change/);
    expect(refused.stdout).to.include(`EntandoDeBundle ${repo}/`);
    expect(refused.stdout).to.include(`pass --namespace-map ${repo}=<new namespace>`);
    const created = await client(TARGET).get({
      apiVersion: 'v1',
      kind: 'Namespace',
      name: mappedNs,
    });
    expect(created, 'nothing made by the refused restore').to.equal(undefined);

    const map = ['--namespace-map', `${repo}=${mappedNs}-ecr`];
    const r = await scenario.restore(file, TARGET, mappedNs, [
      ...host,
      ...map,
      '--verify',
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const v = JSON.parse(r.stdout).verify as VerifyOutcome;
    expect(notEqual(v.rows), 'restore --verify').to.deep.equal([]);
    await allReady(TARGET, mappedNs);

    const other = { ...c, target: mappedNs };
    const unmapped = await compare(other);
    expect(unmapped.code, unmapped.stderr).to.equal(1);
    const appRow = (JSON.parse(unmapped.stdout) as CompareOutcome).rows.find(
      (x) => x.name === `${EntandoKind.App} ${mappedNs}/${c.app}`,
    )!;
    expect(appRow.verdict).to.equal('differs');
    expect(appRow.why).to.include('pass compare the same --namespace-map');

    const followed = await compare(other, ...map);
    const out = JSON.parse(followed.stdout) as CompareOutcome;
    expect(notEqual(out.rows), followed.stdout).to.deep.equal([]);
    expect(followed.code, followed.stderr).to.equal(0);
    const app = out.rows.find((x) => x.name === `${EntandoKind.App} ${mappedNs}/${c.app}`)!;
    expect(app.verdict).to.equal('expected');
    expect(app.why).to.include(`: ${repo} -> ${mappedNs}-ecr`);
    const bundles = out.rows.filter((x) =>
      x.name.startsWith(`${EntandoKind.Bundle} ${mappedNs}-ecr/`),
    );
    expect(bundles.length, 'bundles compared where the map put them').to.be.greaterThan(0);
    for (const b of bundles) {
      expect(b.verdict).to.equal('expected');
      expect(b.why).to.include(`metadata.namespace: ${repo} -> ${mappedNs}-ecr`);
    }
  });

  it('user errors: the same app on both sides, an app that is not there (exit 2)', async () => {
    const same = await runCli(['compare', ...kube, '--context', SOURCE, '-n', cases[0].source]);
    expect(same.code).to.equal(2);
    expect(same.stderr).to.match(/^error: both sides are .*--to-namespace\n$/);
    const absent = await runCli([
      'compare',
      'nope',
      ...kube,
      '--context',
      SOURCE,
      '-n',
      cases[0].source,
      '--to-context',
      TARGET,
      '--to-namespace',
      cases[0].target,
    ]);
    expect(absent.code).to.equal(2);
    expect(absent.stderr).to.match(/^error: EntandoApp nope not found in namespace/);
  });
});
