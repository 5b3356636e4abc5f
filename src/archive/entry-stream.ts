import { PassThrough, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';
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
  /** Told of every piece read, for progress; `purpose` is what entryStream was asked for. */
  onBytes?: (entry: ManifestEntry, n: number, purpose: string) => void;
}

/**
 * One logical entry of an archive as a stream. With the entry's locations (learnt by the
 * verifying pass) only its own bytes are read (and, encrypted, only the chunks that hold them);
 * without, it takes its own pass over the file (decrypting and skipping the members before
 * it, stopping after its last part). The bytes are checked against the manifest's sha256 at the
 * end: a mismatch errors the stream.
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
  const hash = createHash('sha256');
  const forward = async (body: AsyncIterable<Buffer>) => {
    for await (const piece of body) {
      if (out.destroyed) throw new Done();
      hash.update(piece);
      archive.onBytes?.(entry, piece.length, purpose);
      if (!out.write(piece)) await waitDrain(out);
    }
  };
  const checkAndEnd = () => {
    if (hash.digest('hex') !== entry.sha256) {
      return out.destroy(
        new ArchiveError(
          'tampered',
          `entry ${entry.path} does not match its sha256 in the manifest`,
        ),
      );
    }
    out.end();
  };
  const where = locations?.get(entry.path);
  if (where) {
    readRanges(file, keys, where, forward).then(checkAndEnd, (err: unknown) => {
      if (!(err instanceof Done)) out.destroy(err as Error);
    });
    return out;
  }
  const expectedParts = entry.parts ?? 0;
  let partsSeen = 0;
  readArchive(file, keys, async (path, _part, body) => {
    if (path !== entry.path) return;
    await forward(body);
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
  file: ArchiveRef,
  keys: DecryptionKeys,
  where: MemberLocation[],
  forward: (body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  let ranges: ArchiveRanges | undefined;
  try {
    ranges = await ArchiveRanges.open(file, keys);
    await forward(ranges.readAll(where));
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
