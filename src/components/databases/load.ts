import { Writable } from 'node:stream';
import { OperationError } from '../../errors.js';
import { latin1Tail } from '../../util/tail.js';
import { withCredentials } from './credentials.js';
import type { Datasource } from './discovery.js';
import { credentialsFor, execFailure } from './dump.js';
import type { DbExecutor } from './executor.js';
import {
  LIST_OBJECTS_SQL,
  MY_POSTAMBLE,
  myPreamble,
  mysqlCommand,
  parseObjectList,
} from './mysql.js';
import { pgPostamble, pgPreamble, psqlCommand, withoutCreateSchema } from './postgresql.js';

async function* concat(...parts: (string | AsyncIterable<Buffer>)[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (typeof part === 'string') yield Buffer.from(part, 'utf8');
    else for await (const chunk of part) yield chunk;
  }
}

async function* counted(
  source: AsyncIterable<Buffer>,
  onBytes: ((n: number) => void) | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes?.(chunk.length);
    yield chunk;
  }
}

/**
 * Printed by the client after the load's last statement (psql's `\echo`, a MySQL `SELECT`):
 * a client that exits 0 without printing it did not read its whole input. `kubectl exec` can
 * lose the end of a command's stdin as it loses the end of stdout (kubernetes/kubernetes#124571),
 * and psql at the end of its input rolls back the open transaction and exits 0.
 */
export const LOAD_COMPLETE = 'kubectl-entando: load complete';

/** Keeps the last bytes written (a command's stdout, for LOAD_COMPLETE). */
class TailWriter extends Writable {
  private tail = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.tail = latin1Tail(this.tail, chunk, 4096);
    done();
  }
  text(): string {
    return this.tail;
  }
}

/**
 * Loads a dump into the datasource's schema (PostgreSQL) or database (MySQL) as its own user:
 * the schema is emptied first, the dump streamed in, Liquibase's lock cleared. PostgreSQL does
 * all of it in one transaction committed only after the last byte (checked against the
 * archive's sha256) went in, so an interrupted load changes nothing. The client must print
 * LOAD_COMPLETE after the last statement, else the load failed.
 */
export async function loadDump(
  exec: DbExecutor,
  ds: Datasource,
  dump: AsyncIterable<Buffer>,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<void> {
  const remote = exec.kind === 'client-pod';
  let stdin: AsyncIterable<Buffer>;
  let what: string;
  if (ds.dbms === 'postgresql') {
    what = `psql loading schema ${ds.schema}`;
    stdin = concat(
      pgPreamble(ds.schema),
      withoutCreateSchema(counted(dump, opts.onBytes), ds.schema),
      pgPostamble(ds.schema),
      `\\echo '${LOAD_COMPLETE}'\n`,
    );
  } else if (ds.dbms === 'mysql') {
    what = `mysql loading database ${ds.schema}`;
    const objects = await listMysqlObjects(exec, ds, opts.signal);
    stdin = concat(
      myPreamble(objects),
      counted(dump, opts.onBytes),
      MY_POSTAMBLE,
      `SELECT '${LOAD_COMPLETE}';\n`,
    );
  } else {
    throw new OperationError(`${ds.dbms} cannot be loaded`);
  }
  await withCredentials(exec, credentialsFor(ds), async (dir) => {
    const command =
      ds.dbms === 'postgresql' ? psqlCommand(ds, dir, remote) : mysqlCommand(ds, dir, remote);
    const stdout = new TailWriter();
    const r = await exec.exec(command, { stdin, stdout, signal: opts.signal });
    if (r.exitCode !== 0) throw execFailure(what, exec.where, r);
    if (!stdout.text().includes(LOAD_COMPLETE)) {
      const state =
        ds.dbms === 'postgresql' ? 'nothing of it was committed' : 'the database is partly loaded';
      throw new OperationError(
        `${what} in ${exec.where}: the client exited 0 before the load's last statement (its input was cut short, a known Kubernetes exec issue, kubernetes/kubernetes#124571; ${state}): run the same restore with --existing update`,
      );
    }
  });
}

/** What the MySQL database holds now (the operator's empty one, or what the app created). */
async function listMysqlObjects(
  exec: DbExecutor,
  ds: Datasource,
  signal: AbortSignal | undefined,
): Promise<{ kind: string; name: string }[]> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  await withCredentials(exec, credentialsFor(ds), async (dir) => {
    const command = mysqlCommand(ds, dir, exec.kind === 'client-pod', ['--skip-column-names']);
    const r = await exec.exec(command, { stdin: [LIST_OBJECTS_SQL], stdout, signal });
    if (r.exitCode !== 0) throw execFailure(`listing database ${ds.schema}`, exec.where, r);
  });
  return parseObjectList(Buffer.concat(chunks).toString('utf8'));
}
