import { Writable } from 'node:stream';
import { OperationError } from '../../errors.js';
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
 * Loads a dump into the datasource's schema (PostgreSQL) or database (MySQL) as its own user:
 * the schema is emptied first, the dump streamed in, Liquibase's lock cleared. PostgreSQL does
 * all of it in one transaction committed only after the last byte (checked against the
 * archive's sha256) went in, so an interrupted load changes nothing.
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
    );
  } else if (ds.dbms === 'mysql') {
    what = `mysql loading database ${ds.schema}`;
    const objects = await listMysqlObjects(exec, ds, opts.signal);
    stdin = concat(myPreamble(objects), counted(dump, opts.onBytes), MY_POSTAMBLE);
  } else {
    throw new OperationError(`${ds.dbms} cannot be loaded`);
  }
  await withCredentials(exec, credentialsFor(ds), async (dir) => {
    const command =
      ds.dbms === 'postgresql' ? psqlCommand(ds, dir, remote) : mysqlCommand(ds, dir, remote);
    const r = await exec.exec(command, { stdin, signal: opts.signal });
    if (r.exitCode !== 0) throw execFailure(what, exec.where, r);
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
