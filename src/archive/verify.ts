import type { ArchiveRef } from '../storage/location.js';
import type { DecryptionKeys } from './encryption.js';
import { ArchiveError } from './errors.js';
import type { Manifest } from './manifest.js';
import {
  readArchive,
  type EntryDigest,
  type EntryVisitor,
  type ReadOptions,
  type ReadResult,
} from './reader.js';

/**
 * Compares what was read with what the manifest promises, in manifest order, and names the
 * first entry that differs. Missing and unexpected entries count as tampering.
 */
export function checkDigests(manifest: Manifest, digests: Map<string, EntryDigest>): void {
  const listed = new Set<string>();
  for (const entry of manifest.entries) {
    listed.add(entry.path);
    const got = digests.get(entry.path);
    if (!got)
      throw new ArchiveError(
        'tampered',
        `entry ${entry.path} is listed in the manifest but missing`,
      );
    if (got.size !== entry.size) {
      throw new ArchiveError(
        'tampered',
        `entry ${entry.path} has ${got.size} bytes, the manifest says ${entry.size}`,
      );
    }
    if (got.sha256 !== undefined && got.sha256 !== entry.sha256) {
      throw new ArchiveError(
        'tampered',
        `entry ${entry.path} does not match its sha256 in the manifest`,
      );
    }
    if ((entry.parts ?? 0) !== got.parts) {
      throw new ArchiveError(
        'tampered',
        `entry ${entry.path} has ${got.parts} parts, the manifest says ${entry.parts ?? 0}`,
      );
    }
  }
  for (const path of digests.keys()) {
    if (!listed.has(path))
      throw new ArchiveError('tampered', `entry ${path} is not listed in the manifest`);
  }
}

/** Reads the whole archive, decrypting and hashing every entry (see ReadOptions), and checks it. */
export async function verifyArchive(
  file: ArchiveRef,
  keys: DecryptionKeys,
  visit?: EntryVisitor,
  opts: ReadOptions = {},
): Promise<ReadResult> {
  const result = await readArchive(file, keys, visit, opts);
  checkDigests(result.manifest, result.digests);
  return result;
}
