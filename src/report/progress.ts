import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';

/**
 * How progress is shown on stderr. bars: redrawn in place (a terminal); plain: a line now and
 * then; json: one JSON object per line (for CI and runbooks); none.
 */
export type ProgressMode = 'bars' | 'plain' | 'json' | 'none';
/** --progress: auto is bars on a terminal, plain heartbeat lines otherwise. */
export type ProgressChoice = 'auto' | ProgressMode;

interface StreamState {
  bytes: number;
  /** Estimated size; undefined when unknown (no percent, no time left for it). */
  estimate?: number;
  started?: number;
  ended?: number;
  bar?: cliProgress.SingleBar;
  lastEvent?: number;
}

type Err = (Writable & { isTTY?: boolean; columns?: number }) | undefined;

export interface ProgressOptions {
  /** plain: milliseconds between lines, and before the first one. */
  intervalMs?: number;
  firstAfterMs?: number;
  /** plain: a line per finished stream as well. */
  perStream?: boolean;
}

/** Plain lines piped into a log: a heartbeat every 30 s of a long run, silent for short ones. */
const HEARTBEAT: ProgressOptions = { intervalMs: 30_000, firstAfterMs: 30_000, perStream: false };
const PLAIN: ProgressOptions = { intervalMs: 5_000, firstAfterMs: 0, perStream: true };

export function progressMode(choice: ProgressChoice, stderr: Err, quiet: boolean): ProgressMode {
  if (choice === 'auto') return quiet ? 'none' : stderr?.isTTY ? 'bars' : 'plain';
  if (quiet && choice !== 'json') return 'none';
  return choice;
}

/**
 * Bytes per stream (a schema dump, a file tree, a realm) against an estimate made before it
 * started, and overall: percent, rate, time left. A stream larger than its estimate keeps
 * counting (its percent stops at 99 and its time left becomes unknown until it ends).
 */
export class StreamProgress {
  private readonly streams = new Map<string, StreamState>();
  private readonly started = Date.now();
  private firstByte?: number;
  private multibar?: cliProgress.MultiBar;
  private totalBar?: cliProgress.SingleBar;
  private lastLine = 0;
  private lastTotalEvent = 0;
  private stopped = false;
  private readonly options: ProgressOptions;

  constructor(
    private readonly stderr: Err,
    readonly mode: ProgressMode = stderr?.isTTY ? 'bars' : 'none',
    options?: ProgressOptions,
  ) {
    this.options = options ?? (stderr?.isTTY ? PLAIN : HEARTBEAT);
  }

  static silent(): StreamProgress {
    return new StreamProgress(undefined, 'none');
  }

  /** The progress for `choice` (auto: bars on a terminal, heartbeat lines when piped). */
  static for(choice: ProgressChoice, stderr: Err, quiet: boolean): StreamProgress {
    const mode = progressMode(choice, stderr, quiet);
    return new StreamProgress(stderr, mode, choice === 'plain' ? PLAIN : HEARTBEAT);
  }

  /** Declares a stream and its estimated size (undefined: unknown) before it starts. */
  expect(name: string, estimate: number | undefined): void {
    const s = this.state(name);
    s.estimate = estimate;
    this.event({ type: 'stream', stream: name, estimate: estimate ?? null });
  }

  /** Counts `n` more bytes for `name`. */
  add(name: string, n: number): void {
    const s = this.state(name);
    const now = Date.now();
    s.started ??= now;
    this.firstByte ??= now;
    s.bytes += n;
    this.render(name, s, now);
  }

  finish(name: string): void {
    const s = this.state(name);
    const now = Date.now();
    s.started ??= now;
    s.ended = now;
    this.render(name, s, now, true);
  }

  /** Totals per stream, for reports and benchmarks. */
  totals(): Record<string, { bytes: number; seconds: number }> {
    const out: Record<string, { bytes: number; seconds: number }> = {};
    for (const [name, s] of this.streams) {
      out[name] = {
        bytes: s.bytes,
        seconds: ((s.ended ?? Date.now()) - (s.started ?? this.started)) / 1000,
      };
    }
    return out;
  }

  /** Overall figures now. */
  overall(now = Date.now()) {
    let bytes = 0;
    let total = 0;
    let known = true;
    let open = 0;
    for (const s of this.streams.values()) {
      if (s.ended === undefined) open++;
      bytes += s.bytes;
      if (s.ended !== undefined) total += s.bytes;
      else if (s.estimate === undefined) {
        known = false;
        total += s.bytes;
      } else total += Math.max(s.estimate, s.bytes);
    }
    const ended = open === 0 && this.streams.size > 0;
    return { bytes, ...figures(bytes, known ? total : undefined, this.firstByte, now, ended) };
  }

  /** A line printed above the bars (or as is when there are none). */
  log(line: string): void {
    if (this.mode === 'json') return this.event({ type: 'message', message: line }, true);
    if (this.drawing) this.multibar!.log(`${line}\n`);
    else this.stderr?.write(`${line}\n`);
  }

  get drawing(): boolean {
    return this.multibar !== undefined && !this.stopped;
  }

  /** Final redraw; stops the bars' timer (always call it, on errors too). */
  stop(): void {
    if (this.stopped) return;
    // Streams that never started (a skipped step) leave the totals.
    for (const [name, s] of this.streams)
      if (s.started === undefined && !s.bar) this.streams.delete(name);
    if (this.multibar) {
      this.updateTotal(Date.now());
      // Flushes lines logged since the last redraw (stop() alone would drop them).
      this.multibar.update();
      this.multibar.stop();
    }
    if (this.mode === 'json' && this.streams.size > 0) {
      const o = this.overall();
      this.event({ type: 'end', bytes: o.bytes, seconds: (Date.now() - this.started) / 1000 });
    }
    this.stopped = true;
  }

  private nameWidth(): number {
    return Math.min(60, Math.max(5, ...[...this.streams.keys()].map((n) => n.length)));
  }

  private state(name: string): StreamState {
    let s = this.streams.get(name);
    if (!s) {
      s = { bytes: 0 };
      this.streams.set(name, s);
    }
    return s;
  }

  private render(name: string, s: StreamState, now: number, done = false): void {
    if (this.stopped) return;
    if (this.mode === 'bars') return this.renderBar(name, s, now);
    if (this.mode === 'json') return this.renderEvent(name, s, now, done);
    if (this.mode === 'plain') return this.renderPlain(name, s, now, done);
  }

  private renderBar(name: string, s: StreamState, now: number): void {
    if (!this.multibar) {
      this.multibar = new cliProgress.MultiBar(
        {
          stream: this.stderr,
          format: (options, params, payload: { line: string }) =>
            `${cliProgress.Format.BarFormat(params.progress, options)} ${payload.line}`,
          ...BAR_OPTIONS,
          hideCursor: false,
          clearOnComplete: false,
          stopOnComplete: false,
          fps: 4,
          gracefulExit: false,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      );
      // The block is redrawn from its top: clear it first, so logged lines and bars that left
      // leave nothing behind (cli-progress clears only the first line).
      const internals = this.multibar as unknown as MultiBarInternals;
      this.multibar.on('redraw-pre', () => internals.terminal.clearBottom());
      this.totalBar = this.multibar.create(1, 0, { line: '' });
    }
    const f = figures(s.bytes, s.estimate, s.started, s.ended ?? now, s.ended !== undefined);
    if (s.ended !== undefined) {
      // A finished stream leaves the block as one line above it: the block stays small.
      const bars = (this.multibar as unknown as MultiBarInternals).bars;
      if (s.bar) bars.splice(bars.indexOf(s.bar), 1);
      s.bar = undefined;
      this.multibar.log(
        `${'█'.repeat(BAR_OPTIONS.barsize)} ${describe(name, s.bytes, f, this.nameWidth())}\n`,
      );
      this.updateTotal(now);
      return;
    }
    if (!s.bar) s.bar = this.multibar.create(1, 0, { line: '' });
    s.bar.setTotal(Math.max(1, f.total ?? s.bytes));
    s.bar.update(f.fraction * Math.max(1, f.total ?? s.bytes), {
      line: describe(name, s.bytes, f),
    });
    this.updateTotal(now);
  }

  private updateTotal(now: number): void {
    if (!this.totalBar) return;
    const o = this.overall(now);
    const total = Math.max(1, o.total ?? o.bytes);
    this.totalBar.setTotal(total);
    this.totalBar.update(o.fraction * total, {
      line: describe('total', o.bytes, o, this.nameWidth()),
    });
  }

  private renderEvent(name: string, s: StreamState, now: number, done: boolean): void {
    if (done) {
      const seconds = ((s.ended ?? now) - (s.started ?? now)) / 1000;
      this.event({ type: 'done', stream: name, bytes: s.bytes, seconds });
      return;
    }
    if (s.lastEvent !== undefined && now - s.lastEvent < 1000) return;
    s.lastEvent = now;
    const f = figures(s.bytes, s.estimate, s.started, now, false);
    this.event({ type: 'progress', stream: name, bytes: s.bytes, ...eventFigures(f) });
    if (now - this.lastTotalEvent >= 1000) {
      this.lastTotalEvent = now;
      const o = this.overall(now);
      this.event({ type: 'total', bytes: o.bytes, ...eventFigures(o) });
    }
  }

  private renderPlain(name: string, s: StreamState, now: number, done: boolean): void {
    if (done && this.options.perStream) {
      const f = figures(s.bytes, s.estimate, s.started, s.ended ?? now, true);
      this.stderr?.write(
        `done ${name}: ${formatBytes(s.bytes)} in ${f.seconds.toFixed(1)} s (${formatRate(f.rate)})\n`,
      );
    }
    const since = now - (this.lastLine || this.started);
    const wait = this.lastLine ? this.options.intervalMs! : this.options.firstAfterMs!;
    if (since < wait) return;
    this.lastLine = now;
    const o = this.overall(now);
    this.stderr?.write(`progress: ${describe('total', o.bytes, o)}\n`);
  }

  /** One JSON line (json mode); after stop() only messages (warnings) still go out. */
  private event(e: Record<string, unknown>, always = false): void {
    if (this.mode !== 'json' || (this.stopped && !always)) return;
    this.stderr?.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  }
}

/** What of cli-progress's MultiBar is used beyond its typings. */
interface MultiBarInternals {
  bars: cliProgress.SingleBar[];
  terminal: { clearBottom(): void };
}

const BAR_OPTIONS = {
  barsize: 20,
  barCompleteChar: cliProgress.Presets.shades_classic.barCompleteChar,
  barIncompleteChar: cliProgress.Presets.shades_classic.barIncompleteChar,
};

interface Figures {
  total?: number;
  /** 0..1, below 1 until the stream ended. */
  fraction: number;
  percent?: number;
  rate: number;
  seconds: number;
  etaSeconds?: number;
  exceeded: boolean;
}

function figures(
  bytes: number,
  estimate: number | undefined,
  started: number | undefined,
  now: number,
  ended: boolean,
): Figures {
  const seconds = started === undefined ? 0 : Math.max((now - started) / 1000, 0.001);
  const rate = seconds > 0 ? bytes / seconds : 0;
  if (ended)
    return {
      total: bytes,
      fraction: 1,
      percent: 100,
      rate,
      seconds,
      etaSeconds: 0,
      exceeded: false,
    };
  if (estimate === undefined || estimate <= 0) {
    return { fraction: 0, rate, seconds, exceeded: false };
  }
  const exceeded = bytes >= estimate;
  const fraction = Math.min(bytes / estimate, 0.99);
  return {
    total: estimate,
    fraction,
    percent: Math.floor(fraction * 100),
    rate,
    seconds,
    etaSeconds: exceeded || rate <= 0 ? undefined : (estimate - bytes) / rate,
    exceeded,
  };
}

function eventFigures(f: Figures) {
  return {
    estimate: f.total ?? null,
    percent: f.percent ?? null,
    rate: Math.round(f.rate),
    etaSeconds: f.etaSeconds === undefined ? null : Math.round(f.etaSeconds),
  };
}

/** "files qs main/resources  512.0 MiB / ~1.0 GiB  50%  40.1 MB/s  12 s left". */
function describe(name: string, bytes: number, f: Figures, width = 44): string {
  const size =
    f.total === undefined || f.percent === 100
      ? formatBytes(bytes)
      : `${formatBytes(bytes)} / ${f.exceeded ? '>' : '~'}${formatBytes(f.exceeded ? bytes : f.total)}`;
  const percent = f.percent === undefined ? '' : `${f.percent}%`;
  const eta =
    f.percent === 100
      ? 'done'
      : f.etaSeconds === undefined
        ? f.total === undefined
          ? ''
          : 'time left unknown'
        : `${formatDuration(f.etaSeconds)} left`;
  return [
    name.padEnd(width),
    size.padStart(22),
    percent.padStart(4),
    formatRate(f.rate).padStart(11),
    eta,
  ]
    .join('  ')
    .trimEnd();
}

export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
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
