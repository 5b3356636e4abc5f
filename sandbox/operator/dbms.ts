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

export async function provision(
  sandbox: SandboxDbms,
  dbms: 'postgresql' | 'mysql',
  creds: Credential[],
): Promise<void> {
  if (creds.length === 0) return;
  if (dbms === 'postgresql') {
    const s = sandbox.postgresql;
    const sql = creds.map((c) => postgresqlSql(s.database, c)).join('');
    await runTool(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', s.database],
      {
        PGHOST: s.host,
        PGPORT: String(s.port),
        PGUSER: s.adminUser,
        PGPASSWORD: s.adminPassword,
        PGCONNECT_TIMEOUT: '10',
      },
      sql,
    );
  } else {
    const s = sandbox.mysql;
    await runTool(
      'mariadb',
      ['--no-defaults', '-h', s.host, '-P', String(s.port), '-u', s.adminUser, '--batch'],
      { MYSQL_PWD: s.adminPassword },
      creds.map(mysqlSql).join(''),
    );
  }
}
