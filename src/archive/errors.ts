/** Why an archive could not be read: each has its own message and the CLI exits non-zero. */
export type ArchiveProblem =
  | 'not-found'
  | 'not-an-archive'
  | 'no-key'
  | 'wrong-key'
  | 'truncated'
  | 'tampered'
  | 'unsupported';

export class ArchiveError extends Error {
  constructor(
    readonly problem: ArchiveProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }

  /** Problems the user fixes by pointing at another file or key, or by upgrading: exit 2, not 1. */
  get isUserInput(): boolean {
    return ['not-found', 'not-an-archive', 'no-key', 'wrong-key', 'unsupported'].includes(
      this.problem,
    );
  }
}
