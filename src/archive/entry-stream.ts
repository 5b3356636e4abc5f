import { PassThrough, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { DecryptionKeys } from './encryption.js';
import { ArchiveError } from './errors.js';
import type { ManifestEntry } from './manifest.js';
import { readArchive } from './reader.js';

class Done extends Error {}

/**
 * One logical entry of an archive as a stream, read in its own pass over the file (decrypting
 * and skipping the members before it, stopping after its last part). Several can be read at
 * once, each with its own pass: decryption runs far faster than any pod takes the bytes. The
 * bytes are checked against the manifest's sha256 at the end: a mismatch errors the stream.
 */
export function entryStream(file: string, keys: DecryptionKeys, entry: ManifestEntry): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const hash = createHash('sha256');
  const expectedParts = entry.parts ?? 0;
  let partsSeen = 0;
  readArchive(file, keys, async (path, _part, body) => {
    if (path !== entry.path) return;
    for await (const piece of body) {
      hash.update(piece);
      if (!out.write(piece)) await waitDrain(out);
    }
    partsSeen++;
    if (expectedParts === 0 || partsSeen === expectedParts) throw new Done();
  }).then(
    () => out.destroy(new ArchiveError('tampered', `entry ${entry.path} not found in ${file}`)),
    (err) => {
      if (!(err instanceof Done)) return out.destroy(err);
      if (hash.digest('hex') !== entry.sha256) {
        return out.destroy(
          new ArchiveError(
            'tampered',
            `entry ${entry.path} does not match its sha256 in the manifest`,
          ),
        );
      }
      out.end();
    },
  );
  return out;
}

function waitDrain(stream: PassThrough): Promise<void> {
  return new Promise((resolve, reject) => {
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
