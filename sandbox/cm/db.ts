// The component manager STAND-IN's dedb access. The real CM uses JPA over the datasource the
// operator gives it (SPRING_DATASOURCE_URL/_USERNAME/_PASSWORD, APPCTL
// ComponentManagerDeployableContainer); here the host's psql / mariadb clients run one statement
// batch per call against the sandbox DBMS (its host port: the in-namespace service name of the
// URL does not resolve on the host). Rows come back as one JSON document per query.
// Embedded apps (H2 URL): the tables live in a JSON file on the CM's PVC (see README).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Row = Record<string, unknown>;
export type Value = string | number | boolean | null | undefined;

export interface Db {
  readonly dialect: 'postgresql' | 'mysql' | 'file';
  /** Rows of `table` whose columns equal `where` (all when empty), ordered by `orderBy`. */
  select(table: string, where?: Row, orderBy?: string): Promise<Row[]>;
  insert(table: string, row: Row): Promise<void>;
  update(table: string, set: Row, where: Row): Promise<void>;
  delete(table: string, where: Row): Promise<void>;
  /** DDL at start (CREATE TABLE IF NOT EXISTS ...), dialect-specific. */
  ensureSchema(ddl: string[]): Promise<void>;
}

export interface SqlEndpoint {
  host: string;
  port: number;
  username: string;
  password: string;
  /** PostgreSQL database (the schema is the user's, via its search_path) or MySQL database. */
  database: string;
  /** PostgreSQL: the URL's `currentSchema` (a tenant's deDbUrl), set as search_path. */
  schema?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (rc) =>
      rc === 0 ? resolve(out) : reject(new Error(`${cmd}: exit ${rc}: ${err.trim()}`)),
    );
    child.stdin.end(input);
  });
}

abstract class SqlDb implements Db {
  abstract readonly dialect: 'postgresql' | 'mysql';
  /** Column names per table, learnt from ensureSchema's DDL (MySQL needs them for JSON). */
  protected readonly columns = new Map<string, string[]>();

  constructor(protected readonly ep: SqlEndpoint) {}

  protected abstract exec(sql: string): Promise<string>;
  protected abstract quoteString(s: string): string;
  protected abstract jsonQuery(table: string, whereSql: string, orderSql: string): string;

  literal(v: Value): string {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
    if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
    return this.quoteString(v);
  }

  private whereSql(where: Row = {}): string {
    const parts = Object.entries(where).map(([k, v]) =>
      v === null ? `${k} IS NULL` : `${k} = ${this.literal(v as Value)}`,
    );
    return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
  }

  async select(table: string, where?: Row, orderBy?: string): Promise<Row[]> {
    const out = await this.exec(
      this.jsonQuery(table, this.whereSql(where), orderBy ? ` ORDER BY ${orderBy}` : ''),
    );
    const text = out.trim();
    return text ? (JSON.parse(text) as Row[]) : [];
  }

  async insert(table: string, row: Row): Promise<void> {
    const cols = Object.keys(row).filter((k) => row[k] !== undefined);
    await this.exec(
      `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols
        .map((c) => this.literal(row[c] as Value))
        .join(', ')});`,
    );
  }

  async update(table: string, set: Row, where: Row): Promise<void> {
    const cols = Object.keys(set).filter((k) => set[k] !== undefined);
    if (cols.length === 0) return;
    await this.exec(
      `UPDATE ${table} SET ${cols.map((c) => `${c} = ${this.literal(set[c] as Value)}`).join(', ')}${this.whereSql(where)};`,
    );
  }

  async delete(table: string, where: Row): Promise<void> {
    await this.exec(`DELETE FROM ${table}${this.whereSql(where)};`);
  }

  async ensureSchema(ddl: string[]): Promise<void> {
    for (const stmt of ddl) {
      const m = /CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\)/.exec(stmt);
      if (m) {
        const cols = m[2]
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /^[a-z_]+ /.test(l) && !/^(PRIMARY|UNIQUE|CONSTRAINT)\b/i.test(l))
          .map((l) => l.split(' ')[0]);
        this.columns.set(m[1], cols);
      }
    }
    await this.exec(ddl.map((s) => `${s};`).join('\n'));
  }
}

class PostgresDb extends SqlDb {
  readonly dialect = 'postgresql' as const;

  protected quoteString(s: string): string {
    return `'${s.replace(/'/g, "''")}'`;
  }

  protected jsonQuery(table: string, whereSql: string, orderSql: string): string {
    return `SELECT coalesce(json_agg(t), '[]'::json) FROM (SELECT * FROM ${table}${whereSql}${orderSql}) t;`;
  }

  protected exec(sql: string): Promise<string> {
    return run(
      'psql',
      [
        '-X',
        '-q',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        this.ep.host,
        '-p',
        String(this.ep.port),
      ],
      {
        PGUSER: this.ep.username,
        PGPASSWORD: this.ep.password,
        PGDATABASE: this.ep.database,
        PGCONNECT_TIMEOUT: '10',
        ...(this.ep.schema ? { PGOPTIONS: `-c search_path=${this.ep.schema}` } : {}),
      },
      `SET client_min_messages = warning;\n${sql}\n`,
    );
  }
}

class MysqlDb extends SqlDb {
  readonly dialect = 'mysql' as const;

  protected quoteString(s: string): string {
    return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  }

  protected jsonQuery(table: string, whereSql: string, orderSql: string): string {
    const cols = this.columns.get(table);
    if (!cols) throw new Error(`unknown table ${table}`);
    const obj = `JSON_OBJECT(${cols.map((c) => `'${c}', ${c}`).join(', ')})`;
    // JSON_ARRAYAGG has no ORDER BY in MariaDB < 10.5: aggregate an ordered derived table.
    return `SELECT coalesce(JSON_ARRAYAGG(${obj}), '[]') FROM (SELECT * FROM ${table}${whereSql}${orderSql} LIMIT 1000000) t;`;
  }

  protected exec(sql: string): Promise<string> {
    return run(
      'mariadb',
      [
        '--protocol=TCP',
        '-h',
        this.ep.host,
        '-P',
        String(this.ep.port),
        '-u',
        this.ep.username,
        '--default-character-set=utf8mb4',
        '-N',
        '-B',
        '-r',
        this.ep.database,
      ],
      { MYSQL_PWD: this.ep.password },
      sql,
    );
  }
}

/** Embedded apps: tables as one JSON document on the CM's PVC, rewritten atomically. */
class FileDb implements Db {
  readonly dialect = 'file' as const;
  private tables: Record<string, Row[]> = {};
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {
    if (existsSync(file))
      this.tables = JSON.parse(readFileSync(file, 'utf8')) as typeof this.tables;
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, `${JSON.stringify(this.tables)}\n`);
    renameSync(`${this.file}.tmp`, this.file);
  }

  private serial<T>(fn: () => T): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private matches(r: Row, where: Row = {}): boolean {
    return Object.entries(where).every(([k, v]) => (r[k] ?? null) === v);
  }

  select(table: string, where?: Row, orderBy?: string): Promise<Row[]> {
    return this.serial(() => {
      const rows = (this.tables[table] ?? []).filter((r) => this.matches(r, where));
      if (orderBy) {
        const [col, dir] = orderBy.split(' ');
        rows.sort((a, b) => String(a[col] ?? '').localeCompare(String(b[col] ?? '')));
        if (dir?.toUpperCase() === 'DESC') rows.reverse();
      }
      return rows.map((r) => ({ ...r }));
    });
  }

  insert(table: string, row: Row): Promise<void> {
    return this.serial(() => {
      (this.tables[table] ??= []).push({ ...row });
      this.save();
    });
  }

  update(table: string, set: Row, where: Row): Promise<void> {
    return this.serial(() => {
      for (const r of this.tables[table] ?? []) {
        // As the SQL dialects: an undefined value leaves its column alone.
        if (!this.matches(r, where)) continue;
        for (const [k, v] of Object.entries(set)) if (v !== undefined) r[k] = v;
      }
      this.save();
    });
  }

  delete(table: string, where: Row): Promise<void> {
    return this.serial(() => {
      this.tables[table] = (this.tables[table] ?? []).filter((r) => !this.matches(r, where));
      this.save();
    });
  }

  ensureSchema(ddl: string[]): Promise<void> {
    return this.serial(() => {
      for (const stmt of ddl) {
        const m = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(stmt);
        if (m) this.tables[m[1]] ??= [];
      }
      this.save();
    });
  }
}

/**
 * The dedb from the CM's env: SPRING_DATASOURCE_URL (jdbc:postgresql://h:p/db, jdbc:mysql://h:p/db,
 * or an H2 file URL for embedded apps), SPRING_DATASOURCE_USERNAME/_PASSWORD; the sandbox-only
 * SANDBOX_CM_DBMS_HOST/_PORT say where that DBMS really listens.
 */
export function openDb(env: NodeJS.ProcessEnv): Db {
  return openDatasource(
    {
      url: env.SPRING_DATASOURCE_URL ?? '',
      username: env.SPRING_DATASOURCE_USERNAME ?? '',
      password: env.SPRING_DATASOURCE_PASSWORD ?? '',
      stateFile: env.SANDBOX_CM_STATE_FILE,
      what: 'SPRING_DATASOURCE_USERNAME',
    },
    env,
  );
}

/**
 * One datasource: the primary's (above) or a tenant's deDbUrl/deDbUsername/deDbPassword
 * (TenantDataSourceConfiguration; the driver from the URL, PostgreSQL's `currentSchema` kept).
 * The sandbox has one DBMS of each kind per cluster: SANDBOX_CM_<KIND>_PORT says where.
 */
export function openDatasource(
  ds: { url: string; username: string; password: string; stateFile?: string; what: string },
  env: NodeJS.ProcessEnv,
): Db {
  const m = /^jdbc:(postgresql|mysql):\/\/([^/:?]+)(?::(\d+))?\/([^?;]+)(?:\?(.*))?/.exec(ds.url);
  if (!m) {
    const h2 = /^jdbc:h2:file:([^;]+)/.exec(ds.url);
    const base = h2 ? h2[1] : '/entando-data/databases/de.db';
    return new FileDb(ds.stateFile ?? `${base}.sandbox-cm.json`);
  }
  // The app's own DBMS (SANDBOX_CM_DBMS_*), else the cluster's one of the URL's kind.
  const own = ds.what === 'SPRING_DATASOURCE_USERNAME' ? env.SANDBOX_CM_DBMS_PORT : undefined;
  const ofKind = env[`SANDBOX_CM_${m[1].toUpperCase()}_PORT`];
  const ep: SqlEndpoint = {
    host: env.SANDBOX_CM_DBMS_HOST ?? '127.0.0.1',
    port: Number(
      own ?? ofKind ?? env.SANDBOX_CM_DBMS_PORT ?? m[3] ?? (m[1] === 'postgresql' ? 5432 : 3306),
    ),
    username: ds.username,
    password: ds.password,
    database: m[4],
  };
  const schema = new URLSearchParams(m[5] ?? '').get('currentSchema');
  if (m[1] === 'postgresql' && schema) ep.schema = schema;
  if (!ep.username) throw new Error(`${ds.what} is not set`);
  return m[1] === 'postgresql' ? new PostgresDb(ep) : new MysqlDb(ep);
}
