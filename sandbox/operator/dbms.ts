// Roles/schemas (PostgreSQL) and databases/users (MySQL) in this cluster's sandbox DBMS,
// created with the host's psql / mariadb clients.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { SandboxDbms } from './resources.js';

export interface Credential {
  username: string;
  password: string;
}

export function loadSandboxDbms(file: string): SandboxDbms {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as SandboxDbms;
  if (!parsed.postgresql?.port || !parsed.mysql?.port) {
    throw new Error(`${file}: expected postgresql and mysql entries`);
  }
  return parsed;
}

export const pgIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
export const pgLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
export const myIdent = (s: string) => `\`${s.replace(/`/g, '``')}\``;
export const myLiteral = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * SQL that creates the role and its schema (schema name = username, search_path set), or, if
 * the role exists, resets its password to the secret's (forced password reset).
 */
export function postgresqlSql(database: string, c: Credential): string {
  const role = pgIdent(c.username);
  const pw = pgLiteral(c.password);
  // DO blocks cannot take parameters; quote_ident/quote_literal run server-side on literals.
  return `DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${pgLiteral(c.username)}) THEN
    ALTER ROLE ${role} WITH LOGIN PASSWORD ${pw};
  ELSE
    CREATE ROLE ${role} WITH LOGIN PASSWORD ${pw};
  END IF;
END
$do$;
GRANT CONNECT, TEMPORARY ON DATABASE ${pgIdent(database)} TO ${role};
CREATE SCHEMA IF NOT EXISTS ${role} AUTHORIZATION ${role};
ALTER ROLE ${role} IN DATABASE ${pgIdent(database)} SET search_path = ${role};
`;
}

/** SQL that creates database + users (@'%' and @'localhost'), resetting existing passwords. */
export function mysqlSql(c: Credential): string {
  const db = myIdent(c.username);
  const lines = [`CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4;`];
  for (const host of ['%', 'localhost']) {
    const user = `${myLiteral(c.username)}@${myLiteral(host)}`;
    lines.push(
      `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${myLiteral(c.password)};`,
      `ALTER USER ${user} IDENTIFIED BY ${myLiteral(c.password)};`,
      `GRANT ALL PRIVILEGES ON ${db}.* TO ${user};`,
    );
  }
  lines.push('FLUSH PRIVILEGES;');
  return lines.join('\n') + '\n';
}

export function runTool(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${code}: ${err.trim()}`));
    });
    child.stdin.end(stdin);
  });
}

/**
 * Creates (or resets) the roles/schemas or databases/users of `creds` for namespace `namespace`
 * and records that namespace as one of their owners (see sweepOrphans).
 */
export async function provision(
  sandbox: SandboxDbms,
  dbms: Dbms,
  creds: Credential[],
  namespace: string,
): Promise<void> {
  if (creds.length === 0) return;
  await recordOwners(
    sandbox,
    dbms,
    creds.map((c) => c.username),
    namespace,
  );
  if (dbms === 'postgresql') {
    const s = sandbox.postgresql;
    await psql(sandbox, s.database, creds.map((c) => postgresqlSql(s.database, c)).join(''));
  } else {
    await mariadb(sandbox, creds.map(mysqlSql).join(''));
  }
}

export type Dbms = 'postgresql' | 'mysql';

function psql(sandbox: SandboxDbms, database: string, sql: string, args: string[] = []) {
  const s = sandbox.postgresql;
  return runTool(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, ...args],
    {
      PGHOST: s.host,
      PGPORT: String(s.port),
      PGUSER: s.adminUser,
      PGPASSWORD: s.adminPassword,
      PGCONNECT_TIMEOUT: '10',
    },
    sql,
  );
}

function mariadb(sandbox: SandboxDbms, sql: string) {
  const s = sandbox.mysql;
  return runTool(
    'mariadb',
    ['--no-defaults', '-h', s.host, '-P', String(s.port), '-u', s.adminUser, '--batch'],
    { MYSQL_PWD: s.adminPassword },
    sql,
  );
}

/*
 * A real cluster has one DBMS per namespace: deleting the namespace deletes its schemas. The
 * sandbox has one DBMS per cluster, so it keeps, in its own database, which namespaces each
 * provisioned role/database belongs to (a restore into another namespace of the same cluster
 * shares names), and drops a name once none of its namespaces is left.
 */
const META_DB = 'sandbox_meta';
const metaReady = new WeakMap<SandboxDbms, Promise<unknown>>();

function ensureMeta(sandbox: SandboxDbms): Promise<unknown> {
  let ready = metaReady.get(sandbox);
  if (!ready) {
    ready = psql(
      sandbox,
      'postgres',
      `SELECT 'CREATE DATABASE ${META_DB}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${META_DB}')\\gexec\n`,
    ).then(() =>
      psql(
        sandbox,
        META_DB,
        'CREATE TABLE IF NOT EXISTS owners (dbms text, name text, namespace text, PRIMARY KEY (dbms, name, namespace));\n',
      ),
    );
    ready.catch(() => metaReady.delete(sandbox));
    metaReady.set(sandbox, ready);
  }
  return ready;
}

async function recordOwners(sandbox: SandboxDbms, dbms: Dbms, names: string[], ns: string) {
  await ensureMeta(sandbox);
  const rows = names.map((n) => `(${pgLiteral(dbms)}, ${pgLiteral(n)}, ${pgLiteral(ns)})`);
  await psql(
    sandbox,
    META_DB,
    `INSERT INTO owners VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING;\n`,
  );
}

export interface OwnedName {
  dbms: Dbms;
  name: string;
  namespaces: string[];
}

export async function ownedNames(sandbox: SandboxDbms): Promise<OwnedName[]> {
  await ensureMeta(sandbox);
  const out = await psql(
    sandbox,
    META_DB,
    "SELECT dbms, name, string_agg(namespace, ',') FROM owners GROUP BY dbms, name;\n",
    ['-At', '-F', '\t'],
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [dbms, name, namespaces] = line.split('\t');
      return { dbms: dbms as Dbms, name: name!, namespaces: (namespaces ?? '').split(',') };
    });
}

/** SQL that drops a PostgreSQL role with its schema and grants, its sessions ended first. */
export function dropPostgresqlSql(name: string): string {
  const lit = pgLiteral(name);
  return `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${lit};
DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit}) THEN
    EXECUTE 'DROP OWNED BY ' || quote_ident(${lit}) || ' CASCADE';
    EXECUTE 'DROP ROLE ' || quote_ident(${lit});
  END IF;
END
$do$;
DROP SCHEMA IF EXISTS ${pgIdent(name)} CASCADE;
`;
}

export function dropMysqlSql(name: string): string {
  const users = ['%', 'localhost'].map((h) => `${myLiteral(name)}@${myLiteral(h)}`).join(', ');
  return `DROP DATABASE IF EXISTS ${myIdent(name)};\nDROP USER IF EXISTS ${users};\n`;
}

/**
 * Drops every recorded role/schema (PostgreSQL) and database/user (MySQL) none of whose
 * namespaces is in `live`, and forgets the namespaces that are gone. Returns what it dropped.
 */
export async function sweepOrphans(sandbox: SandboxDbms, live: Set<string>): Promise<string[]> {
  const dropped: string[] = [];
  for (const o of await ownedNames(sandbox)) {
    const gone = o.namespaces.filter((n) => !live.has(n));
    if (gone.length === 0) continue;
    if (gone.length === o.namespaces.length) {
      if (o.dbms === 'postgresql') {
        await psql(sandbox, sandbox.postgresql.database, dropPostgresqlSql(o.name), [
          '-o',
          '/dev/null',
        ]);
      } else {
        await mariadb(sandbox, dropMysqlSql(o.name));
      }
      dropped.push(`${o.dbms} ${o.name}`);
    }
    await psql(
      sandbox,
      META_DB,
      `DELETE FROM owners WHERE dbms = ${pgLiteral(o.dbms)} AND name = ${pgLiteral(o.name)} AND namespace IN (${gone.map(pgLiteral).join(', ')});\n`,
    );
  }
  return dropped;
}
