/**
 * Exit codes and the two kinds of failure the CLI distinguishes.
 *
 * 0  success
 * 1  failure or partial failure (something went wrong while working)
 * 2  usage or user error (bad flags, bad input, refused precondition)
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake the user can fix: printed as one line, exit code 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Work that failed after it started (cluster refused, stream broke): exit code 1. */
export class OperationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperationError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
