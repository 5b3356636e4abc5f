/**
 * Progress of a realm export or import by users: the side server's script counts Keycloak's log
 * lines (`Users a-b exported`, `Imported users from <file>`) and prints `KCPROGRESS <users>` on
 * its stdout as they grow; these lines become a progress line now and then with the realm's size
 * and the time left, estimated from the rate so far.
 */
import { Writable } from 'node:stream';

export const PROGRESS_LINE = /^KCPROGRESS (\d+)$/;

/** At most one progress line per this many milliseconds. */
const EVERY_MS = 10_000;

export class UserMeter {
  private total = 0;
  private firstAt?: number;
  private firstDone = 0;
  private lastSaid = 0;

  constructor(
    /** e.g. "keycloak: realm entando" */
    private readonly label: string,
    /** "exported" or "imported" */
    private readonly verb: string,
    private readonly say?: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The users the run will go through (known before it, or counted as they are sent). */
  expect(users: number): void {
    this.total = users;
  }

  /** One more user sent to an import. */
  sent(): void {
    this.total++;
  }

  /** `done` users so far (as the side server counted). */
  update(done: number): void {
    const t = this.now();
    if (this.firstAt === undefined) {
      this.firstAt = t;
      this.firstDone = done;
      this.lastSaid = t;
      return;
    }
    if (!this.say || t - this.lastSaid < EVERY_MS) return;
    this.lastSaid = t;
    this.say(this.line(Math.min(done, this.total), t));
  }

  line(done: number, t: number): string {
    const of = this.total > 0 ? ` of ${fmt(this.total)}` : '';
    const pct = this.total > 0 ? ` (${Math.floor((100 * done) / this.total)}%)` : '';
    const rate = (done - this.firstDone) / Math.max(1, t - this.firstAt!);
    const left =
      this.total > 0 && rate > 0 ? `, about ${duration((this.total - done) / rate)} left` : '';
    return `${this.label}: ${fmt(done)}${of} users ${this.verb}${pct}${left}`;
  }

  /** A sink for the script's stdout that reads its KCPROGRESS lines (and ignores the rest). */
  stdout(): Writable {
    let pending = '';
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) {
          const m = PROGRESS_LINE.exec(l);
          if (m) this.update(Number(m[1]));
        }
        done();
      },
    });
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 90) return `${s} s`;
  return `${Math.round(s / 60)} min`;
}
