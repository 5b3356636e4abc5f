import { PassThrough, Writable } from 'node:stream';
import { OperationError } from '../../errors.js';
import { CUT_HINT, type PodExecResult } from '../../kube/pod-exec.js';
import { myCnfContent, pgpassContent, withCredentials } from './credentials.js';
import type { Datasource } from './discovery.js';
import { DumpEndCheck } from './dump-end.js';
import type { DbExecutor } from './executor.js';
import { whenAborted } from '../../util/abort.js';
import { mysqldumpCommand } from './mysql.js';
import { pgDumpCommand } from './postgresql.js';

/** The credentials file for a datasource's tools. */
export function credentialsFor(ds: Datasource): string {
  return ds.dbms === 'postgresql'
    ? pgpassContent(ds.username, ds.password)
    : myCnfContent(ds.username, ds.password);
}

export function dumpCommand(ds: Datasource, dir: string, remote: boolean): string[] {
  if (ds.dbms === 'postgresql') return pgDumpCommand(ds, dir, remote);
  if (ds.dbms === 'mysql') return mysqldumpCommand(ds, dir, remote);
  throw new OperationError(`${ds.dbms} cannot be dumped`);
}

/** Turns an exec result into the failure it is, with the command's stderr. */
export function execFailure(what: string, where: string, r: PodExecResult): OperationError {
  const detail = r.stderr.trim().split('\n').slice(-5).join(' | ');
  return new OperationError(
    `${what} failed in ${where} (exit code ${r.exitCode})${detail ? `: ${detail}` : ''}`,
  );
}

/**
 * Runs the dump in the pod and hands its stdout to `consume` as a stream that ends only once
 * the command has exited 0 and the dump's closing line arrived (DumpEndCheck): a non-zero
 * exit, a failed exec or a stream cut short errors the stream instead (even after bytes went
 * through), so the archive never records a dump that did not complete.
 */
export async function streamDump<T>(
  exec: DbExecutor,
  ds: Datasource,
  consume: (stream: AsyncIterable<Buffer>) => Promise<T>,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<T> {
  const what = `${ds.dbms === 'postgresql' ? 'pg_dump' : 'mysqldump'} of ${ds.schema}`;
  return withCredentials(exec, credentialsFor(ds), async (dir) => {
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    // Stops the exec when the caller is interrupted or the consumer gave up.
    const stop = new AbortController();
    const stopWatching = whenAborted(opts.signal, () => stop.abort());
    const end = new DumpEndCheck(ds.dbms === 'mysql' ? 'mysql' : 'postgresql');
    // Forwards with backpressure but does not end `out`: the exit status decides that.
    const sink = new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _enc, done) {
        opts.onBytes?.(chunk.length);
        end.see(chunk);
        if (out.destroyed) return done(new Error('the archive stopped reading the dump'));
        if (out.write(chunk)) return done();
        const onDrain = () => {
          out.off('close', onClose);
          done();
        };
        const onClose = () => {
          out.off('drain', onDrain);
          done(new Error('the archive stopped reading the dump'));
        };
        out.once('drain', onDrain);
        out.once('close', onClose);
      },
      final(done) {
        done();
      },
    });
    sink.on('error', () => stop.abort());
    const state = { commandFailed: false };
    const ran = exec
      .exec(dumpCommand(ds, dir, exec.kind === 'client-pod'), { stdout: sink, signal: stop.signal })
      .then(
        (r) => {
          if (r.exitCode !== 0) throw execFailure(what, exec.where, r);
          const cut = end.problem();
          if (cut) throw new OperationError(`${what} in ${exec.where}: ${cut}; ${CUT_HINT}`);
          out.end();
        },
        (err: unknown) => {
          throw err instanceof OperationError
            ? new OperationError(`${what}: ${err.message}`, { cause: err })
            : err;
        },
      )
      .catch((err: Error) => {
        state.commandFailed = !out.destroyed;
        out.destroy(err);
        throw err;
      })
      .finally(stopWatching);
    const consumed = consume(out).catch((err: unknown) => {
      stop.abort();
      throw err;
    });
    const [r, c] = await Promise.allSettled([ran, consumed]);
    // The first failure explains the other one (a failed command errors the consumer's
    // stream; a consumer that gave up stops the command).
    if (state.commandFailed && r.status === 'rejected') throw r.reason;
    if (c.status === 'rejected') throw c.reason;
    if (r.status === 'rejected') throw r.reason;
    return c.value;
  });
}
