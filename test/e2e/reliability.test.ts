import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, type CliRun } from '../helpers/cli.js';
import {
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
import { kubectl, limitedKubeconfig, sandboxPart, Scenario } from '../helpers/scenario.js';

const APP = 'quickstart';
const volume = (cluster: 'source' | 'target', ns: string) =>
  path.join(ROOT, '.sandbox/clusters', cluster, 'pv', ns, `${APP}-server-pvc`);

/** The whole message of a refusal or failure: one line on stderr. */
function oneLine(r: CliRun): string {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  return lines[0];
}

/** Resolves once a process whose command line matches `pattern` runs on this machine. */
async function processRunning(pattern: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `a process matching ${pattern}`,
    async () => {
      try {
        execFileSync('pgrep', ['-f', pattern]);
        return true;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** Names, kinds and resourceVersions of everything in a namespace (to prove nothing changed). */
async function snapshot(context: string, ns: string): Promise<string[]> {
  const out = await kubectl(context, [
    '-n',
    ns,
    'get',
    'secrets,configmaps,serviceaccounts,deployments,entandoapps,entandoplugins,entandodebundles',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.name}@{.metadata.resourceVersion}{"\\n"}{end}',
  ]);
  return out.trim().split('\n').sort();
}

const partials = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.partial'));

describe('e2e: reliability — namespaces, permissions, sparse files and faults', function () {
  this.timeout(30 * 60_000);
  const suffix = randomSuffix();
  const sourceNs = `e2e-rel-${suffix}`;
  const repoNs = `e2e-rel-${suffix}-repo`;
  const targetNamespaces: string[] = [];
  const targetNs = (name: string) => {
    const ns = `e2e-rel-${suffix}-${name}`;
    targetNamespaces.push(ns);
    return ns;
  };
  let s: Scenario;
  let base: string;
  /**
   * Each restore on its own host (two instances on one host are refused) and with its own copy
   * of the bundle repository namespace (the first restore made the repository's bundle there).
   */
  const own = (ns: string) => [
    '--ingress-host',
    `${ns}.sandbox.local`,
    '--namespace-map',
    `${repoNs}=${ns}-repo`,
  ];
  const restoreTo = (file: string, ns: string, extra: string[] = [], kubeconfig?: string) =>
    s.restore(file, TARGET, ns, [...own(ns), ...extra], kubeconfig);
  /** Waits until `probe` holds while `running` runs; fails at once with its output if it ended. */
  const whileRunning = async (
    what: string,
    running: Promise<CliRun>,
    probe: () => Promise<unknown>,
  ) => {
    let ended: CliRun | undefined;
    void running.then((r) => (ended = r));
    await waitFor(what, async () => {
      if (ended) throw new Error(`ended first (${ended.code}): ${ended.stderr} ${ended.stdout}`);
      return (await probe().catch(() => undefined)) ? true : undefined;
    });
  };
  const appRestored = (ns: string, restoring: Promise<CliRun>) =>
    whileRunning('the restored app CR', restoring, () =>
      client(TARGET).get({
        apiVersion: 'entando.org/v1',
        kind: 'EntandoApp',
        namespace: ns,
        name: APP,
      }),
    );
  const lockHeld = (context: string, ns: string, running: Promise<CliRun>) =>
    whileRunning('the app lock to be held', running, () =>
      client(context).get({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: ns,
        name: `kubectl-entando.${APP}`,
      }),
    );

  before(async () => {
    await requireSandbox();
    s = new Scenario();
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, sourceNs);
    // A bundle in a second namespace, listed in the app's componentRepositoryNamespaces.
    const bundles = JSON.parse(
      await kubectl(SOURCE, ['-n', sourceNs, 'get', 'entandodebundles', '-o', 'json']),
    ) as { items: { metadata: Record<string, unknown>; spec: unknown }[] };
    const bundle = bundles.items[0];
    await kubectl(SOURCE, ['create', 'namespace', repoNs]);
    await kubectl(
      SOURCE,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'entando.org/v1',
        kind: 'EntandoDeBundle',
        metadata: { name: `repo-${bundle.metadata.name as string}`, namespace: repoNs },
        spec: bundle.spec,
      }),
    );
    await kubectl(SOURCE, [
      '-n',
      sourceNs,
      'patch',
      'entandoapp',
      APP,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { componentRepositoryNamespaces: [repoNs] } }),
    ]);
    // A 1 GiB sparse file (one byte written at 500 MB) in the app's /entando-data/resources.
    const big = path.join(volume('source', sourceNs), 'resources', 'sparse.bin');
    const fd = fs.openSync(big, 'w');
    fs.writeSync(fd, 'x', 500_000_000);
    fs.ftruncateSync(fd, 1 << 30);
    fs.closeSync(fd);
    base = s.file('base.tar.age');
    const r = await s.backup(SOURCE, sourceNs, base);
    expect(r.code, r.stderr).to.equal(0);
  });
  after(async () => {
    s?.cleanup();
    await deleteNamespace(SOURCE, sourceNs).catch(() => undefined);
    await deleteNamespace(SOURCE, repoNs).catch(() => undefined);
    for (const ns of [
      ...targetNamespaces,
      ...targetNamespaces.map((n) => `${n}-repo`),
      repoNs,
      `${repoNs}-mapped`,
    ])
      await deleteNamespace(TARGET, ns).catch(() => undefined);
  });

  describe('defects', () => {
    it('a bundle of componentRepositoryNamespaces: its namespace is in the plan, created, and can be mapped', async () => {
      const ns = targetNs('main');
      const host = ['--ingress-host', `${ns}.sandbox.local`];
      const dry = await s.restore(base, TARGET, ns, [...host, '--dry-run', '-o', 'json']);
      expect(dry.code, dry.stderr).to.equal(0);
      const plan = JSON.parse(dry.stdout) as {
        steps: { action: string; object?: { kind: string; name: string } }[];
        problems: string[];
      };
      expect(plan.problems).to.deep.equal([]);
      expect(
        plan.steps.filter((st) => st.object?.kind === 'Namespace').map((st) => st.object!.name),
      ).to.have.members([ns, repoNs]);

      const mapped = await s.restore(base, TARGET, ns, [
        ...host,
        '--dry-run',
        '--namespace-map',
        `${repoNs}=${repoNs}-mapped`,
      ]);
      expect(mapped.code, mapped.stderr).to.equal(0);
      expect(mapped.stdout).to.include(
        `spec.componentRepositoryNamespaces[0]: ${repoNs} -> ${repoNs}-mapped`,
      );
      expect(mapped.stdout).to.include(`metadata.namespace: ${repoNs} -> ${repoNs}-mapped`);

      const bad = await s.restore(base, TARGET, ns, [...host, '--namespace-map', 'nowhere=x']);
      expect(bad.code).to.equal(2);
      expect(oneLine(bad)).to.match(/has no objects in namespace nowhere.*its other namespaces: /);

      const r = await s.restore(base, TARGET, ns, host);
      expect(r.code, r.stderr).to.equal(0);
      const restored = await client(TARGET).list('entando.org/v1', 'EntandoDeBundle', repoNs);
      expect(restored.map((b) => b.metadata.name)).to.have.length(1);
      const app = await client(TARGET).get({
        apiVersion: 'entando.org/v1',
        kind: 'EntandoApp',
        namespace: ns,
        name: APP,
      });
      expect((app!.spec as Record<string, unknown>).componentRepositoryNamespaces).to.deep.equal([
        repoNs,
      ]);
    });

    it('a sparse file keeps its holes: archive and restored volume no larger than the source', () => {
      expect(fs.statSync(base).size).to.be.below(200 * 1024 * 1024);
      const ns = targetNamespaces[0];
      const restored = path.join(volume('target', ns), 'resources', 'sparse.bin');
      const st = fs.statSync(restored);
      expect(st.size).to.equal(1 << 30);
      expect(st.blocks * 512).to.be.below(1024 * 1024);
      const fd = fs.openSync(restored, 'r');
      const byte = Buffer.alloc(1);
      fs.readSync(fd, byte, 0, 1, 500_000_000);
      fs.closeSync(fd);
      expect(byte.toString()).to.equal('x');
    });

    it('a user who cannot read secrets: every missing permission in one refusal, nothing changed', async () => {
      const ns = targetNs('rbac');
      await kubectl(TARGET, ['create', 'namespace', ns]);
      const kubeconfig = await limitedKubeconfig(
        TARGET,
        ns,
        'no-secrets',
        [
          { apiGroups: [''], resources: ['configmaps', 'serviceaccounts'], verbs: ['*'] },
          { apiGroups: [''], resources: ['pods', 'pods/exec', 'pods/portforward'], verbs: ['*'] },
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] },
          { apiGroups: ['entando.org'], resources: ['*'], verbs: ['*'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
        ],
        s.tmp.dir,
      );
      const before = await snapshot(TARGET, ns);
      const r = await restoreTo(base, ns, [], kubeconfig);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(/restore refused: \d+ problems? found before any change/);
      expect(r.stdout).to.match(
        new RegExp(
          `not allowed in the target .* in namespace ${ns}: .*create secrets.*get secrets`,
        ),
      );
      expect(r.stdout).to.match(/cluster-wide: .*create namespaces.*list ingresses/);
      expect(r.stdout).to.match(new RegExp(`in namespace ${ns}-repo: .*get entandodebundles`));
      expect(r.stdout).not.to.match(/HTTP 403/);
      expect(await snapshot(TARGET, ns)).to.deep.equal(before);

      // backup: what it reads and execs into, checked before anything is read
      const readOnly = await limitedKubeconfig(
        SOURCE,
        sourceNs,
        'apps-only',
        [{ apiGroups: ['entando.org'], resources: ['entandoapps'], verbs: ['get', 'list'] }],
        s.tmp.dir,
      );
      const file = s.file('denied.tar.age');
      const b = await runCli([
        'backup',
        '--kubeconfig',
        readOnly,
        '-n',
        sourceNs,
        '-r',
        s.id.recipient,
        '-f',
        file,
      ]);
      expect(b.code, b.stderr).to.equal(2);
      const message = oneLine(b);
      expect(message).to.match(/backup refused before reading anything: not allowed in context/);
      for (const missing of [
        'get secrets',
        'create pods/exec',
        'list deployments',
        'create leases',
      ])
        expect(message).to.include(missing);
      expect(fs.existsSync(file)).to.equal(false);
      expect(partials(s.tmp.dir)).to.deep.equal([]);
    });

    it('--no-encrypt: a backup refused before writing says one line, no warning', async () => {
      const r = await runCli([
        'backup',
        '--kubeconfig',
        KUBECONFIG,
        '--context',
        SOURCE,
        '-n',
        sourceNs,
        '--no-encrypt',
        '-f',
        base,
      ]);
      expect(r.code).to.equal(2);
      expect(oneLine(r)).to.match(/already exists/);
    });
  });

  describe('faults', () => {
    it('the disk fills while the archive is written: partial removed, space needed named', async () => {
      const small = s.file('small');
      fs.mkdirSync(small);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]);
      try {
        const r = await s.backup(SOURCE, sourceNs, path.join(small, 'qs.tar.age'));
        expect(r.code, r.stderr).to.equal(1);
        expect(oneLine(r)).to.match(
          /no space left on the file system of .*small: the archive needs more than the \d+ MB written when it filled \(\d+ MB were free\)/,
        );
        expect(fs.readdirSync(small)).to.deep.equal([]);
      } finally {
        execFileSync('umount', [small]);
      }
    });

    it('restore into a namespace that holds another Entando app: refused, nothing of it changes', async () => {
      const ns = targetNs('other');
      await kubectl(TARGET, ['create', 'namespace', ns]);
      await kubectl(
        TARGET,
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'entando.org/v1',
          kind: 'EntandoApp',
          metadata: {
            name: 'other-app',
            namespace: ns,
            annotations: { 'sandbox.entando.org/keycloak': 'none' },
          },
          spec: { dbms: 'none', ingressHostName: `other-${suffix}.sandbox.local`, replicas: 1 },
        }),
      );
      // Once the operator is done with it (nothing changes for 3 s).
      let before: string[] = [];
      await waitFor('the other app to settle', async () => {
        const now = await snapshot(TARGET, ns);
        await new Promise((r) => setTimeout(r, 3000));
        const later = await snapshot(TARGET, ns);
        before = later;
        return JSON.stringify(now) === JSON.stringify(later) ? true : undefined;
      });
      const r = await restoreTo(base, ns);
      expect(r.code).to.equal(2);
      expect(r.stdout).to.match(/already holds EntandoApp other-app/);
      expect(await snapshot(TARGET, ns)).to.deep.equal(before);
    });

    it('the operator never reconciles: a bounded wait naming what it waits for; meanwhile a backup of the app is refused; a re-run converges', async () => {
      const ns = targetNs('nooperator');
      await sandboxPart('stop', 'target', 'operator');
      let restoring: Promise<CliRun> | undefined;
      try {
        restoring = restoreTo(base, ns, ['--wait-timeout', '20']);
        await lockHeld(TARGET, ns, restoring);
        await appRestored(ns, restoring);
        const concurrent = await s.backup(TARGET, ns, s.file('during-restore.tar.age'));
        expect(concurrent.code, concurrent.stderr).to.equal(2);
        expect(oneLine(concurrent)).to.match(
          /backup refused: restore by .* is working on this app/,
        );
        const r = await restoring;
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.match(
          new RegExp(
            `EntandoApp ${ns}/${APP} not ready after 20s .*is the Entando operator running in the target\\?`,
          ),
        );
        expect(r.stderr).to.match(/run the same restore with --existing update to finish/);
      } finally {
        await sandboxPart('start', 'target', 'operator');
        await restoring?.catch(() => undefined);
      }
      const again = await restoreTo(base, ns, ['--existing', 'update']);
      expect(again.code, again.stderr).to.equal(0);
    });

    it("the target's kube-apiserver stops mid-restore and starts again: one-line failure, a re-run converges", async () => {
      const ns = targetNs('apiserver');
      const restoring = restoreTo(base, ns);
      await appRestored(ns, restoring);
      await sandboxPart('stop', 'target', 'kube-apiserver');
      await new Promise((r) => setTimeout(r, 5000));
      await sandboxPart('start', 'target', 'kube-apiserver');
      const r = await restoring;
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/restore failed: .*run the same restore with --existing update/);
      const again = await restoreTo(base, ns, ['--existing', 'update']);
      expect(again.code, again.stderr).to.equal(0);
    });

    it('two backups of one app at once: the second is refused, the first completes', async () => {
      const first = s.backup(SOURCE, sourceNs, s.file('first.tar.age'));
      await lockHeld(SOURCE, sourceNs, first);
      const second = await s.backup(SOURCE, sourceNs, s.file('second.tar.age'));
      expect(second.code).to.equal(2);
      expect(oneLine(second)).to.match(/backup refused: backup by .* is working on this app/);
      expect(fs.existsSync(s.file('second.tar.age'))).to.equal(false);
      const r = await first;
      expect(r.code, r.stderr).to.equal(0);
    });

    it('the DBMS stops in the middle of a dump: the backup fails, no archive; started again, a backup works', async () => {
      const user = Buffer.from(
        await kubectl(SOURCE, [
          '-n',
          sourceNs,
          'get',
          'secret',
          `${APP}-portdb-secret`,
          '-o',
          'jsonpath={.data.username}',
        ]),
        'base64',
      ).toString();
      const psql = (sql: string) =>
        kubectl(SOURCE, [
          '-n',
          sourceNs,
          'exec',
          'deploy/default-postgresql-dbms-in-namespace-deployment',
          '-c',
          'db-container',
          '--',
          'psql',
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          'default_postgresql_dbms_in_namespace_db',
          '-c',
          sql,
        ]);
      // ~300 MB of rows in the app's portdb schema, so that the dump takes a while.
      // Made by the schema's own role, as the app's tables are (pg_dump runs as that role).
      await psql(
        `SET ROLE "${user}"; CREATE TABLE "${user}".big AS SELECT g, repeat(md5(g::text), 4) AS v FROM generate_series(1, 2000000) g`,
      );
      const file = s.file('dbms-down.tar.age');
      try {
        const backingUp = s.backup(SOURCE, sourceNs, file);
        await processRunning(`pg_dump.*${user}`, 120_000);
        await sandboxPart('stop', 'source', 'dbms');
        const r = await backingUp;
        expect(r.code, r.stderr).to.equal(1);
        expect(oneLine(r)).to.match(/backup failed|databases|pg_dump/);
        expect(fs.existsSync(file)).to.equal(false);
        expect(partials(s.tmp.dir)).to.deep.equal([]);
      } finally {
        await sandboxPart('start', 'source', 'dbms');
        await waitFor('PostgreSQL back', () =>
          psql('SELECT 1')
            .then(() => true)
            .catch(() => undefined),
        );
        await psql(`DROP TABLE "${user}".big`);
      }
      const again = await s.backup(SOURCE, sourceNs, file);
      expect(again.code, again.stderr).to.equal(0);
      fs.rmSync(file);
    });

    describe('a long files stream', () => {
      const blob = () => path.join(volume('source', sourceNs), 'resources', 'blob.bin');
      before(() => {
        // 1.5 GB of real (not sparse) data: a stream of several seconds.
        const fd = fs.openSync(blob(), 'w');
        const chunk = Buffer.alloc(64 << 20, 7);
        for (let i = 0; i < 24; i++) fs.writeSync(fd, chunk);
        fs.closeSync(fd);
      });
      after(() => fs.rmSync(blob(), { force: true }));

      it('the app pod deleted mid-stream (its deployment makes a new one): no archive; a re-run works', async () => {
        const file = s.file('pod-deleted.tar.age');
        const backingUp = s.backup(SOURCE, sourceNs, file);
        await processRunning('tar --sparse --format=posix', 60_000);
        const pods = await client(SOURCE).list(
          'v1',
          'Pod',
          sourceNs,
          `entando.org/deployment=${APP}-deployment`,
        );
        await kubectl(SOURCE, [
          '-n',
          sourceNs,
          'delete',
          'pod',
          '--wait=false',
          ...pods.map((p) => p.metadata.name),
        ]);
        const r = await backingUp;
        expect(r.code, r.stderr).to.equal(1);
        expect(oneLine(r)).to.match(/files .*resources/);
        expect(fs.existsSync(file)).to.equal(false);
        expect(partials(s.tmp.dir)).to.deep.equal([]);
        await kubectl(SOURCE, [
          '-n',
          sourceNs,
          'rollout',
          'status',
          `deploy/${APP}-deployment`,
          '--timeout=180s',
        ]);
        const again = await s.backup(SOURCE, sourceNs, file);
        expect(again.code, again.stderr).to.equal(0);
        fs.rmSync(file);
      });

      it("a network cut (the source's apiserver port closed a few seconds) during the stream: one line, no archive", async () => {
        const file = s.file('cut.tar.age');
        const backingUp = s.backup(SOURCE, sourceNs, file);
        await processRunning('tar --sparse --format=posix', 60_000);
        await sandboxPart('stop', 'source', 'kube-apiserver');
        await new Promise((r) => setTimeout(r, 3000));
        await sandboxPart('start', 'source', 'kube-apiserver');
        const r = await backingUp;
        expect(r.code, r.stderr).to.equal(1);
        oneLine(r);
        expect(fs.existsSync(file)).to.equal(false);
        expect(partials(s.tmp.dir)).to.deep.equal([]);
        const replicas = await kubectl(SOURCE, [
          '-n',
          sourceNs,
          'get',
          'deploy',
          `${APP}-deployment`,
          '-o',
          'jsonpath={.spec.replicas}',
        ]);
        expect(replicas).to.equal('1');
      });
    });

    describe('damaged archives', () => {
      let plain: string;
      before(async () => {
        plain = s.file('plain.tar');
        const r = await runCli([
          'backup',
          '--kubeconfig',
          KUBECONFIG,
          '--context',
          SOURCE,
          '-n',
          sourceNs,
          '--no-encrypt',
          '-f',
          plain,
        ]);
        expect(r.code, r.stderr).to.equal(0);
      });
      /** Offset and size of each member of a plain archive. */
      const members = (buf: Buffer) => {
        const out: { name: string; offset: number; size: number }[] = [];
        for (let off = 0; off + 512 <= buf.length;) {
          const name = buf
            .subarray(off, off + 100)
            .toString()
            .replace(/\0.*$/s, '');
          if (!name) break;
          const size = parseInt(
            buf
              .subarray(off + 124, off + 136)
              .toString()
              .replace(/\0.*$/s, '')
              .trim() || '0',
            8,
          );
          out.push({ name, offset: off + 512, size });
          off += 512 + Math.ceil(size / 512) * 512;
        }
        return out;
      };
      const verify = (file: string) => runCli(['verify', file]);

      it('from a newer format version: refused in one line', async () => {
        const buf = fs.readFileSync(plain);
        const version = members(buf)[0];
        buf.write('9', version.offset);
        const file = s.file('newer.tar');
        fs.writeFileSync(file, buf);
        const r = await verify(file);
        expect(r.code).to.equal(2);
        expect(oneLine(r)).to.match(/newer|version/);
      });

      it('whose manifest lists an entry that is missing: refused in one line', async () => {
        const buf = fs.readFileSync(plain);
        const manifest = members(buf).find((m) => m.name.endsWith('manifest.json'))!;
        const text = buf.subarray(manifest.offset, manifest.offset + manifest.size).toString();
        const entry = /"path": "(data\/databases\/[^"]+)"/.exec(text)![1];
        const renamed = entry.replace('databases/', 'databasez/');
        buf.write(text.replace(`"path": "${entry}"`, `"path": "${renamed}"`), manifest.offset);
        const file = s.file('missing.tar');
        fs.writeFileSync(file, buf);
        const r = await verify(file);
        expect(r.code, `${entry} -> ${renamed}: ${r.stdout}`).to.not.equal(0);
        expect(oneLine(r)).to.match(/missing|not in the archive|databasez|unexpected/);
      });

      it('an entry changed after the verifying pass, found by the restore after some steps ran: nothing of it extracted, a re-run converges', async () => {
        const ns = targetNs('sha');
        const copy = s.file('changing.tar');
        fs.copyFileSync(plain, copy);
        const resources = members(fs.readFileSync(copy)).find((m) =>
          m.name.includes('/resources.tar'),
        )!;
        const restoring = runCli([
          'restore',
          copy,
          '--kubeconfig',
          KUBECONFIG,
          '--to-context',
          TARGET,
          '--to-namespace',
          ns,
          '--yes',
          ...own(ns),
        ]);
        await appRestored(ns, restoring);
        const fd = fs.openSync(copy, 'r+');
        fs.writeSync(
          fd,
          Buffer.from('tampered'),
          0,
          8,
          resources.offset + Math.floor(resources.size / 2),
        );
        fs.closeSync(fd);
        const r = await restoring;
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.match(/does not match its sha256/);
        expect(fs.readdirSync(volume('target', ns)).filter((f) => f === 'resources')).to.deep.equal(
          [],
        );
        const again = await runCli([
          'restore',
          plain,
          '--kubeconfig',
          KUBECONFIG,
          '--to-context',
          TARGET,
          '--to-namespace',
          ns,
          '--yes',
          '--existing',
          'update',
          ...own(ns),
        ]);
        expect(again.code, again.stderr).to.equal(0);
        expect(fs.existsSync(path.join(volume('target', ns), 'resources'))).to.equal(true);
      });
    });
  });
});
