import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { generateIdentity } from '../../src/archive/age/index.js';
import { decryptionKeys, encryptionKeys } from '../../src/archive/encryption.js';
import { ArchiveError } from '../../src/archive/errors.js';
import { dataPath, resourcePath } from '../../src/archive/layout.js';
import { readManifest } from '../../src/archive/manifest-tail.js';
import { newManifest } from '../../src/archive/manifest.js';
import { ArchiveWriter } from '../../src/archive/writer.js';
import { OperationError, UserError } from '../../src/errors.js';
import type { CatalogRow } from '../../src/storage/catalog.js';
import { FileLocation } from '../../src/storage/file.js';
import { resolveFolder, resolveLocation } from '../../src/storage/resolve.js';
import { applyRetention, parseDuration } from '../../src/storage/retention.js';
import { s3Error } from '../../src/storage/s3-errors.js';
import { S3Folder, S3Location } from '../../src/storage/s3-url.js';
import { tempDir } from '../helpers/tmp.js';

const source = { server: 'https://x', context: 'c', namespace: 'ns', app: 'qs' };

describe('storage: locations', () => {
  const settings = { env: {} };
  it('s3://BUCKET/KEY is an object, a key ending in / a prefix the default name goes under', () => {
    const o = resolveLocation('s3://my-bucket/a/b.tar.age', settings) as S3Location;
    expect(o).to.be.instanceOf(S3Location);
    expect([o.bucket, o.key, o.isPrefix]).to.deep.equal(['my-bucket', 'a/b.tar.age', false]);
    expect(o.named('x.tar.age')).to.equal(o);
    const p = resolveLocation('s3://my-bucket/a/', settings) as S3Location;
    expect(p.named('x.tar.age').name).to.equal('s3://my-bucket/a/x.tar.age');
    expect(
      (resolveLocation('s3://my-bucket', settings) as S3Location).named('x.tar').name,
    ).to.equal('s3://my-bucket/x.tar');
    expect(resolveLocation('backups/x.tar', settings)).to.be.instanceOf(FileLocation);
  });

  it('refuses bad bucket names, a folder without its /, and reading a prefix', async () => {
    expect(() => resolveLocation('s3://My_Bucket/x', settings)).to.throw(UserError, /bucket name/);
    expect(() => resolveFolder('s3://b-1/a', settings)).to.throw(UserError, /ends with \//);
    expect(resolveFolder('s3://b-1/a/', settings)).to.be.instanceOf(S3Folder);
    const err = await resolveLocation('s3://b-1/a/', settings)
      .open()
      .catch((e) => e);
    expect(err).to.be.instanceOf(UserError);
    expect(err.message).to.match(/is a prefix, not an object/);
  });

  it('a local file that appears while the backup runs is left alone, and nothing is left', async () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'a.tar');
      const writer = await ArchiveWriter.create(
        await new FileLocation(file).create(),
        newManifest({ name: 't', version: '0' }, source, new Date()),
        {},
      );
      fs.writeFileSync(file, 'precious');
      const err = await writer.commit().catch((e) => e);
      expect(err).to.be.instanceOf(UserError);
      expect(err.message).to.match(/appeared while the backup ran/);
      expect(fs.readFileSync(file, 'utf8')).to.equal('precious');
      expect(fs.readdirSync(tmp.dir)).to.deep.equal(['a.tar']);
      expect(await new FileLocation(file).create().catch((e) => e)).to.be.instanceOf(UserError);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('storage: the manifest from the tail', () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir()));
  after(() => tmp.cleanup());

  async function write(file: string, recipient: string | undefined, entries: Buffer[]) {
    const keys = recipient
      ? await encryptionKeys({ recipient: [recipient] }, { env: {} })
      : undefined;
    const writer = await ArchiveWriter.open(
      file,
      newManifest({ name: 't', version: '0' }, source, new Date('2026-01-02T03:04:05Z')),
      { encryptor: keys ? await keys.encryptor() : undefined },
    );
    for (const [i, e] of entries.entries()) {
      await writer.addBuffer(
        resourcePath({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: `cm-${i}` }),
        e,
      );
    }
    return writer.commit();
  }

  it('reads it from plain and encrypted archives, small and with a manifest past the first window', async () => {
    const id = generateIdentity();
    const keys = decryptionKeys({}, { env: { ENTANDO_BACKUP_IDENTITY: '' } });
    for (const [name, recipient, count] of [
      ['plain-small.tar', undefined, 3],
      ['age-small.tar.age', id.recipient, 3],
      ['plain-big.tar', undefined, 2500],
      ['age-big.tar.age', id.recipient, 2500],
    ] as const) {
      const file = path.join(tmp.dir, name);
      const written = await write(
        file,
        recipient,
        Array.from({ length: count }, (_, i) => Buffer.from(`{"i":${i}}`)),
      );
      const idFile = path.join(tmp.dir, 'id.txt');
      fs.writeFileSync(idFile, `${id.identity}\n`);
      const got = await readManifest(
        file,
        recipient ? decryptionKeys({ identity: [idFile] }, { env: {} }) : keys,
      );
      expect(got.encrypted, name).to.equal(recipient !== undefined);
      expect(got.manifest, name).to.deep.equal(JSON.parse(JSON.stringify(written)));
    }
    expect(fs.statSync(path.join(tmp.dir, 'plain-big.tar')).size).to.be.greaterThan(1_000_000);
  });

  it('is not fooled by data that looks like a manifest header, and names a truncated archive', async () => {
    // The last data entry holds a block that starts like the manifest's header.
    const fake = Buffer.alloc(2048);
    fake.write('manifest.json\0', 512);
    const file = path.join(tmp.dir, 'fake.tar');
    const written = await write(file, undefined, [Buffer.from('{}'), fake]);
    const keys = decryptionKeys({}, { env: {} });
    expect((await readManifest(file, keys)).manifest).to.deep.equal(
      JSON.parse(JSON.stringify(written)),
    );
    const cut = path.join(tmp.dir, 'cut.tar');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 3072));
    const err = await readManifest(cut, keys).catch((e) => e);
    expect(err).to.be.instanceOf(ArchiveError);
    expect(err.problem).to.equal('truncated');
    const junk = path.join(tmp.dir, 'junk.tar');
    fs.writeFileSync(junk, 'not an archive');
    expect((await readManifest(junk, keys).catch((e) => e)).problem).to.equal('not-an-archive');
    void dataPath;
  });
});

describe('storage: retention', () => {
  it('parses durations', () => {
    const ms = (text: string) => parseDuration(text).ms;
    expect(ms('30d')).to.equal(30 * 86_400_000);
    expect(ms('1d12h')).to.equal(36 * 3_600_000);
    expect(ms('2w')).to.equal(14 * 86_400_000);
    expect(ms('90m')).to.equal(90 * 60_000);
    expect(parseDuration('1y6mo2d')).to.deep.equal({
      text: '1y6mo2d',
      months: 18,
      ms: 2 * 86_400_000,
    });
    for (const bad of ['', '30', 'd', '1.5d', '3 d', '1Y', '-1d', '1mon'])
      expect(() => parseDuration(bad), bad).to.throw(UserError, /not a duration/);
    expect(() => parseDuration('0d')).to.throw(UserError, /longer than nothing/);
  });

  const now = new Date('2026-06-01T00:00:00Z');
  const row = (name: string, app: string | undefined, daysAgo: number, ns = 'ns'): CatalogRow => ({
    stored: {
      location: new FileLocation(name),
      size: 1,
      modified: now,
    },
    ...(app
      ? {
          source: { server: 's', context: 'c', namespace: ns, app },
          createdAt: new Date(now.getTime() - daysAgo * 86_400_000),
          encrypted: true,
        }
      : { problem: 'not a kubectl-entando archive' }),
  });
  const rows = [
    row('a1', 'a', 1),
    row('a3', 'a', 3),
    row('a9', 'a', 9),
    row('a2', 'a', 2),
    row('a-other-ns', 'a', 50, 'other'),
    row('b5', 'b', 5),
    row('b6', 'b', 6),
    row('junk', undefined, 0),
  ];
  const cases: [string, Parameters<typeof applyRetention>[1], string[]][] = [
    ['keep-last 2: per series', { last: 2 }, ['a3', 'a9']],
    ['keep-last 1, app a', { last: 1, app: 'a' }, ['a3', 'a9', 'a2']],
    // Within 4 days of each series' newest (a1, a-other-ns, b5), not of now.
    ['keep-within 4d', { within: parseDuration('4d') }, ['a9']],
    ['both: kept by either', { last: 1, within: parseDuration('1d12h') }, ['a3', 'a9']],
    ['keep-last larger than any series', { last: 10 }, []],
  ];
  for (const [name, policy, deleted] of cases) {
    it(`decides: ${name}; never what it cannot identify`, async () => {
      const whole = async () => ({ whole: true }) as const;
      const { decisions: d } = await applyRetention(rows, policy, { now, isWhole: whole });
      expect(
        d.filter((x) => x.action === 'delete').map((x) => x.row.stored.location.name),
      ).to.deep.equal(deleted);
      expect(d.find((x) => x.row.stored.location.name === 'junk')!.action).to.equal('skip');
    });
  }
});

describe('storage: S3 errors, one actionable line each', () => {
  const action = { verb: 'write' as const, url: 's3://b/k', bucket: 'b', endpoint: 'http://e' };
  const sdk = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const cases: [string, unknown, new (...a: never[]) => Error, RegExp][] = [
    ['unknown key', sdk('InvalidAccessKeyId', 403), UserError, /does not know the access key/],
    ['wrong secret', sdk('SignatureDoesNotMatch', 403), UserError, /secret key is wrong/],
    ['no credentials', sdk('CredentialsProviderError'), UserError, /no AWS credentials found/],
    [
      'missing bucket',
      sdk('NoSuchBucket', 404),
      UserError,
      /bucket b does not exist at http:\/\/e/,
    ],
    [
      'denied',
      sdk('AccessDenied', 403),
      UserError,
      /access denied to write s3:\/\/b\/k: .*s3:PutObject/,
    ],
    ['HEAD 403', sdk('Unknown', 403), UserError, /access denied/],
    ['missing key', sdk('NoSuchKey', 404), ArchiveError, /s3:\/\/b\/k does not exist/],
    ['HEAD 404', sdk('NotFound', 404), ArchiveError, /does not exist/],
    [
      'refused',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      OperationError,
      /cannot reach the S3 endpoint http:\/\/e \(ECONNREFUSED\)/,
    ],
    [
      'refused, as a cause',
      new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }),
      OperationError,
      /\(ENOTFOUND\)/,
    ],
    ['no region', new Error('Region is missing'), UserError, /no AWS region: set AWS_REGION/],
    ['anything else', sdk('SlowDown', 503), OperationError, /S3 SlowDown on write s3:\/\/b\/k/],
  ];
  for (const [name, err, type, message] of cases) {
    it(name, () => {
      const mapped = s3Error(err, action);
      expect(mapped).to.be.instanceOf(type);
      expect(mapped.message).to.match(message);
      expect(mapped.message).to.not.include('\n');
    });
  }
});
