import { UserError } from '../errors.js';
import type {
  ArchiveBlob,
  ArchiveFolder,
  ArchiveLocation,
  ArchiveSink,
  StoredArchive,
} from './location.js';

/** How to reach the store, from the flags; the rest comes from the AWS SDK's usual places. */
export interface S3Settings {
  /** --s3-endpoint (else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / the SDK's config). */
  endpoint?: string;
  /** --s3-path-style; default: on when an endpoint is set (S3-compatible servers), else off. */
  pathStyle?: boolean;
  /** The environment credentials and region are read from (process.env in the CLI). */
  env: NodeJS.ProcessEnv;
  /** Progress lines while cleaning up (e.g. retrying to abort an upload). */
  notice?: (message: string) => void;
}

const PREFIX = 's3://';
/** S3 bucket names: 3-63 of lower case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Url(text: string): boolean {
  return text.toLowerCase().startsWith(PREFIX);
}

export function parseS3Url(text: string): { bucket: string; key: string } {
  const rest = text.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket)) {
    throw new UserError(
      `${text}: "${bucket}" is not a valid S3 bucket name (expected s3://BUCKET/KEY, lower case)`,
    );
  }
  return { bucket, key };
}

export function s3Url(bucket: string, key: string): string {
  return `${PREFIX}${bucket}/${key}`;
}

/** The AWS SDK is loaded on first use only: the CLI starts without it for local files. */
const store = () => import('./s3.js');

/** An object `s3://BUCKET/KEY`; a KEY ending in `/` is a prefix (backup names the file). */
export class S3Location implements ArchiveLocation {
  readonly name: string;

  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly settings: S3Settings,
  ) {
    this.name = s3Url(bucket, key);
  }

  static parse(text: string, settings: S3Settings): S3Location {
    const { bucket, key } = parseS3Url(text);
    return new S3Location(bucket, key, settings);
  }

  /** A key ending in `/` (or none): a folder the default file name goes into. */
  get isPrefix(): boolean {
    return this.key === '' || this.key.endsWith('/');
  }

  named(name: string): S3Location {
    return this.isPrefix ? new S3Location(this.bucket, `${this.key}${name}`, this.settings) : this;
  }

  async create(): Promise<ArchiveSink> {
    this.mustBeObject();
    return (await store()).createObject(this);
  }

  async open(): Promise<ArchiveBlob> {
    this.mustBeObject();
    return (await store()).openObject(this);
  }

  private mustBeObject(): void {
    if (this.isPrefix) {
      throw new UserError(
        `${this.name} is a prefix, not an object: name the archive (s3://${this.bucket}/${this.key}NAME.tar.age)`,
      );
    }
  }
}

/** `s3://BUCKET/PREFIX/`: the objects directly under a prefix. */
export class S3Folder implements ArchiveFolder {
  readonly name: string;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
    readonly settings: S3Settings,
  ) {
    this.name = s3Url(bucket, prefix);
  }

  static parse(text: string, settings: S3Settings): S3Folder {
    const { bucket, key } = parseS3Url(text);
    if (key !== '' && !key.endsWith('/')) {
      throw new UserError(`${text}: a folder of archives ends with / (s3://${bucket}/${key}/)`);
    }
    return new S3Folder(bucket, key, settings);
  }

  async list(): Promise<StoredArchive[]> {
    return (await store()).listFolder(this);
  }

  async remove(archive: StoredArchive): Promise<void> {
    return (await store()).removeObject(archive.location as S3Location);
  }
}
