import type { ArchiveRef } from '../storage/location.js';
import { refName } from '../storage/resolve.js';
import { classifyEncryptionError, type DecryptionKeys } from './encryption.js';
import { ArchiveError } from './errors.js';
import { FORMAT_VERSION_PATH, MANIFEST_PATH } from './layout.js';
import { manifestProblem, type Manifest } from './manifest.js';
import { ArchiveRanges } from './random-access.js';
import { END_OF_ARCHIVE } from './tar-member.js';
import { readTarMembers } from './tar-reader.js';

const BLOCK = 512;
/** First look at the last 64 KiB; a larger manifest makes the window grow 8-fold. */
const FIRST_WINDOW = 64 * 1024;

export interface ManifestRead {
  manifest: Manifest;
  encrypted: boolean;
}

/**
 * The manifest of an archive without reading the archive: it is the last member, right before
 * the end-of-archive blocks, so only the tail is read (ranged reads; encrypted, only the age
 * chunks holding it, plus the first one to check the archive starts as ours). Checks shape,
 * not the entries' checksums: that is verify's job.
 */
export async function readManifest(ref: ArchiveRef, keys: DecryptionKeys): Promise<ManifestRead> {
  const name = refName(ref);
  let ranges: ArchiveRanges | undefined;
  try {
    ranges = await ArchiveRanges.open(ref, keys);
    const first = await gather(ranges, 0, Math.min(BLOCK, ranges.size));
    if (
      first.subarray(0, FORMAT_VERSION_PATH.length + 1).toString() !== `${FORMAT_VERSION_PATH}\0`
    ) {
      throw new ArchiveError(
        'not-an-archive',
        `${name} does not start with ${FORMAT_VERSION_PATH}`,
      );
    }
    const bytes = await findManifest(ranges, name);
    let manifest: unknown;
    try {
      manifest = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ArchiveError('tampered', `${name}: manifest.json is not valid JSON`);
    }
    const problem = manifestProblem(manifest);
    if (problem) throw new ArchiveError('unsupported', `${name}: ${problem}`);
    return { manifest: manifest as Manifest, encrypted: ranges.encrypted };
  } catch (err) {
    throw classifyEncryptionError(err, name) ?? err;
  } finally {
    await ranges?.close();
  }
}

async function findManifest(ranges: ArchiveRanges, name: string): Promise<Buffer> {
  const end = ranges.size - END_OF_ARCHIVE.length;
  if (end < BLOCK || ranges.size % BLOCK !== 0) {
    throw new ArchiveError('truncated', `${name} is truncated: it does not end as a tar archive`);
  }
  for (let window = FIRST_WINDOW; ; window *= 8) {
    const start = Math.max(0, Math.floor((end - window) / BLOCK) * BLOCK);
    const tail = await gather(ranges, start, ranges.size - start);
    if (!tail.subarray(end - start).every((b) => b === 0)) {
      throw new ArchiveError('truncated', `${name} is truncated: no end-of-archive marker`);
    }
    // The manifest's header is the last block-aligned one named manifest.json that ends,
    // with its data and padding, exactly at the end-of-archive marker.
    for (let at = end - start - BLOCK; at >= 0; at -= BLOCK) {
      if (tail.subarray(at, at + MANIFEST_PATH.length + 1).toString() !== `${MANIFEST_PATH}\0`) {
        continue;
      }
      const found = await manifestAt(tail.subarray(at));
      if (found) return found;
    }
    if (start === 0) {
      throw new ArchiveError('truncated', `${name} is truncated: it ends before its manifest`);
    }
  }
}

/** The manifest's bytes if `blocks` is exactly its member and the end-of-archive marker. */
async function manifestAt(blocks: Buffer): Promise<Buffer | undefined> {
  try {
    let body: Buffer | undefined;
    for await (const member of readTarMembers(once(blocks))) {
      if (body || member.name !== MANIFEST_PATH) return undefined;
      const pieces: Buffer[] = [];
      for await (const p of member.body) pieces.push(p);
      body = Buffer.concat(pieces);
    }
    return body;
  } catch {
    return undefined; // not a header after all (data that looks like one)
  }
}

async function gather(ranges: ArchiveRanges, offset: number, size: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const p of ranges.read(offset, size)) pieces.push(p);
  return Buffer.concat(pieces);
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}
