import type { Writable } from 'node:stream';
import { StreamProgress, type ProgressChoice } from './progress.js';

export type OutputFormat = 'text' | 'json';

/**
 * Where a command writes: results to stdout (text or json), progress and warnings to stderr.
 * Progress is shown only on a terminal and never with --quiet, so piped output stays parseable.
 */
export class Output {
  constructor(
    readonly stdout: Writable & { isTTY?: boolean },
    readonly stderr: Writable & { isTTY?: boolean },
    readonly format: OutputFormat,
    readonly quiet: boolean,
    readonly verbosity: number,
    readonly progressChoice: ProgressChoice = 'auto',
  ) {}

  private bars?: StreamProgress;

  /**
   * The byte progress of a backup or restore (--progress); while it draws bars, messages and
   * warnings are printed above them. Stop it when done.
   */
  streamProgress(): StreamProgress {
    this.bars = StreamProgress.for(this.progressChoice, this.stderr, this.quiet);
    return this.bars;
  }

  private line(text: string): void {
    if (this.bars?.drawing || this.bars?.mode === 'json') this.bars.log(text);
    else this.stderr.write(`${text}\n`);
  }

  /** The command's result: JSON document, or text lines. */
  result(text: string | string[], json: unknown): void {
    if (this.format === 'json') {
      this.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return;
    }
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length > 0) this.stdout.write(`${lines.join('\n')}\n`);
  }

  /** A progress line for people watching a terminal. */
  progress(message: string): void {
    if (this.quiet || !this.stderr.isTTY) return;
    this.line(message);
  }

  /** Detail shown with -v. */
  debug(message: string): void {
    if (this.verbosity > 0) this.line(message);
  }

  warn(message: string): void {
    if (!this.quiet) this.line(`warning: ${message}`);
  }
}
