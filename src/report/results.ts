/** A problem found while working, attached to what it concerns ("Secret ns/x", "archive"). */
export interface Finding {
  where: string;
  message: string;
}

/**
 * Per-object problems are collected, not thrown: a run goes on and reports them all together
 * (warnings keep the exit code 0, errors make it 1).
 */
export class Results {
  readonly warnings: Finding[] = [];
  readonly errors: Finding[] = [];

  warn(where: string, message: string): void {
    this.warnings.push({ where, message });
  }

  error(where: string, message: string): void {
    this.errors.push({ where, message });
  }

  get ok(): boolean {
    return this.errors.length === 0;
  }
}

export function formatFinding(f: Finding): string {
  return `${f.where}: ${f.message}`;
}
