import { OperationError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { serviceOfHost } from '../../kube/service-host.js';
import { credentialsFor, execFailure } from './dump.js';
import { withCredentials } from './credentials.js';
import type { Datasource } from './discovery.js';
import type { DbExecutor } from './executor.js';
import { myIdent, mysqlCommand } from './mysql.js';
import { pgIdent, pgLiteral, psqlCommand } from './postgresql.js';
import { querySql } from './query.js';

/**
 * A secondary tenant's user and schema, made by hand in the source (TENANTS.md §2): the operator
 * does not make them in the target. In the in-namespace DBMS the restore makes them as the
 * DBMS's admin; an external DBMS must already have them.
 */

export interface DbmsAdmin {
  username: string;
  password: string;
  /** Where it was read, for messages. */
  secret: string;
}

/**
 * The admin of the in-namespace DBMS whose Service the host names: the operator's
 * `<dbms>-admin-secret` (`postgres` / `root`, REFERENCE.md) beside `<dbms>-service`.
 */
export async function dbmsAdmin(
  kube: Pick<KubeClient, 'get'>,
  namespace: string,
  host: string,
): Promise<DbmsAdmin | undefined> {
  const svc = serviceOfHost(host, namespace);
  if (!svc) return undefined;
  const name = `${svc.name.replace(/-service$/, '')}-admin-secret`;
  const secret = await kube.get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: svc.namespace,
    name,
  });
  const data = (secret?.data ?? {}) as Record<string, string>;
  const value = (k: string) =>
    data[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8');
  const username = value('username');
  const password = value('password');
  if (!username || password === undefined) return undefined;
  return { username, password, secret: `${svc.namespace}/${name}` };
}

const myLiteral = (s: string): string =>
  `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;

/**
 * The SQL that makes the tenant's user (with its archived password, set again when the user
 * exists: the restored tenants' JSON logs in with it) and its schema or database, run as the
 * admin. Nothing for the user when it is the admin itself (Entando's sample uses `postgres`).
 */
export function ensureTenantSql(ds: Datasource, admin: string): string {
  const self = ds.username === admin;
  if (ds.dbms === 'postgresql') {
    const u = pgIdent(ds.username);
    const lines = ['\\set VERBOSITY terse'];
    if (!self) {
      lines.push(
        `DO $kubectl_entando$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${pgLiteral(ds.username)}) THEN
    ALTER ROLE ${u} LOGIN PASSWORD ${pgLiteral(ds.password)};
  ELSE
    CREATE ROLE ${u} LOGIN PASSWORD ${pgLiteral(ds.password)};
  END IF;
END $kubectl_entando$;`,
      );
    }
    lines.push(`CREATE SCHEMA IF NOT EXISTS ${pgIdent(ds.schema)} AUTHORIZATION ${u};`);
    if (!self) lines.push(`GRANT USAGE, CREATE ON SCHEMA ${pgIdent(ds.schema)} TO ${u};`);
    return `${lines.join('\n')}\n`;
  }
  const user = `${myLiteral(ds.username)}@'%'`;
  const lines: string[] = [];
  if (!self) {
    lines.push(
      `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${myLiteral(ds.password)};`,
      `ALTER USER ${user} IDENTIFIED BY ${myLiteral(ds.password)};`,
    );
  }
  lines.push(`CREATE DATABASE IF NOT EXISTS ${myIdent(ds.schema)};`);
  if (!self) lines.push(`GRANT ALL PRIVILEGES ON ${myIdent(ds.schema)}.* TO ${user};`);
  return `${lines.join('\n')}\n`;
}

/** A failure's text without the password (a DBMS may quote the statement). */
function redacted(err: OperationError, secrets: string[]): OperationError {
  let message = err.message;
  // Longest first: a quoted form contains the plain one.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s) message = message.split(s).join('***');
  }
  return new OperationError(message);
}

/** Makes the tenant's user and schema in the in-namespace DBMS, as its admin. */
export async function ensureTenantSchema(
  exec: DbExecutor,
  ds: Datasource,
  admin: DbmsAdmin,
  tenant: string,
  signal?: AbortSignal,
): Promise<void> {
  const as: Datasource = {
    ...ds,
    username: admin.username,
    password: admin.password,
    // MySQL: the admin connects to its own database (the tenant's may not exist yet).
    schema: ds.dbms === 'mysql' ? 'mysql' : ds.schema,
  };
  const what = `tenant ${tenant}: making user ${ds.username} and ${ds.dbms === 'postgresql' ? 'schema' : 'database'} ${ds.schema} as ${admin.username} (secret ${admin.secret})`;
  await withCredentials(exec, credentialsFor(as), async (dir) => {
    const command =
      ds.dbms === 'postgresql' ? psqlCommand(as, dir, false) : mysqlCommand(as, dir, false);
    const r = await exec.exec(command, { stdin: [ensureTenantSql(ds, admin.username)], signal });
    if (r.exitCode !== 0) {
      // As written and as quoted in the SQL (a DBMS may quote the statement back).
      const forms = [
        ds.password,
        pgLiteral(ds.password).slice(1, -1),
        myLiteral(ds.password).slice(1, -1),
      ];
      throw redacted(execFailure(what, exec.where, r), forms);
    }
  });
}

/**
 * An external DBMS: the tenant's user must log in and see its schema (the restore does not act
 * as the DBMS's admin there). A one-line refusal naming the tenant otherwise.
 */
export async function requireTenantSchema(
  exec: DbExecutor,
  ds: Datasource,
  tenant: string,
  signal?: AbortSignal,
): Promise<void> {
  const where = `${ds.dbms} ${ds.host}:${ds.port}/${ds.database}`;
  const todo = `create it as in the source, then run the restore again`;
  const sql =
    ds.dbms === 'postgresql'
      ? `SELECT count(*) FROM pg_namespace WHERE nspname = ${pgLiteral(ds.schema)};\n`
      : 'SELECT 1;\n';
  let out: string;
  try {
    out = await querySql(exec, ds, sql, `tenant ${tenant}: logging in`, signal);
  } catch (err) {
    throw new OperationError(
      `tenant ${tenant}: user ${ds.username} cannot log in to the external ${where} (${(err as Error).message.replace(/^.*?failed in /, 'failed in ')}): ${todo}`,
    );
  }
  if (ds.dbms === 'postgresql' && out.trim() !== '1') {
    throw new OperationError(
      `tenant ${tenant}: schema ${ds.schema} does not exist on the external ${where}: ${todo} (owned by ${ds.username})`,
    );
  }
}
