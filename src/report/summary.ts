import { formatBytes, formatDuration, formatRate } from './progress.js';

/** How the archive was keyed, and so what its restore needs. */
export type KeyKind = 'recipients' | 'passphrase' | 'none';

export function keyKindOf(description: string | undefined): KeyKind {
  if (!description || description === 'none') return 'none';
  return description.startsWith('passphrase') ? 'passphrase' : 'recipients';
}

/** A word a shell keeps as one argument. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The restore to run next: the archive, the key flag it needs, the target to fill in. */
export function nextRestoreCommand(file: string, keys: KeyKind, namespace: string): string {
  const key =
    keys === 'recipients'
      ? ' -i AGE-IDENTITY-FILE'
      : keys === 'passphrase'
        ? ' --passphrase-file PASSPHRASE-FILE'
        : '';
  return `kubectl entando restore ${shellQuote(file)}${key} --to-context TARGET-CONTEXT --to-namespace ${shellQuote(namespace)} --dry-run`;
}

export interface RunFigures {
  seconds: number;
  bytes: number;
  bytesPerSecond: number;
  warnings: number;
}

export function runFigures(startedMs: number, bytes: number, warnings: number): RunFigures {
  const seconds = Math.max((Date.now() - startedMs) / 1000, 0.001);
  return { seconds, bytes, bytesPerSecond: bytes / seconds, warnings };
}

/** "took 1 min 02 s, 1.0 GiB at 17.3 MB/s, 1 warning". */
export function figuresLine(f: RunFigures): string {
  return `took ${formatDuration(f.seconds)}, ${formatBytes(f.bytes)} at ${formatRate(f.bytesPerSecond)}, ${f.warnings} warning${f.warnings === 1 ? '' : 's'}`;
}
