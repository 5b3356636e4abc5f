import { expect } from 'chai';
import { newManifest } from '../../src/archive/manifest.js';
import type { BackupContext } from '../../src/components/component.js';
import type { Datasource } from '../../src/components/databases/discovery.js';
import { readDbmsVersion } from '../../src/components/databases/version.js';
import { backupKeycloak, serverVersion } from '../../src/components/keycloak/backup.js';
import { FakeKube, FakePodExec } from '../helpers/fakes.js';

const ds = (dbms: 'postgresql' | 'mysql'): Datasource => ({
  owner: { kind: 'EntandoApp', name: 'qs' },
  qualifier: 'portdb',
  dbms,
  url: 'jdbc:x',
  host: 'default-dbms-service.ns.svc.cluster.local',
  port: dbms === 'postgresql' ? 5432 : 3306,
  database: 'entando',
  schema: 'qs_portdb_1',
  username: 'qs_portdb_1',
  password: 'pw',
  credentials: 'test',
});

/** A pod exec whose SQL client prints `banner` (or fails), every other command succeeding. */
function dbms(banner: string, fail = false): FakePodExec {
  return new FakePodExec((req) => {
    const sql = req.command.join(' ').match(/\b(psql|mysql)\b/);
    if (!sql) return {};
    return fail ? { exitCode: 2, stderr: 'psql: error: connection refused' } : { stdout: [banner] };
  });
}

describe('versions recorded at backup', () => {
  it("a PostgreSQL server's version, asked as the dump's user where the dump ran", async () => {
    const pods = dbms('PostgreSQL 14.8 on x86_64-pc-linux-gnu, compiled by gcc 8.5.0, 64-bit\n');
    const fact = await readDbmsVersion(
      pods.executor('ns/db-0'),
      ds('postgresql'),
      'entando/entando-postgres-rocky:v14.8',
    );
    expect(fact).to.deep.equal({
      server: 'default-dbms-service.ns.svc.cluster.local:5432',
      dbms: 'postgresql',
      location: 'dbms-pod',
      image: 'entando/entando-postgres-rocky:v14.8',
      version: '14.8',
      product: 'postgresql',
      from: 'SELECT version(); in pod ns/db-0',
    });
    const query = pods.calls.find((c) => c.command.join(' ').includes('psql'));
    expect(query?.stdin).to.equal('SELECT version();');
    expect(pods.calls.at(-1)?.command[0]).to.equal('rm');
  });

  it('MariaDB behind a MySQL datasource, from a client pod (no image recorded)', async () => {
    const fact = await readDbmsVersion(
      dbms('10.11.6-MariaDB-0+deb12u1\n').executor('ns/client', 'client-pod'),
      ds('mysql'),
      undefined,
    );
    expect(fact).to.include({ version: '10.11.6', product: 'mariadb', location: 'client-pod' });
    expect(fact).to.not.have.property('image');
  });

  it('a query that fails is recorded as unknown with its reason, never thrown', async () => {
    const fact = await readDbmsVersion(
      dbms('', true).executor('ns/db-0'),
      ds('postgresql'),
      undefined,
    );
    expect(fact.version).to.equal('unknown');
    expect(fact.why).to.match(/in pod ns\/db-0 \(exit code 2\): psql: error: connection refused/);
  });

  it('an answer that is not a version is unknown, quoting it', async () => {
    const fact = await readDbmsVersion(dbms('hello\n').executor('ns/db-0'), ds('mysql'), undefined);
    expect(fact).to.include({ version: 'unknown' });
    expect(fact.why).to.equal('SELECT VERSION(); in pod ns/db-0 answered "hello"');
  });

  it("Keycloak's serverinfo: its version, or unknown with why", async () => {
    const admin = (v: () => Promise<string | undefined>) => ({ serverVersion: v });
    expect(
      await serverVersion(
        admin(async () => '15.1.1'),
        'Keycloak ns/kc-0',
      ),
    ).to.deep.equal({
      version: '15.1.1',
      from: 'serverinfo of Keycloak ns/kc-0',
    });
    expect(
      await serverVersion(
        admin(async () => undefined),
        'Keycloak ns/kc-0',
      ),
    ).to.deep.equal({
      version: 'unknown',
      why: 'serverinfo of Keycloak ns/kc-0 names no version',
    });
    const failing = admin(() => Promise.reject(new Error('HTTP 403')));
    expect(await serverVersion(failing, 'Keycloak ns/kc-0')).to.deep.equal({
      version: 'unknown',
      why: 'serverinfo of Keycloak ns/kc-0: HTTP 403',
    });
  });

  it('--keycloak skip: the Keycloak version is unknown, and says why', async () => {
    const manifest = newManifest(
      { name: 'kubectl-entando', version: 'test' },
      { server: 's', context: 'c', namespace: 'ns', app: 'qs' },
      new Date(),
    );
    const ctx = {
      options: { keycloak: 'skip' },
      app: {
        apiVersion: 'entando.org/v1',
        kind: 'EntandoApp',
        metadata: { name: 'qs', namespace: 'ns' },
      },
      kube: new FakeKube().client,
      archive: { manifest },
    } as unknown as BackupContext;
    await backupKeycloak(ctx);
    expect(manifest.versions).to.deep.equal({
      keycloak: { version: 'unknown', why: 'not read: --keycloak skip' },
    });
  });
});
