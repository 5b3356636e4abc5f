import type { Datasource } from './discovery.js';

/**
 * PostgreSQL: one database holding one schema per user, schema name = username.
 *
 * Backup: `pg_dump --schema=<schema> --no-owner --no-privileges` in plain SQL, run as the
 * schema's own user. Plain SQL rather than the custom format because (a) it is loaded by `psql`
 * as a stream, with our own transaction around it, so a load that is cut off (Ctrl-C, a lost
 * connection) rolls back instead of leaving half a schema; (b) `cat` of the parts gives a file
 * anyone can read and load by hand; (c) psql of any version reads it, where pg_restore refuses
 * archives of a newer pg_dump. Custom format's compression would save archive bytes, at the
 * price of CPU in the DBMS pod and of all three points above. Ownership and grants are left out
 * because the restore runs as the schema's user, who then owns everything it recreates.
 *
 * pg_dump takes its snapshot in one transaction: each schema's dump is consistent by itself.
 */

/**
 * The script every PostgreSQL exec runs: `$1` is the credentials directory (removed on exit),
 * the rest the tool and its arguments. The pod's own PGPASSWORD (a DBMS image may set the
 * admin's) is unset so the password file is what libpq uses; the tools are looked up also where
 * PostgreSQL images keep them off PATH (/usr/pgsql-N/bin in Entando's rocky images).
 */
export const PG_SCRIPT = [
  'd=$1; shift',
  'trap \'rm -rf -- "$d"\' EXIT',
  'unset PGPASSWORD',
  'PGPASSFILE=$d/credentials; export PGPASSFILE',
  'for p in /usr/pgsql-*/bin /usr/lib/postgresql/*/bin; do [ -d "$p" ] && PATH=$PATH:$p; done',
  'command -v "$1" >/dev/null 2>&1 || { echo "$1 not found in this container" >&2; exit 127; }',
  '[ -n "${PGHOST:-}" ] || { PGHOST=127.0.0.1; export PGHOST; }',
  '"$@"',
].join('\n');

/**
 * Connection flags: over the network for a client pod. In the DBMS pod the script's default
 * applies: the pod's PGHOST/PGPORT if it sets them, else TCP on localhost (the socket's peer
 * authentication would refuse a user that is not an OS user).
 */
function connection(ds: Datasource, remote: boolean): string[] {
  const args = [`--username=${ds.username}`, `--dbname=${ds.database}`, '--no-password'];
  if (remote) args.push(`--host=${ds.host}`, `--port=${ds.port}`);
  return args;
}

function wrap(dir: string, tool: string, args: string[]): string[] {
  return ['sh', '-c', PG_SCRIPT, 'kubectl-entando-pg', dir, tool, ...args];
}

export function pgDumpCommand(ds: Datasource, dir: string, remote: boolean): string[] {
  return wrap(dir, 'pg_dump', [
    ...connection(ds, remote),
    `--schema=${ds.schema}`,
    '--format=plain',
    '--encoding=UTF8',
    '--no-owner',
    '--no-privileges',
  ]);
}

/** psql reading SQL on stdin: stops at the first error, results discarded, no psqlrc. */
export function psqlCommand(ds: Datasource, dir: string, remote: boolean): string[] {
  return wrap(dir, 'psql', [
    ...connection(ds, remote),
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '--output=/dev/null',
  ]);
}

/** psql reading SQL on stdin and printing unaligned, tab-separated rows (no headers). */
export function psqlQueryCommand(ds: Datasource, dir: string, remote: boolean): string[] {
  return wrap(dir, 'psql', [
    ...connection(ds, remote),
    '-X',
    '-q',
    '-A',
    '-t',
    '-F',
    '\t',
    '-v',
    'ON_ERROR_STOP=1',
  ]);
}

export const pgIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
export const pgLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * Before the dump: one transaction (committed only by the postamble, after the whole entry was
 * sent and its sha256 checked), and the schema emptied in place. The schema itself stays: its
 * user owns it but may not create schemas in the database. Everything in it (views, tables with
 * their indexes, sequences and triggers, routines, types) is dropped, so objects the app created
 * meanwhile (Liquibase at its first start on the empty schema) do not remain.
 */
export function pgPreamble(schema: string): string {
  const s = pgLiteral(schema);
  return `BEGIN;
SET LOCAL search_path = pg_catalog;
DO $kubectl_entando$
DECLARE
  ns oid;
  r record;
BEGIN
  SELECT oid INTO ns FROM pg_namespace WHERE nspname = ${s};
  IF ns IS NULL THEN
    RAISE EXCEPTION 'schema % does not exist in the target database (has the operator created the role and schema?)', ${s};
  END IF;
  FOR r IN SELECT c.oid, c.relkind FROM pg_class c
      WHERE c.relnamespace = ns AND c.relkind IN ('v', 'm', 'r', 'p', 'f', 'S')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                        AND d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
      ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 1 WHEN 'S' THEN 3 ELSE 2 END LOOP
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = r.oid) THEN
      EXECUTE format('DROP %s IF EXISTS %s CASCADE',
        CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
          WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
        r.oid::regclass);
    END IF;
  END LOOP;
  FOR r IN SELECT p.oid, p.prokind FROM pg_proc p WHERE p.pronamespace = ns
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e') LOOP
    IF EXISTS (SELECT 1 FROM pg_proc WHERE oid = r.oid) THEN
      EXECUTE format('DROP %s IF EXISTS %s CASCADE',
        CASE r.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END, r.oid::regprocedure);
    END IF;
  END LOOP;
  FOR r IN SELECT t.oid, t.typtype FROM pg_type t WHERE t.typnamespace = ns
      AND (t.typtype IN ('e', 'd', 'r', 'm')
           OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                      AND d.objid = t.oid AND d.deptype IN ('e', 'i')) LOOP
    IF EXISTS (SELECT 1 FROM pg_type WHERE oid = r.oid) THEN
      EXECUTE format('DROP %s IF EXISTS %s CASCADE',
        CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.oid::regtype);
    END IF;
  END LOOP;
END
$kubectl_entando$;
`;
}

/**
 * After the dump: Liquibase's lock cleared (a dump taken while the app held it would keep the
 * restored app waiting for a lock nobody holds), then the commit.
 */
export function pgPostamble(schema: string): string {
  const s = pgLiteral(schema);
  return `
DO $kubectl_entando$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${s} AND lower(c.relname) = 'databasechangeloglock' AND c.relkind = 'r' LOOP
    EXECUTE format('TRUNCATE %s', r.oid::regclass);
  END LOOP;
END
$kubectl_entando$;
COMMIT;
`;
}

/**
 * The dump's own `CREATE SCHEMA <schema>;` is dropped on the way in: the schema exists (the
 * operator made it, and its user may not create one). pg_dump writes it in the prologue, before
 * any table; only that exact line is removed, only there (bytes are never re-encoded).
 */
export async function* withoutCreateSchema(
  dump: AsyncIterable<Buffer>,
  schema: string,
): AsyncGenerator<Buffer> {
  const wanted = [`CREATE SCHEMA ${schema};\n`, `CREATE SCHEMA ${pgIdent(schema)};\n`].map((l) =>
    Buffer.from(`\n${l}`),
  );
  const stops = ['\nCREATE TABLE ', '\nCOPY '].map((l) => Buffer.from(l));
  const LIMIT = 1024 * 1024;
  let head = Buffer.alloc(0);
  let done = false;
  const scan = (final: boolean): Buffer | undefined => {
    const stop = Math.min(...stops.map((b) => head.indexOf(b)).map((i) => (i < 0 ? Infinity : i)));
    for (const line of wanted) {
      const at = head.indexOf(line);
      if (at >= 0 && at < stop) {
        return Buffer.concat([head.subarray(0, at + 1), head.subarray(at + line.length)]);
      }
    }
    if (final || stop !== Infinity || head.length > LIMIT) return head;
    return undefined;
  };
  for await (const chunk of dump) {
    if (done) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const out = scan(false);
    if (out) {
      done = true;
      yield out;
    }
  }
  if (!done && head.length > 0) yield scan(true)!;
}
