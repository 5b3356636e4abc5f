import { PassThrough, type Readable } from 'node:stream';
import { createHash, type Hash } from 'node:crypto';
import { classifyEncryptionError, type DecryptionKeys } from './encryption.js';
import { ArchiveError } from './errors.js';
import type { ManifestEntry } from './manifest.js';
import { readArchive } from './reader.js';
import { ArchiveRanges, type MemberLocation } from './random-access.js';
import type { ArchiveRef } from '../storage/location.js';
import { refName } from '../storage/resolve.js';

class Done extends Error {}

/** The archive an entry is read from (a restore's LoadedArchive has these). */
export interface ArchiveSource {
  /** A local path or any location (an S3 object). */
  file: ArchiveRef;
  keys: DecryptionKeys;
  /** Where each entry's members are, learnt by a verifying pass; absent: a pass per entry. */
  locations?: Map<string, MemberLocation[]>;
  /**
   * Encrypted: the age header and payload nonce that verifying pass decrypted under. An entry
   * read at its locations under the same bytes is the plaintext that pass hashed (every chunk
   * read authenticates under that key at its index), so it is not hashed again; under other
   * bytes the archive changed since, and the read fails.
   */
  verifiedPrefix?: Buffer;
  /** Told of every piece read, for progress; `purpose` is what entryStream was asked for. */
  onBytes?: (entry: ManifestEntry, n: number, purpose: string) => void;
}

/**
 * One logical entry of an archive as a stream. With the entry's locations (learnt by the
 * verifying pass) only its own bytes are read (and, encrypted, only the chunks that hold them);
 * without, it takes its own pass over the file (decrypting and skipping the members before
 * it, stopping after its last part). The bytes are checked against the manifest's size and
 * sha256 at the end (the sha256 not when `verifiedPrefix` vouches for them): a mismatch errors
 * the stream.
 */
export function entryStream(
  archive: ArchiveSource,
  entry: ManifestEntry,
  purpose = 'read',
): Readable {
  const { file, keys, locations } = archive;
  // Object mode on the readable side: a reader gets each piece as it was read (a byte-mode
  // reader would get everything buffered concatenated, a copy per read); four ~64 KiB pieces.
  const out = new PassThrough({ readableObjectMode: true, readableHighWaterMark: 4 });
  // Made by the first piece's reader: none when the read needs no second check (see below).
  let hash: Hash | null | undefined;
  let bytes = 0;
  const forward = async (body: AsyncIterable<Buffer>, check: boolean) => {
    hash ??= check ? createHash('sha256') : null;
    for await (const piece of body) {
      if (out.destroyed) throw new Done();
      hash?.update(piece);
      bytes += piece.length;
      archive.onBytes?.(entry, piece.length, purpose);
      if (!out.write(piece)) await waitDrain(out);
    }
  };
  const checkAndEnd = () => {
    if (bytes !== entry.size || (hash && hash.digest('hex') !== entry.sha256)) {
      return out.destroy(
        new ArchiveError(
          'tampered',
          bytes !== entry.size
            ? `entry ${entry.path} has ${bytes} bytes, the manifest says ${entry.size}`
            : `entry ${entry.path} does not match its sha256 in the manifest`,
        ),
      );
    }
    out.end();
  };
  const where = locations?.get(entry.path);
  if (where) {
    readRanges(archive, where, forward).then(checkAndEnd, (err: unknown) => {
      if (!(err instanceof Done)) out.destroy(err as Error);
    });
    return out;
  }
  const expectedParts = entry.parts ?? 0;
  let partsSeen = 0;
  readArchive(file, keys, async (path, _part, body) => {
    if (path !== entry.path) return;
    await forward(body, true);
    partsSeen++;
    if (expectedParts === 0 || partsSeen === expectedParts) throw new Done();
  }).then(
    () =>
      out.destroy(
        new ArchiveError('tampered', `entry ${entry.path} not found in ${refName(file)}`),
      ),
    (err) => {
      if (!(err instanceof Done)) return out.destroy(err);
      checkAndEnd();
    },
  );
  return out;
}

async function readRanges(
  { file, keys, verifiedPrefix }: ArchiveSource,
  where: MemberLocation[],
  forward: (body: AsyncIterable<Buffer>, check: boolean) => Promise<void>,
): Promise<void> {
  let ranges: ArchiveRanges | undefined;
  try {
    ranges = await ArchiveRanges.open(file, keys);
    const prefix = ranges.payloadPrefix;
    const verified = prefix !== undefined && verifiedPrefix !== undefined;
    if (verified && !prefix.equals(verifiedPrefix)) {
      throw new ArchiveError(
        'tampered',
        `${refName(file)} changed since it was verified (its age header is not the same)`,
      );
    }
    await forward(ranges.readAll(where), !verified);
  } catch (err) {
    throw classifyEncryptionError(err, refName(file)) ?? err;
  } finally {
    await ranges?.close();
  }
}

function waitDrain(stream: PassThrough): Promise<void> {
  return new Promise((resolve, reject) => {
    // A reader that already went away never drains: stop reading the archive for it.
    if (stream.destroyed) return reject(new Done());
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Done());
    };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}
