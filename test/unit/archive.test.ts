import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { generateIdentity, SEALED_CHUNK_SIZE } from '../../src/archive/age/index.js';
import { decryptionKeys, encryptionKeys } from '../../src/archive/encryption.js';
import { ArchiveError } from '../../src/archive/errors.js';
import { dataPath, parsePartPath, partPath, resourcePath } from '../../src/archive/layout.js';
import { newManifest } from '../../src/archive/manifest.js';
import { verifyArchive } from '../../src/archive/verify.js';
import { entryStream } from '../../src/archive/entry-stream.js';
import { buffer } from 'node:stream/consumers';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { seededBytes, tempDir } from '../helpers/tmp.js';

const source = {
  server: 'https://127.0.0.1:16443',
  context: 'sandbox-source',
  namespace: 'ns',
  app: 'quickstart',
};
const big = seededBytes(5 * 1024 * 1024 + 123, 7);
const secretObject = Buffer.from(
  JSON.stringify({ kind: 'Secret', data: { password: 'c2VjcmV0' } }),
);

async function writeArchive(
  file: string,
  encrypt: boolean,
  env: NodeJS.ProcessEnv,
  recipient?: string,
) {
  const keys = encrypt
    ? await encryptionKeys({ recipient: recipient ? [recipient] : undefined }, { env })
    : undefined;
  const writer = await ArchiveWriter.open(
    file,
    newManifest({ name: 't', version: '0' }, source, new Date('2026-11-23T00:00:00Z')),
    {
      encryptor: keys ? await keys.encryptor() : undefined,
      partSize: 1024 * 1024,
    },
  );
  await writer.addBuffer(
    resourcePath({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 's' }),
    secretObject,
  );
  const slow = Readable.from(
    (function* () {
      for (let i = 0; i < big.length; i += 70_000) yield big.subarray(i, i + 70_000);
    })(),
  );
  await writer.addStream(dataPath('files', 'resources.tar'), slow);
  return writer.commit();
}

describe('archive', () => {
  let tmp: ReturnType<typeof tempDir>;
  const identity = generateIdentity();
  let keyFile: string;
  beforeEach(() => {
    tmp = tempDir();
    keyFile = path.join(tmp.dir, 'key.txt');
    fs.writeFileSync(keyFile, `${identity.identity}\n`);
  });
  afterEach(() => tmp.cleanup());

  it('layout: part names round-trip', () => {
    expect(parsePartPath(partPath('data/db/x.sql', 0))).to.deep.equal({
      path: 'data/db/x.sql',
      index: 0,
    });
    // Past 99,999 parts (~98 GiB of 1 MiB parts) the names just grow a digit.
    expect(partPath('data/files/a.tar', 123_455)).to.equal('data/files/a.tar.part-123456');
    expect(parsePartPath(partPath('data/files/a.tar', 123_455))).to.deep.equal({
      path: 'data/files/a.tar',
      index: 123_455,
    });
    expect(parsePartPath('resources/Secret.core/ns/a.json')).to.equal(undefined);
    expect(() => dataPath('db', '../x')).to.throw();
  });

  it('round-trips an encrypted archive with a streamed entry in parts, mode 0600', async () => {
    const file = path.join(tmp.dir, 'a.tar.age');
    const manifest = await writeArchive(file, true, {}, identity.recipient);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('partial'))).to.deep.equal([]);
    const streamed = manifest.entries.find((e) => e.path === 'data/files/resources.tar')!;
    expect(streamed.parts).to.equal(6);
    expect(streamed.sha256).to.equal(createHash('sha256').update(big).digest('hex'));
    const pieces: Buffer[] = [];
    const result = await verifyArchive(
      file,
      decryptionKeys({ identity: [keyFile] }, { env: {} }),
      async (p, _part, body) => {
        for await (const c of body) if (p === 'data/files/resources.tar') pieces.push(c);
      },
    );
    expect(result.encrypted).to.equal(true);
    expect(Buffer.concat(pieces).equals(big)).to.equal(true);
    expect(result.manifest.source).to.deep.equal(source);
  });

  for (const encrypted of [true, false]) {
    it(`reads an entry at its place after the verifying pass (${encrypted ? 'age' : 'plain'}), and notices a change made since`, async () => {
      const file = path.join(tmp.dir, encrypted ? 'a.tar.age' : 'a.tar');
      const manifest = await writeArchive(file, encrypted, {}, identity.recipient);
      const keys = decryptionKeys({ identity: [keyFile] }, { env: {} });
      const { locations, payloadPrefix } = await verifyArchive(file, keys);
      expect(payloadPrefix !== undefined).to.equal(encrypted);
      const source = { file, keys, locations, verifiedPrefix: payloadPrefix };
      const entry = manifest.entries.find((e) => e.path === 'data/files/resources.tar')!;
      // Six 1 MiB parts whose data starts off the 64 KiB chunk grid of age.
      expect(locations.get(entry.path)!.map((l) => l.size)).to.have.length(6);
      const read = await buffer(entryStream(source, entry));
      expect(read.equals(big)).to.equal(true);
      const small = manifest.entries.find((e) => e.path.startsWith('resources/'))!;
      expect((await buffer(entryStream(source, small))).equals(secretObject)).to.equal(true);
      // One byte of the entry's third part changed after the pass: the read fails.
      const third = locations.get(entry.path)![2];
      const damaged = fs.readFileSync(file);
      const at = encrypted ? Math.floor(damaged.length / 2) : third.offset + 10;
      damaged[at] ^= 0xff;
      fs.writeFileSync(file, damaged);
      const err = await buffer(entryStream(source, entry)).catch((e) => e);
      expect(err).to.be.instanceOf(Error);
      expect(err.message).to.match(encrypted ? /authentication|modified/ : /sha256/);
    });
  }

  it('an age archive written anew since the verifying pass is refused, same content or not', async () => {
    const file = path.join(tmp.dir, 'a.tar.age');
    const manifest = await writeArchive(file, true, {}, identity.recipient);
    const keys = decryptionKeys({ identity: [keyFile] }, { env: {} });
    const { locations, payloadPrefix } = await verifyArchive(file, keys);
    // The same entries encrypted again: a new file key, so a new header and nonce.
    await writeArchive(`${file}.new`, true, {}, identity.recipient);
    fs.renameSync(`${file}.new`, file);
    const entry = manifest.entries.find((e) => e.path === 'data/files/resources.tar')!;
    const source = { file, keys, locations, verifiedPrefix: payloadPrefix };
    const err = await buffer(entryStream(source, entry)).catch((e) => e);
    expect(err).to.be.instanceOf(Error);
    expect(err.message).to.match(/changed since it was verified/);
    // Without the pass's prefix the entry is read and checked against the manifest's sha256.
    expect((await buffer(entryStream({ file, keys, locations }, entry))).equals(big)).to.equal(
      true,
    );
  });

  it('never holds the secret in clear in an encrypted archive', async () => {
    const file = path.join(tmp.dir, 'a.tar.age');
    await writeArchive(file, true, {}, identity.recipient);
    expect(fs.readFileSync(file).includes(Buffer.from('c2VjcmV0'))).to.equal(false);
  });

  it('a plain archive is a standard tar whose parts concatenate to the entry', async () => {
    const file = path.join(tmp.dir, 'a.tar');
    await writeArchive(file, false, {});
    const out = path.join(tmp.dir, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    const parts = fs.readdirSync(path.join(out, 'data/files')).sort();
    expect(parts[0]).to.equal('resources.tar.part-00001');
    const joined = Buffer.concat(
      parts.map((p) => fs.readFileSync(path.join(out, 'data/files', p))),
    );
    expect(joined.equals(big)).to.equal(true);
    expect(fs.readFileSync(path.join(out, 'format-version'), 'utf8')).to.equal('1\n');
  });

  it('passphrase round trip', async () => {
    const file = path.join(tmp.dir, 'p.tar.age');
    await writeArchive(file, true, { ENTANDO_BACKUP_PASSPHRASE: 'correct horse' });
    await verifyArchive(
      file,
      decryptionKeys({}, { env: { ENTANDO_BACKUP_PASSPHRASE: 'correct horse' } }),
    );
    const err = await verifyArchive(
      file,
      decryptionKeys({}, { env: { ENTANDO_BACKUP_PASSPHRASE: 'wrong' } }),
    ).catch((e) => e);
    expect(err).to.be.instanceOf(ArchiveError);
    expect(err.problem).to.equal('wrong-key');
  });

  const damage: {
    name: string;
    encrypted: boolean;
    /** `start`: where the age payload's chunks begin (after header and nonce). */
    damage: (b: Buffer, start: number) => Buffer;
    problem: string;
    message: RegExp;
  }[] = [
    {
      name: 'encrypted, truncated mid payload',
      encrypted: true,
      damage: (b) => b.subarray(0, Math.floor(b.length / 2)),
      problem: 'truncated',
      message: /truncated/,
    },
    {
      name: 'encrypted, truncated inside the header',
      encrypted: true,
      damage: (b) => b.subarray(0, 60),
      problem: 'truncated',
      message: /truncated|header/,
    },
    {
      name: 'encrypted, last byte removed',
      encrypted: true,
      damage: (b) => b.subarray(0, b.length - 1),
      problem: 'truncated',
      message: /truncated/,
    },
    {
      name: 'encrypted, cut at a chunk boundary',
      encrypted: true,
      damage: (b, start) => b.subarray(0, start + 3 * SEALED_CHUNK_SIZE),
      problem: 'truncated',
      message: /truncated: it ends at a chunk boundary/,
    },
    {
      name: 'encrypted, bytes appended',
      encrypted: true,
      damage: (b) => Buffer.concat([b, Buffer.alloc(100, 1)]),
      problem: 'truncated',
      message: /truncated or damaged at its end/,
    },
    {
      name: 'encrypted, a whole chunk appended',
      encrypted: true,
      damage: (b, start) => Buffer.concat([b, b.subarray(start, start + SEALED_CHUNK_SIZE)]),
      problem: 'tampered',
      message: /modified|corrupted/,
    },
    {
      name: 'encrypted, one byte flipped',
      encrypted: true,
      damage: (b) => flip(b, Math.floor(b.length / 3)),
      problem: 'tampered',
      message: /modified|corrupted/,
    },
    {
      name: 'plain, truncated',
      encrypted: false,
      damage: (b) => b.subarray(0, b.length - 3000),
      problem: 'truncated',
      message: /truncated/,
    },
    {
      name: 'plain, data byte flipped',
      encrypted: false,
      damage: (b) => flip(b, 4096),
      problem: 'tampered',
      message: /data\/files\/resources.tar does not match its sha256/,
    },
    {
      name: 'plain, header byte flipped',
      encrypted: false,
      damage: (b) => flip(b, 1030),
      problem: 'tampered',
      message: /checksum/,
    },
  ];
  for (const d of damage) {
    for (const pass of ['verify', "restore's pass (age not hashed)"]) {
      it(`detects in ${pass}: ${d.name}`, async () => {
        const file = path.join(tmp.dir, 'd');
        await writeArchive(file, d.encrypted, {}, identity.recipient);
        const keys = decryptionKeys({ identity: [keyFile] }, { env: {} });
        const start = d.encrypted ? (await verifyArchive(file, keys)).payloadPrefix!.length : 0;
        fs.writeFileSync(file, d.damage(fs.readFileSync(file), start));
        const opts = { authenticatedSuffices: pass !== 'verify' };
        const err = await verifyArchive(file, keys, undefined, opts).catch((e) => e);
        expect(err, String(err)).to.be.instanceOf(ArchiveError);
        expect(err.problem, err.message).to.equal(d.problem);
        expect(err.message).to.match(d.message);
      });
    }
  }

  it("restore's pass leaves out the sha256 of an age archive's entries, never of a plain one", async () => {
    const keys = decryptionKeys({ identity: [keyFile] }, { env: {} });
    for (const encrypted of [true, false]) {
      const file = path.join(tmp.dir, `h-${encrypted}`);
      await writeArchive(file, encrypted, {}, identity.recipient);
      const full = await verifyArchive(file, keys);
      const pass = await verifyArchive(file, keys, undefined, { authenticatedSuffices: true });
      const tree = dataPath('files', 'resources.tar');
      expect(full.digests.get(tree)?.sha256).to.equal(
        createHash('sha256').update(big).digest('hex'),
      );
      expect(pass.digests.get(tree)?.sha256, `encrypted ${encrypted}`).to.equal(
        encrypted ? undefined : full.digests.get(tree)?.sha256,
      );
      expect(pass.digests.get(tree)?.size).to.equal(big.length);
      expect(pass.digests.get(tree)?.parts).to.equal(full.digests.get(tree)?.parts);
    }
  });

  it('wrong identity, missing key, not an archive, missing file', async () => {
    const file = path.join(tmp.dir, 'a.tar.age');
    await writeArchive(file, true, {}, identity.recipient);
    const other = path.join(tmp.dir, 'other.txt');
    fs.writeFileSync(other, `${generateIdentity().identity}\n`);
    const wrong = await verifyArchive(
      file,
      decryptionKeys({ identity: [other] }, { env: {} }),
    ).catch((e) => e);
    expect(wrong.problem).to.equal('wrong-key');
    const none = await verifyArchive(file, decryptionKeys({}, { env: {} })).catch((e) => e);
    expect(none.problem).to.equal('no-key');
    expect(none.message).to.match(/--identity/);
    fs.writeFileSync(other, 'hello world, not a backup\n'.repeat(100));
    expect(
      (await verifyArchive(other, decryptionKeys({}, { env: {} })).catch((e) => e)).problem,
    ).to.equal('not-an-archive');
    expect(
      (
        await verifyArchive(path.join(tmp.dir, 'nope'), decryptionKeys({}, { env: {} })).catch(
          (e) => e,
        )
      ).problem,
    ).to.equal('not-found');
  });

  it('abort removes the partial file and nothing looks complete', async () => {
    const file = path.join(tmp.dir, 'x.tar');
    const writer = await ArchiveWriter.open(
      file,
      newManifest({ name: 't', version: '0' }, source, new Date()),
      {},
    );
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(1000);
        throw new Error('pod went away');
      })(),
    );
    const err = await writer.addStream(dataPath('files', 'x.tar'), failing).catch((e) => e);
    expect(err.message).to.equal('pod went away');
    await writer.abort(err);
    expect(fs.readdirSync(tmp.dir).filter((f) => f !== 'key.txt')).to.deep.equal([]);
  });

  it('encryption keys: refuses no key without a terminal, and mixing passphrase with recipients', async () => {
    const none = await encryptionKeys({}, { env: {} }).catch((e) => e);
    expect(none.message).to.match(/no encryption key.*--no-encrypt/);
    const pf = path.join(tmp.dir, 'pass');
    fs.writeFileSync(pf, 'pw\n');
    const mixed = await encryptionKeys(
      { recipient: [identity.recipient], passphraseFile: pf },
      { env: {} },
    ).catch((e) => e);
    expect(mixed.message).to.match(/cannot mix/);
    expect(await encryptionKeys({ noEncrypt: true }, { env: {} })).to.equal(undefined);
    const bad = await encryptionKeys({ recipient: ['age1nope'] }, { env: {} }).catch((e) => e);
    expect(bad.message).to.match(/bad age recipient/);
  });
});

function flip(b: Buffer, at: number): Buffer {
  const copy = Buffer.from(b);
  copy[at] ^= 0x55;
  return copy;
}
