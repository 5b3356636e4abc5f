/**
 * The S3 side of archive locations, on the AWS SDK v3. Imported dynamically (see s3-url.ts):
 * nothing here is loaded for a local file.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { PassThrough, type Readable } from 'node:stream';
import { ArchiveError } from '../archive/errors.js';
import { UserError } from '../errors.js';
import {
  looksLikeArchiveName,
  type ArchiveBlob,
  type ArchiveSink,
  type StoredArchive,
} from './location.js';
import { s3Code, s3Error, type S3Action } from './s3-errors.js';
import { S3UploadSink } from './s3-upload.js';
import { S3Location, type S3Folder, type S3Settings } from './s3-url.js';

/** Bytes fetched when an object is opened: the age header (or tar header) and then some. */
const HEAD_BYTES = 64 * 1024;

/** One client per settings (one per command run): its connections are reused across requests. */
const clients = new WeakMap<S3Settings, S3Client>();

/** The endpoint as the user configured it, for messages. */
export function endpointOf(settings: S3Settings): string {
  return (
    settings.endpoint ??
    settings.env.AWS_ENDPOINT_URL_S3 ??
    settings.env.AWS_ENDPOINT_URL ??
    'AWS S3 (default endpoint)'
  );
}

/**
 * The client of these settings. Credentials come from the SDK's standard chain (environment,
 * AWS_PROFILE, ~/.aws/config and credentials, SSO, instance roles); keys in the environment
 * given to the CLI are used as such so the CLI can run in-process with its own environment.
 */
export function s3Client(settings: S3Settings): S3Client {
  const env = settings.env;
  const endpoint = settings.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined);
  const forcePathStyle = settings.pathStyle ?? endpoint !== undefined;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  let client = clients.get(settings);
  if (!client) {
    client = new S3Client({
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      ...(credentials ? { credentials } : {}),
      forcePathStyle,
      // Integrity is the archive's own (sha256 per entry, age's MAC per 64 KiB chunk): no
      // CRC32 over every part, which also keeps S3-compatible servers that lack it working.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5000, socketTimeout: 120_000 },
    });
    clients.set(settings, client);
  }
  return client;
}

export function actionOn(
  location: { bucket: string; name: string; settings: S3Settings },
  verb: S3Action['verb'],
): S3Action {
  return {
    verb,
    url: location.name,
    bucket: location.bucket,
    endpoint: endpointOf(location.settings),
  };
}

/** Starts a multipart upload sink for a new object; refuses a key that is already there. */
export async function createObject(location: S3Location): Promise<ArchiveSink> {
  const client = s3Client(location.settings);
  const action = actionOn(location, 'write');
  try {
    await client.send(
      new GetObjectCommand({ Bucket: location.bucket, Key: location.key, Range: 'bytes=0-0' }),
    );
  } catch (err) {
    const code = s3Code(err);
    if (code === 'NoSuchKey' || code === 'NotFound') {
      return new S3UploadSink(client, location, action);
    }
    if (code !== 'InvalidRange') throw s3Error(err, action); // InvalidRange: an empty object
  }
  throw new UserError(`${location.name} already exists: choose another key or delete it`);
}

/** Opens an object for ranged reads: one GET of its first bytes gives its size and ETag. */
export async function openObject(location: S3Location): Promise<ArchiveBlob> {
  const client = s3Client(location.settings);
  const action = actionOn(location, 'read');
  let first: GetObjectCommandOutput;
  try {
    first = await client.send(
      new GetObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        Range: `bytes=0-${HEAD_BYTES - 1}`,
      }),
    );
  } catch (err) {
    throw s3Error(err, action);
  }
  const head = Buffer.from(await first.Body!.transformToByteArray());
  const total = /\/(\d+)$/.exec(first.ContentRange ?? '')?.[1];
  const size = total !== undefined ? Number(total) : head.length;
  return new S3Blob(client, location, action, head, size, first.ETag);
}

class S3Blob implements ArchiveBlob {
  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
    private readonly action: S3Action,
    private readonly head: Buffer,
    readonly size: number,
    /** Every later read asks for this version: a replaced object fails instead of mixing. */
    private readonly etag: string | undefined,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (end <= offset) return Buffer.alloc(0);
    if (end <= this.head.length) return this.head.subarray(offset, end);
    const got = await this.get(`bytes=${offset}-${end - 1}`);
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  stream(offset = 0, end = this.size): Readable {
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    const last = Math.min(end, this.size) - 1;
    if (offset > last) {
      out.end();
      return out;
    }
    this.get(`bytes=${offset}-${last}`).then(
      (got) => {
        const body = got.Body as Readable;
        body.on('error', (err) => out.destroy(s3Error(err, this.action)));
        out.on('close', () => body.destroy());
        body.pipe(out);
      },
      (err: Error) => out.destroy(err),
    );
    return out;
  }

  async close(): Promise<void> {}

  private async get(range: string): Promise<GetObjectCommandOutput> {
    try {
      return await this.client.send(
        new GetObjectCommand({
          Bucket: this.location.bucket,
          Key: this.location.key,
          Range: range,
          ...(this.etag ? { IfMatch: this.etag } : {}),
        }),
      );
    } catch (err) {
      throw s3Error(err, this.action);
    }
  }
}

/** Objects directly under the prefix whose names look like archives, with size and time. */
export async function listFolder(folder: S3Folder): Promise<StoredArchive[]> {
  const client = s3Client(folder.settings);
  const action: S3Action = {
    verb: 'list',
    url: folder.name,
    bucket: folder.bucket,
    endpoint: endpointOf(folder.settings),
  };
  const found: StoredArchive[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: folder.bucket,
          Prefix: folder.prefix,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
    } catch (err) {
      throw s3Error(err, action);
    }
    for (const o of page.Contents ?? []) {
      const name = o.Key!.slice(folder.prefix.length);
      if (!looksLikeArchiveName(name) || name.startsWith('.')) continue;
      found.push({
        location: new S3Location(folder.bucket, o.Key!, folder.settings),
        size: o.Size ?? 0,
        modified: o.LastModified ?? new Date(0),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found.sort((a, b) => a.location.name.localeCompare(b.location.name));
}

export async function removeObject(location: S3Location): Promise<void> {
  try {
    await s3Client(location.settings).send(
      new DeleteObjectCommand({ Bucket: location.bucket, Key: location.key }),
    );
  } catch (err) {
    const e = s3Error(err, actionOn(location, 'delete'));
    if (e instanceof ArchiveError) return; // already gone
    throw e;
  }
}
