import { latin1Tail } from '../../util/tail.js';

/**
 * Whether a dump arrived whole: pg_dump's plain format ends with `-- PostgreSQL database dump
 * complete` (then `--`, blank lines and, since the minor releases of August 2025: 17.6, 16.10,
 * 15.14..., `\unrestrict KEY`); mysqldump and mariadb-dump end with `-- Dump completed` (`on
 * DATE` unless --skip-dump-date). `kubectl exec` can end a command's stdout early with exit
 * code 0 (kubernetes/kubernetes#124571): the dump's own last line is what tells a whole dump
 * from a cut one.
 */
const TAIL_BYTES = 1024;
const COMPLETE: Record<'postgresql' | 'mysql', { line: string; after: RegExp }> = {
  postgresql: {
    line: '-- PostgreSQL database dump complete\n',
    after: /^(?:--\n|\n|\\unrestrict [A-Za-z0-9]+\n)*$/,
  },
  mysql: { line: '-- Dump completed', after: /^(?: on [^\n]*)?\n\s*$/ },
};

export class DumpEndCheck {
  /** The last bytes seen, one char per byte (latin1: never re-encoded). */
  private tail = '';
  private bytes = 0;

  constructor(private readonly dbms: 'postgresql' | 'mysql') {}

  see(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.tail = latin1Tail(this.tail, chunk, TAIL_BYTES);
  }

  /** Why the dump is not whole, or undefined when its closing line is there. */
  problem(): string | undefined {
    const { line, after } = COMPLETE[this.dbms];
    const at = this.tail.lastIndexOf(line);
    if (at >= 0 && after.test(this.tail.slice(at + line.length))) return undefined;
    return `the dump ends without its closing "${line.trim()}" line (after ${this.bytes} bytes)`;
  }
}
