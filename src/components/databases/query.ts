import { collector } from '../../util/collect.js';
import { withCredentials } from './credentials.js';
import type { Datasource } from './discovery.js';
import { credentialsFor, execFailure } from './dump.js';
import type { DbExecutor } from './executor.js';
import { mysqlCommand } from './mysql.js';
import { psqlQueryCommand } from './postgresql.js';

/**
 * Runs read-only SQL (on stdin) as the datasource's own user and returns what the client
 * printed: tab-separated rows without headers (psql -At -F tab, mysql --batch
 * --skip-column-names). The output is held in memory: for small results only (one row per
 * table, a catalog listing), never for a table's content.
 */
export async function querySql(
  exec: DbExecutor,
  ds: Datasource,
  sql: string,
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  const out = collector();
  const stdout = out.stream;
  await withCredentials(exec, credentialsFor(ds), async (dir) => {
    const remote = exec.kind === 'client-pod';
    const command =
      ds.dbms === 'postgresql'
        ? psqlQueryCommand(ds, dir, remote)
        : mysqlCommand(ds, dir, remote, ['--skip-column-names']);
    const r = await exec.exec(command, { stdin: [sql], stdout, signal });
    if (r.exitCode !== 0) throw execFailure(what, exec.where, r);
  });
  return out.text();
}

/** Tab-separated lines into fields, with mysql --batch's escapes (\t \n \0 \\) decoded. */
export function parseRows(text: string): string[][] {
  const unescape = (s: string) =>
    s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', '0': '\0', '\\': '\\' })[c] ?? c);
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t').map(unescape));
}
