import type { Readable } from 'node:stream';

/**
 * Where an archive lives: a local file or an object in an S3-compatible store. Commands and
 * the archive reader/writer only see these interfaces, so they never branch on the scheme.
 *
 * - An ArchiveSink is written in order and makes the archive appear, whole, only on commit();
 *   abort() (or any failure) leaves nothing that looks like a backup.
 * - An ArchiveBlob is read at chosen offsets (the random access of restore and list) or
 *   streamed once from an offset (verify).
 */
export interface ArchiveSink {
  /** Appends the buffers in order; once it resolves the caller may reuse them. */
  write(buffers: Buffer[]): Promise<void>;
  /** Flushes and makes the archive appear under its name; never replaces what is there. */
  commit(): Promise<void>;
  /** Drops what was written; safe to call more than once, and after a failed commit. */
  abort(): Promise<void>;
}

export interface ArchiveBlob {
  /** Size in bytes of the whole archive. */
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Buffer>;
  /** The bytes from `offset` to `end` (exclusive; default: the end), as one stream (one GET). */
  stream(offset?: number, end?: number): Readable;
  close(): Promise<void>;
}

export interface ArchiveLocation {
  /** As the user wrote it (a path or s3://bucket/key): for messages and reports. */
  readonly name: string;
  /** Starts writing a new archive; a UserError when something is already there. */
  create(): Promise<ArchiveSink>;
  /** Opens for reading; ArchiveError 'not-found' when there is nothing. */
  open(): Promise<ArchiveBlob>;
  /** Where `name` goes when this names a folder (a directory, a prefix ending in /); else this. */
  named(name: string): ArchiveLocation;
}

/** One archive-looking file or object found in a folder (directory or bucket prefix). */
export interface StoredArchive {
  location: ArchiveLocation;
  size: number;
  modified: Date;
}

/** A directory or an S3 prefix holding archives: what list and prune work on. */
export interface ArchiveFolder {
  readonly name: string;
  /** Files/objects directly in the folder, by name; not recursive. */
  list(): Promise<StoredArchive[]>;
  remove(archive: StoredArchive): Promise<void>;
}

/** What the reader functions accept: a path (a local file) or any location. */
export type ArchiveRef = string | ArchiveLocation;

/** Names of archive files: what list and prune look at in a folder. */
export function looksLikeArchiveName(name: string): boolean {
  return /\.tar(\.age)?$/.test(name);
}

/**
 * Why a backup may not be written under `name` (a path or s3:// URL naming one archive), or
 * undefined. list and prune find archives by their ending: under any other name a backup would
 * be invisible to them and kept forever by every retention.
 */
export function archiveNameProblem(name: string, encrypted: boolean): string | undefined {
  if (looksLikeArchiveName(name)) return undefined;
  const fix = `${name}${encrypted ? '.tar.age' : '.tar'}`;
  return `${name}: an archive's name ends in .tar.age (encrypted) or .tar (--no-encrypt), which list and prune look for: name it ${fix}, or end the name with / to write the default name into that folder`;
}
