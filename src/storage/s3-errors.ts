import { ArchiveError } from '../archive/errors.js';
import { OperationError, UserError } from '../errors.js';

/** What was being done, for the message: `cannot read s3://b/k: ...`. */
export interface S3Action {
  verb: 'read' | 'write' | 'list' | 'delete';
  url: string;
  bucket: string;
  endpoint: string;
}

/** The permission each verb needs, named in "access denied" messages. */
const NEEDS: Record<S3Action['verb'], string> = {
  read: 's3:GetObject',
  write: 's3:GetObject (to check the key is free), s3:PutObject and s3:AbortMultipartUpload',
  list: 's3:ListBucket',
  delete: 's3:DeleteObject',
};

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

/** The S3 error code of an SDK failure (also for HEAD responses, which have no body). */
export function s3Code(err: unknown): string {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NotFound' || (e.name === 'Unknown' && status === 404)) return 'NotFound';
  if (e.name === 'Forbidden' || (e.name === 'Unknown' && status === 403)) return 'AccessDenied';
  return e.name ?? e.code ?? 'Error';
}

function networkCode(err: unknown): string | undefined {
  for (let e = err as SdkError | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.code && NETWORK.has(e.code)) return e.code;
    if (e.name && NETWORK.has(e.name)) return e.name;
    e = e.cause as SdkError | undefined;
  }
  return undefined;
}

/**
 * One line the user can act on, for each way S3 commonly says no: wrong credentials, no
 * credentials, missing bucket, missing key, access denied, endpoint down. Anything else keeps
 * the server's own message, with the code.
 */
export function s3Error(err: unknown, action: S3Action): Error {
  if (err instanceof UserError || err instanceof ArchiveError || err instanceof OperationError)
    return err;
  const e = (err ?? {}) as SdkError;
  const code = s3Code(err);
  const net = networkCode(err);
  if (net) {
    return new OperationError(
      `cannot reach the S3 endpoint ${action.endpoint} (${net}) to ${action.verb} ${action.url}: is it up? (set --s3-endpoint or AWS_ENDPOINT_URL_S3)`,
      { cause: err },
    );
  }
  switch (code) {
    case 'InvalidAccessKeyId':
      return new UserError(
        `S3 does not know the access key (InvalidAccessKeyId) at ${action.endpoint}: check AWS_ACCESS_KEY_ID / AWS_PROFILE`,
      );
    case 'SignatureDoesNotMatch':
      return new UserError(
        `S3 rejected the signature (SignatureDoesNotMatch) at ${action.endpoint}: the secret key is wrong, check AWS_SECRET_ACCESS_KEY / AWS_PROFILE`,
      );
    case 'CredentialsProviderError':
      return new UserError(
        'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials',
      );
    case 'NoSuchBucket':
      return new UserError(
        `bucket ${action.bucket} does not exist at ${action.endpoint}: create it or fix the location`,
      );
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return new UserError(
        `access denied to ${action.verb} ${action.url}: the identity needs ${NEEDS[action.verb]}`,
      );
    case 'NoSuchKey':
    case 'NotFound':
      return new ArchiveError('not-found', `${action.url} does not exist`);
    case 'InvalidRange':
      return new ArchiveError('not-an-archive', `${action.url} is empty: not an archive`);
    case 'PreconditionFailed':
      return new OperationError(`${action.url} changed while it was being read`);
  }
  if (e.message?.includes('Region is missing')) {
    return new UserError(
      'no AWS region: set AWS_REGION (or region in ~/.aws/config for AWS_PROFILE)',
    );
  }
  return new OperationError(`S3 ${code} on ${action.verb} ${action.url}: ${e.message ?? ''}`, {
    cause: err,
  });
}
