import type { Datasource } from './discovery.js';

/**
 * MySQL / MariaDB: one database per user, named like it.
 *
 * Backup: `mysqldump --single-transaction` (one consistent InnoDB snapshot, no table locks)
 * with routines, triggers and events, as the database's own user, without CREATE DATABASE/USE
 * (the target's operator makes the database). `--no-tablespaces` because a user without the
 * PROCESS privilege cannot dump them (and Entando does not use them); `--hex-blob` keeps binary
 * columns as plain ASCII. MySQL 8's own `--set-gtid-purged=OFF` / `--column-statistics=0`
 * are added when the tool knows them (MariaDB's does not).
 */
export const MY_SCRIPT = [
  'd=$1; tool=$2; shift 2',
  'trap \'rm -rf -- "$d"\' EXIT',
  'unset MYSQL_PWD',
  'case $tool in',
  '  dump) bin=$(command -v mysqldump || command -v mariadb-dump) ;;',
  '  *) bin=$(command -v mysql || command -v mariadb) ;;',
  'esac',
  '[ -n "$bin" ] || { echo "no $tool tool (mysqldump or mariadb-dump, mysql or mariadb) in this container" >&2; exit 127; }',
  // A pod that says where its server is (MYSQL_HOST/MYSQL_TCP_PORT; not every client reads
  // them itself); explicit --host/--port given after these win.
  'if [ -n "${MYSQL_TCP_PORT:-}" ]; then set -- --port="$MYSQL_TCP_PORT" "$@"; fi',
  'if [ -n "${MYSQL_HOST:-}" ]; then set -- --host="$MYSQL_HOST" --protocol=TCP "$@"; fi',
  'extra=',
  'if [ "$tool" = dump ]; then',
  '  help=$("$bin" --help 2>/dev/null)',
  '  case $help in *set-gtid-purged*) extra="--set-gtid-purged=OFF" ;; esac',
  '  case $help in *column-statistics*) extra="$extra --column-statistics=0" ;; esac',
  'fi',
  '# shellcheck disable=SC2086 # $extra is zero to two options: split into words on purpose',
  '"$bin" --defaults-extra-file="$d/credentials" $extra "$@"',
].join('\n');

function connection(ds: Datasource, remote: boolean): string[] {
  // In the DBMS pod: the pod's MYSQL_HOST/MYSQL_TCP_PORT (see the script), else the socket.
  return remote ? [`--host=${ds.host}`, `--port=${ds.port}`, '--protocol=TCP'] : [];
}

export function mysqldumpCommand(ds: Datasource, dir: string, remote: boolean): string[] {
  return [
    'sh',
    '-c',
    MY_SCRIPT,
    'kubectl-entando-mysql',
    dir,
    'dump',
    ...connection(ds, remote),
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--no-tablespaces',
    '--hex-blob',
    '--default-character-set=utf8mb4',
    '--',
    ds.schema,
  ];
}

/** The mysql client on `ds.schema`: reads SQL on stdin, stops at the first error. */
export function mysqlCommand(
  ds: Datasource,
  dir: string,
  remote: boolean,
  extra: string[] = [],
): string[] {
  return [
    'sh',
    '-c',
    MY_SCRIPT,
    'kubectl-entando-mysql',
    dir,
    'client',
    ...connection(ds, remote),
    '--default-character-set=utf8mb4',
    '--batch',
    ...extra,
    `--database=${ds.schema}`,
  ];
}

/** Lists what the database holds (tab-separated kind and name), for emptying it before a load. */
export const LIST_OBJECTS_SQL = `SELECT 'VIEW', table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'VIEW'
UNION ALL SELECT 'TABLE', table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type <> 'VIEW'
UNION ALL SELECT routine_type, routine_name FROM information_schema.routines WHERE routine_schema = DATABASE()
UNION ALL SELECT 'EVENT', event_name FROM information_schema.events WHERE event_schema = DATABASE();
`;

export const myIdent = (s: string): string => `\`${s.replace(/`/g, '``')}\``;

/** Parses `--batch --skip-column-names` output of LIST_OBJECTS_SQL (names are escaped). */
export function parseObjectList(text: string): { kind: string; name: string }[] {
  const unescape = (s: string) =>
    s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', '0': '\0', '\\': '\\' })[c] ?? c);
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const tab = l.indexOf('\t');
      return { kind: l.slice(0, tab).toUpperCase(), name: unescape(l.slice(tab + 1)) };
    });
}

/**
 * Before the dump: the database emptied (MySQL DDL is not transactional: a cut-off load leaves
 * a partial database, which the next run empties again), so objects the app created meanwhile
 * do not remain beside the restored ones.
 */
export function myPreamble(objects: { kind: string; name: string }[]): string {
  const lines = ['SET FOREIGN_KEY_CHECKS = 0;'];
  const of = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => myIdent(o.name));
  const views = of('VIEW');
  const tables = of('TABLE');
  if (views.length) lines.push(`DROP VIEW IF EXISTS ${views.join(', ')};`);
  if (tables.length) lines.push(`DROP TABLE IF EXISTS ${tables.join(', ')};`);
  for (const p of of('PROCEDURE')) lines.push(`DROP PROCEDURE IF EXISTS ${p};`);
  for (const f of of('FUNCTION')) lines.push(`DROP FUNCTION IF EXISTS ${f};`);
  for (const e of of('EVENT')) lines.push(`DROP EVENT IF EXISTS ${e};`);
  return `${lines.join('\n')}\n`;
}

/** After the dump: Liquibase's lock cleared (its table is upper case on MySQL). */
export const MY_POSTAMBLE = `
SET @kubectl_entando_lock = (SELECT table_name FROM information_schema.tables
  WHERE table_schema = DATABASE() AND LOWER(table_name) = 'databasechangeloglock' LIMIT 1);
SET @kubectl_entando_sql = IF(@kubectl_entando_lock IS NULL, 'DO 0',
  CONCAT('DELETE FROM \`', REPLACE(@kubectl_entando_lock, '\`', '\`\`'), '\`'));
PREPARE kubectl_entando_stmt FROM @kubectl_entando_sql;
EXECUTE kubectl_entando_stmt;
DEALLOCATE PREPARE kubectl_entando_stmt;
SET FOREIGN_KEY_CHECKS = 1;
`;
