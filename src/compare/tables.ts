import { OperationError, errorMessage } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { discoverDatasources, type Datasource } from '../components/databases/discovery.js';
import { PodExecutor, locateDbmsPod } from '../components/databases/executor.js';
import { myIdent } from '../components/databases/mysql.js';
import { pgLiteral } from '../components/databases/postgresql.js';
import { parseRows, querySql } from '../components/databases/query.js';
import { mapLimit } from '../util/limit.js';
import { datasourceKey } from './tenant-schemas.js';
import { ABSENT, digest, type CompareRow } from './rows.js';

/** A table's row count and, unless --quick, a content hash computed by the DBMS. */
export interface TableState {
  rows: number;
  /** Order-independent sum of per-row hashes, as the DBMS printed it. */
  hash?: string;
}

/** One datasource: its tables, or why they could not be read. */
export interface DatasourceState {
  /** datasourceKey: the same on both sides. */
  key: string;
  /** The secondary tenant whose schema it is (its JSON's dbUrl or deDbUrl). */
  tenant?: string;
  dbms: string;
  schema: string;
  tables?: Map<string, TableState>;
  error?: string;
}

/** Tables a restore changes on purpose, with the reason. */
const EXPECTED_TABLES: Record<string, string> = {
  databasechangeloglock: "Liquibase's lock table, cleared by the restore so the app can start",
  // The component manager's records (dedb), rewritten when restore reinstalls the bundles
  // (--bundles reinstall): new install jobs, the installed bundle's job id, plugin_data's row.
  entando_bundle_jobs: "the component manager's jobs: the restore's reinstall adds its own",
  entando_bundle_component_jobs: "the component manager's component jobs of the reinstall",
  installed_entando_bundles:
    "the component manager's installed bundles, pointing at the reinstall's jobs",
  plugin_data: "the component manager's plugin records, written again by the reinstall",
};

/**
 * The per-row hash sums. PostgreSQL: md5 of the row's text form (`t::text`, with the output
 * settings fixed below); MySQL/MariaDB: SHA2 of every column cast to bytes, hex-encoded and
 * joined (NULL marked apart from ''). Two 64-bit halves of each row's hash are summed as
 * exact numerics: the result does not depend on row order, takes no memory per row, and any
 * changed, added or removed row changes it.
 */
const PG_SETTINGS = `SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
`;

export function pgTablesSql(schema: string, quick: boolean): string {
  const hash = quick
    ? `''`
    : `coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text || ':' || coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)::text`;
  const from = quick ? '%I.%I t' : '(SELECT md5(t::text) AS h FROM %I.%I t) s';
  const template = `SELECT %L, count(*), ${hash} FROM ${from}`;
  return `${PG_SETTINGS}SELECT format(${pgLiteral(template)}, c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ${pgLiteral(schema)} AND c.relkind IN ('r', 'p')
ORDER BY c.relname \\gexec
`;
}

export const MY_COLUMNS_SQL = `SELECT c.table_name, c.column_name FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = DATABASE() AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name, c.ordinal_position;
`;

const myLiteral = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export function myTablesSql(columns: Map<string, string[]>, quick: boolean): string {
  const parts = ["SET time_zone = '+00:00';"];
  for (const [table, cols] of columns) {
    if (quick) {
      parts.push(`SELECT ${myLiteral(table)}, COUNT(*), '' FROM ${myIdent(table)};`);
      continue;
    }
    const fields = cols.map((c) => `IFNULL(HEX(CAST(${myIdent(c)} AS BINARY)), 'N')`).join(', ');
    const half = (from: number) =>
      `COALESCE(SUM(CAST(CONV(SUBSTRING(h, ${from}, 16), 16, 10) AS DECIMAL(20, 0))), 0)`;
    parts.push(
      `SELECT ${myLiteral(table)}, COUNT(*), CONCAT(${half(1)}, ':', ${half(17)}) FROM (SELECT SHA2(CONCAT_WS(',', ${fields}), 256) AS h FROM ${myIdent(table)}) s;`,
    );
  }
  return `${parts.join('\n')}\n`;
}

/** Rows of `name count hash` into a map. */
function tableStates(text: string): Map<string, TableState> {
  const out = new Map<string, TableState>();
  for (const [name, count, hash] of parseRows(text)) {
    out.set(name, { rows: Number(count), ...(hash ? { hash } : {}) });
  }
  return out;
}

async function readTables(
  kube: KubeClient,
  namespace: string,
  ds: Datasource,
  quick: boolean,
  signal?: AbortSignal,
): Promise<Map<string, TableState>> {
  // Only where the DBMS already runs: a client pod for an external DBMS would be a write.
  const local = await locateDbmsPod(kube, namespace, ds);
  if (!local) {
    throw new OperationError(
      `${ds.dbms} on ${ds.host} is outside the cluster: not compared (compare runs no client pod)`,
    );
  }
  const exec = new PodExecutor(
    kube.config,
    local.namespace,
    local.pod,
    local.container,
    'dbms-pod',
  );
  const what = `reading the tables of ${ds.schema}`;
  if (ds.dbms === 'postgresql') {
    return tableStates(await querySql(exec, ds, pgTablesSql(ds.schema, quick), what, signal));
  }
  const columns = new Map<string, string[]>();
  for (const [table, column] of parseRows(await querySql(exec, ds, MY_COLUMNS_SQL, what, signal))) {
    columns.set(table, [...(columns.get(table) ?? []), column]);
  }
  if (columns.size === 0) return new Map();
  return tableStates(await querySql(exec, ds, myTablesSql(columns, quick), what, signal));
}

/**
 * Every table of every datasource of the app and of its secondary tenants (their schemas
 * reached through this side's own ENTANDO_TENANTS, credentials included); Oracle and an
 * external DBMS: an error each.
 */
export async function collectTables(
  kube: KubeClient,
  app: KubeObject,
  opts: { quick: boolean; parallel: number; signal?: AbortSignal },
): Promise<{ datasources: DatasourceState[]; problems: string[] }> {
  const found = await discoverDatasources(kube, app, { tenants: true });
  const namespace = app.metadata.namespace!;
  const datasources = await mapLimit(found.datasources, opts.parallel, async (ds) => {
    const state: DatasourceState = {
      key: datasourceKey(ds.owner, ds.qualifier),
      ...(ds.owner.tenant ? { tenant: ds.owner.tenant } : {}),
      dbms: ds.dbms,
      schema: ds.schema,
    };
    if (ds.dbms === 'oracle') return { ...state, error: 'Oracle is not compared' };
    try {
      return { ...state, tables: await readTables(kube, namespace, ds, opts.quick, opts.signal) };
    } catch (err) {
      return { ...state, error: errorMessage(err) };
    }
  });
  return { datasources, problems: found.problems };
}

/** A datasource on one side only; a tenant's is named with where the other side looks for it. */
function missingDatasourceWhy(s?: DatasourceState, t?: DatasourceState): string {
  const tenant = (s ?? t)!.tenant;
  const where = s ? 'target' : 'source';
  if (tenant) return `tenant ${tenant}: no such schema in the ${where}'s ENTANDO_TENANTS`;
  return s ? 'no such datasource in the target' : 'only in the target';
}

const show = (t: TableState | undefined) =>
  t ? `${t.rows} rows${t.hash !== undefined ? ` ${digest(t.hash)}` : ''}` : ABSENT;

/** One row per table of either side (and per datasource that could not be read). */
export function compareTables(source: DatasourceState[], target: DatasourceState[]): CompareRow[] {
  const rows: CompareRow[] = [];
  const bySource = new Map(source.map((d) => [d.key, d]));
  const byTarget = new Map(target.map((d) => [d.key, d]));
  for (const key of [...new Set([...bySource.keys(), ...byTarget.keys()])].sort()) {
    const s = bySource.get(key);
    const t = byTarget.get(key);
    const name = (table: string) => `${key}/${table}`;
    if (!s || !t) {
      rows.push({
        section: 'table',
        name: `${key} (datasource)`,
        source: s ? `${s.dbms} ${s.schema}` : ABSENT,
        target: t ? `${t.dbms} ${t.schema}` : ABSENT,
        verdict: 'missing',
        why: missingDatasourceWhy(s, t),
      });
      continue;
    }
    if (s.error || t.error || !s.tables || !t.tables) {
      rows.push({
        section: 'table',
        name: `${key} (datasource)`,
        source: `${s.dbms} ${s.schema}`,
        target: `${t.dbms} ${t.schema}`,
        verdict: 'unchecked',
        why: [s.error && `source: ${s.error}`, t.error && `target: ${t.error}`]
          .filter(Boolean)
          .join('; '),
      });
      continue;
    }
    if (s.dbms !== t.dbms) {
      rows.push({
        section: 'table',
        name: `${key} (datasource)`,
        source: s.dbms,
        target: t.dbms,
        verdict: 'differs',
        why: 'not the same DBMS: tables not compared',
      });
      continue;
    }
    if ((s.tables.size === 0) !== (t.tables.size === 0)) {
      // PostgreSQL lists no table of a schema that does not exist: one row, not one per table.
      rows.push({
        section: 'table',
        name: `${key} (datasource)`,
        source: `${s.dbms} ${s.schema} ${s.tables.size} tables`,
        target: `${t.dbms} ${t.schema} ${t.tables.size} tables`,
        verdict: 'missing',
        why: s.tables.size
          ? `schema ${t.schema} is missing or empty in the target`
          : `schema ${s.schema} is missing or empty in the source`,
      });
      continue;
    }
    for (const table of [...new Set([...s.tables.keys(), ...t.tables.keys()])].sort()) {
      const a = s.tables.get(table);
      const b = t.tables.get(table);
      const base = {
        section: 'table' as const,
        name: name(table),
        source: show(a),
        target: show(b),
      };
      if (!a || !b) {
        rows.push({
          ...base,
          verdict: 'missing',
          why: a ? 'not in the target' : 'only in the target',
        });
      } else if (a.rows === b.rows && a.hash === b.hash) {
        rows.push({ ...base, verdict: 'same' });
      } else if (EXPECTED_TABLES[table.toLowerCase()]) {
        rows.push({ ...base, verdict: 'expected', why: EXPECTED_TABLES[table.toLowerCase()] });
      } else {
        rows.push({
          ...base,
          verdict: 'differs',
          why: a.rows !== b.rows ? `${a.rows} rows vs ${b.rows}` : 'same row count, other content',
        });
      }
    }
  }
  return rows;
}
