import { decryptionKeys, encryptionKeys } from '../../src/archive/encryption.js';
import type { ManifestEntry } from '../../src/archive/manifest.js';
import { readArchive } from '../../src/archive/reader.js';
import { ArchiveWriter } from '../../src/archive/writer.js';

/**
 * A copy of an archive with one entry changed by `edit` and its manifest otherwise kept (the
 * components' summaries, counts included): damage that checksums cannot see, as an export that
 * lost data would be. Entries are held in memory: for the sandbox's small archives.
 */
export async function rewriteArchive(
  from: string,
  to: string,
  keyFile: string,
  recipient: string,
  edit: (path: string, data: Buffer) => Buffer,
): Promise<void> {
  const bodies = new Map<string, Buffer[]>();
  const { manifest } = await readArchive(
    from,
    decryptionKeys({ identity: [keyFile] }, { env: {} }),
    async (path, _part, body) => {
      const chunks = bodies.get(path) ?? [];
      for await (const c of body) chunks.push(c);
      bodies.set(path, chunks);
    },
  );
  const keys = await encryptionKeys({ recipient: [recipient] }, { env: {} });
  const entries: ManifestEntry[] = manifest.entries;
  const writer = await ArchiveWriter.open(
    to,
    { ...manifest, entries: [] },
    { encryptor: await keys!.encryptor() },
  );
  for (const entry of entries) {
    const data = edit(entry.path, Buffer.concat(bodies.get(entry.path) ?? []));
    await writer.addBuffer(entry.path, data, entry.meta);
  }
  await writer.commit();
}
