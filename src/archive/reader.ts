import { createHash } from 'node:crypto';
import { openLocation, refName } from '../storage/resolve.js';
import type { ArchiveBlob, ArchiveRef } from '../storage/location.js';
import { UserError } from '../errors.js';
import { FORMAT_VERSION, FORMAT_VERSION_PATH, MANIFEST_PATH, parsePartPath } from './layout.js';
import { manifestProblem, type Manifest } from './manifest.js';
import { readTarMembers, TarFormatError } from './tar-reader.js';
import {
  classifyEncryptionError,
  isAgeHeader,
  type DecryptionKeys,
  type DecryptStream,
} from './encryption.js';
import { ArchiveError } from './errors.js';
import type { MemberLocation } from './random-access.js';

export interface EntryDigest {
  size: number;
  /** Absent when not computed: an age payload read whole, every chunk authenticated. */
  sha256?: string;
  parts: number;
}

export interface ReadOptions {
  /**
   * Leave out the sha256 of each entry when the archive is age-encrypted. Decrypting the whole
   * payload authenticates every 64 KiB chunk, its place and the end of the stream (age's
   * STREAM), so the plaintext is exactly what the writer sealed, and the manifest's sha256s
   * (computed by that writer over the same bytes) could only repeat it. Sizes and parts are
   * still checked. A plain archive is always hashed; `verify` hashes either.
   */
  authenticatedSuffices?: boolean;
}

export interface ReadResult {
  manifest: Manifest;
  encrypted: boolean;
  /** What was actually read, per logical entry path. */
  digests: Map<string, EntryDigest>;
  /** Where each logical entry's members (its parts, in order) sit in the tar stream. */
  locations: Map<string, MemberLocation[]>;
  /** Encrypted: the age header and payload nonce this read decrypted under. */
  payloadPrefix?: Buffer;
}

/** Called once per tar member of a logical entry, in archive order; must consume `body`. */
export type EntryVisitor = (
  path: string,
  part: number | undefined,
  body: AsyncIterable<Buffer>,
) => Promise<void>;

const SNIFF_BYTES = 4096;

/** How an archive starts: age-encrypted, our plain tar, or something else (an ArchiveError). */
export async function sniffArchive(ref: ArchiveRef): Promise<{ encrypted: boolean; head: Buffer }> {
  const blob = await openLocation(ref);
  try {
    return sniffHead(await blob.read(0, SNIFF_BYTES), refName(ref));
  } finally {
    await blob.close();
  }
}

/** The same, on the first bytes of an opened archive. */
export function sniffHead(head: Buffer, name: string): { encrypted: boolean; head: Buffer } {
  if (isAgeHeader(head)) return { encrypted: true, head };
  if (
    head.length >= 512 &&
    head.subarray(0, FORMAT_VERSION_PATH.length + 1).toString() === `${FORMAT_VERSION_PATH}\0`
  ) {
    return { encrypted: false, head };
  }
  throw new ArchiveError(
    'not-an-archive',
    `${name} is not a kubectl-entando archive (neither age-encrypted nor our tar layout)`,
  );
}

/**
 * Reads a whole archive once: decrypts, walks every member, hashes every logical entry and
 * hands members to `visit`. Ends with the manifest, checked for shape. Throws ArchiveError
 * with a problem kind the user can act on.
 */
export async function readArchive(
  ref: ArchiveRef,
  keys: DecryptionKeys,
  visit?: EntryVisitor,
  opts: ReadOptions = {},
): Promise<ReadResult> {
  const blob = await openLocation(ref);
  try {
    return await readBlob(blob, refName(ref), keys, visit, opts);
  } finally {
    await blob.close();
  }
}

async function readBlob(
  blob: ArchiveBlob,
  file: string,
  keys: DecryptionKeys,
  visit: EntryVisitor | undefined,
  opts: ReadOptions,
): Promise<ReadResult> {
  const { encrypted, head } = sniffHead(await blob.read(0, SNIFF_BYTES), file);
  const hashing = !(encrypted && opts.authenticatedSuffices);
  let decrypt: DecryptStream | undefined;
  if (encrypted) decrypt = await keys.decryptStream(head);
  const raw = blob.stream(0);
  const source = decrypt ? raw.pipe(decrypt) : raw;
  raw.on('error', (err) => source.destroy(err));

  const digests = new Map<string, EntryDigest>();
  const locations = new Map<string, MemberLocation[]>();
  let manifestBytes: Buffer | undefined;
  let first = true;
  try {
    for await (const member of readTarMembers(source)) {
      if (first) {
        first = false;
        if (member.name !== FORMAT_VERSION_PATH) {
          throw new ArchiveError(
            'not-an-archive',
            `${file} does not start with ${FORMAT_VERSION_PATH}`,
          );
        }
      }
      if (manifestBytes) {
        throw new ArchiveError('tampered', `member ${member.name} follows the manifest`);
      }
      if (member.name === MANIFEST_PATH) {
        manifestBytes = await collect(member.body);
        continue;
      }
      if (member.name === FORMAT_VERSION_PATH) {
        // Read first: an archive of a newer format is refused before the rest is read.
        const version = Number((await collect(member.body)).toString().trim());
        if (!Number.isInteger(version)) {
          throw new ArchiveError('tampered', `${file}: ${FORMAT_VERSION_PATH} is not a number`);
        }
        if (version > FORMAT_VERSION) {
          throw new ArchiveError(
            'unsupported',
            `${file}: archive format ${version} is newer than this tool supports (${FORMAT_VERSION}): upgrade kubectl-entando`,
          );
        }
        continue;
      }
      const part = parsePartPath(member.name);
      const entryPath = part?.path ?? member.name;
      if (!locations.has(entryPath)) locations.set(entryPath, []);
      locations.get(entryPath)!.push({ offset: member.offset, size: member.size });
      const body = countInto(digests, entryPath, part?.index, member.body, hashing);
      if (visit) await visit(entryPath, part?.index, body);
      for await (const piece of body) void piece; // whatever the visitor left
    }
  } catch (err) {
    raw.destroy();
    throw toArchiveError(err, file);
  }
  if (!manifestBytes) {
    throw new ArchiveError('truncated', `${file} is truncated: it ends before its manifest`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    throw new ArchiveError('tampered', `${file}: manifest.json is not valid JSON`);
  }
  const problem = manifestProblem(manifest);
  if (problem) throw new ArchiveError('unsupported', `${file}: ${problem}`);
  if (hashing) for (const digest of digests.values()) digest.sha256 = finish(digest);
  return {
    manifest: manifest as Manifest,
    encrypted,
    digests,
    locations,
    payloadPrefix: decrypt?.payloadPrefix,
  };
}

const hashes = new WeakMap<EntryDigest, ReturnType<typeof createHash>>();

/** Counts (and with `hashing`, hashes) what passes through into the entry's digest. */
function countInto(
  digests: Map<string, EntryDigest>,
  entryPath: string,
  part: number | undefined,
  body: AsyncIterable<Buffer>,
  hashing: boolean,
): AsyncIterable<Buffer> {
  let digest = digests.get(entryPath);
  if (!digest) {
    digest = { size: 0, parts: 0 };
    digests.set(entryPath, digest);
    if (hashing) hashes.set(digest, createHash('sha256'));
  }
  const expectedPart = digest.parts;
  if (part !== undefined && part !== expectedPart) {
    throw new ArchiveError('tampered', `part ${part + 1} of ${entryPath} is out of order`);
  }
  if (part !== undefined) digest.parts++;
  const hash = hashes.get(digest);
  const d = digest;
  const iterator = (async function* () {
    for await (const piece of body) {
      hash?.update(piece);
      d.size += piece.length;
      yield piece;
    }
  })();
  return iterator;
}

function finish(digest: EntryDigest): string {
  return hashes.get(digest)!.digest('hex');
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts);
}

function toArchiveError(err: unknown, file: string): Error {
  if (err instanceof ArchiveError || err instanceof UserError) return err;
  const crypto = classifyEncryptionError(err, file);
  if (crypto) return crypto;
  if (err instanceof TarFormatError) {
    return new ArchiveError(
      err.kind === 'truncated' ? 'truncated' : 'tampered',
      `${file} is ${err.kind === 'truncated' ? 'truncated' : 'damaged'}: ${err.message}`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
