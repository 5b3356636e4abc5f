/** The tar header check of a files tree, as the verifying pass and the files step share it. */
export interface TarCheckResult {
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** Bytes of file content (a sparse file's full size). */
  bytes: number;
  /** Files in GNU tar's sparse format 1.0 (holes kept): extracting them needs GNU tar. */
  sparse: number;
}

/** What the header check of one files tree found during the verifying pass. */
export interface HeaderCheckOutcome {
  /** The top-level directory checked against (the entry path's; the manifest's must match). */
  root: string;
  result?: TarCheckResult;
  error?: Error;
}
