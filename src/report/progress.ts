import type { Writable } from 'node:stream';

interface StreamState {
  bytes: number;
  started: number;
  done: boolean;
}

/**
 * Bytes and rate per stream (a schema dump, a file tree), redrawn on a terminal at most four
 * times a second; silent when stderr is not a terminal or with --quiet, so pipes stay clean.
 */
export class StreamProgress {
  private readonly streams = new Map<string, StreamState>();
  private lastDraw = 0;
  private drawnLines = 0;

  constructor(private readonly stderr: (Writable & { isTTY?: boolean }) | undefined) {}

  static silent(): StreamProgress {
    return new StreamProgress(undefined);
  }

  /** Counts `n` more bytes for `name`. */
  add(name: string, n: number): void {
    let s = this.streams.get(name);
    if (!s) {
      s = { bytes: 0, started: Date.now(), done: false };
      this.streams.set(name, s);
    }
    s.bytes += n;
    this.draw(false);
  }

  finish(name: string): void {
    const s = this.streams.get(name);
    if (s) s.done = true;
    this.draw(true);
  }

  /** Totals per stream, for reports and benchmarks. */
  totals(): Record<string, { bytes: number; seconds: number }> {
    const out: Record<string, { bytes: number; seconds: number }> = {};
    for (const [name, s] of this.streams)
      out[name] = { bytes: s.bytes, seconds: (Date.now() - s.started) / 1000 };
    return out;
  }

  private draw(force: boolean): void {
    if (!this.stderr?.isTTY) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 250) return;
    this.lastDraw = now;
    const lines = [...this.streams].map(([name, s]) => {
      const seconds = Math.max((now - s.started) / 1000, 0.001);
      const rate = s.bytes / seconds / 1e6;
      return `  ${s.done ? 'done' : '... '} ${name.padEnd(40)} ${formatBytes(s.bytes).padStart(10)} ${rate.toFixed(1).padStart(7)} MB/s`;
    });
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    this.stderr.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
