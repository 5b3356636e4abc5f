import type { InferredOptionTypes, Options, PositionalOptions } from 'yargs';
import { UserError } from '../errors.js';

/** kubectl's own flags, shared by every command that talks to a cluster. */
export const kubeOptions = {
  kubeconfig: {
    type: 'string',
    describe:
      'Path to the kubeconfig file (default: KUBECONFIG, merged as kubectl does, or ~/.kube/config)',
  },
  context: { type: 'string', describe: 'The kubeconfig context to use' },
  namespace: {
    alias: 'n',
    type: 'string',
    describe: "Namespace of the app (default: the context's namespace)",
  },
} as const satisfies Record<string, Options>;

/** Output flags shared by every command. */
export const outputOptions = {
  output: {
    alias: 'o',
    choices: ['text', 'json'] as const,
    default: 'text' as const,
    describe: 'Output format',
  },
  quiet: {
    alias: 'q',
    type: 'boolean',
    default: false,
    describe: 'Print only the result (no progress, no warnings)',
  },
  verbose: { alias: 'v', type: 'count', describe: 'More detail on stderr (repeatable)' },
  progress: {
    choices: ['auto', 'bars', 'plain', 'json', 'none'] as const,
    default: 'auto' as const,
    describe:
      'Byte progress of backup and restore on stderr: auto (bars on a terminal, a line every 30 s when piped), bars, plain (lines), json (one event per line), none',
  },
} as const satisfies Record<string, Options>;

/** Keys that open an archive. */
export const decryptOptions = {
  identity: {
    alias: 'i',
    type: 'string',
    array: true,
    describe:
      'age identity file (AGE-SECRET-KEY-1...) to decrypt with; repeatable (env ENTANDO_BACKUP_IDENTITY)',
  },
  'passphrase-file': {
    type: 'string',
    describe:
      'File whose first line is the passphrase (env ENTANDO_BACKUP_PASSPHRASE; else asked on a terminal)',
  },
} as const satisfies Record<string, Options>;

/** Keys a backup is encrypted to. */
export const encryptOptions = {
  recipient: {
    alias: 'r',
    type: 'string',
    array: true,
    describe: 'age recipient (age1...) to encrypt to; repeatable (env ENTANDO_BACKUP_RECIPIENTS)',
  },
  'recipients-file': {
    alias: 'R',
    type: 'string',
    array: true,
    describe: 'File of age recipients, one per line; repeatable',
  },
  'passphrase-file': {
    type: 'string',
    describe:
      'File whose first line is the passphrase (env ENTANDO_BACKUP_PASSPHRASE; else asked on a terminal)',
  },
  encrypt: {
    type: 'boolean',
    default: true,
    describe: 'Encrypt with age; --no-encrypt writes a plain tar (it holds secrets: keep it safe)',
  },
} as const satisfies Record<string, Options>;

/** Reaching an S3-compatible store for s3:// locations (credentials: the AWS SDK's chain). */
export const s3Options = {
  's3-endpoint': {
    type: 'string',
    describe:
      'Endpoint of an S3-compatible store for s3:// locations, e.g. http://127.0.0.1:8333 (default: AWS_ENDPOINT_URL_S3, else AWS)',
  },
  's3-path-style': {
    type: 'boolean',
    describe:
      'Path-style S3 addressing (http://host/bucket/key): default on with an endpoint, off for AWS',
  },
} as const satisfies Record<string, Options>;

/** The flags every command has (outputOptions, declared once at the top). */
export type GlobalArgs = InferredOptionTypes<typeof outputOptions>;

/** The flags of an s3:// location (what CliContext needs to reach one). */
export type S3Args = InferredOptionTypes<typeof s3Options>;

/** The flags of the keys a backup is encrypted to. */
export type EncryptArgs = InferredOptionTypes<typeof encryptOptions>;

/** The flags of the keys that open an archive. */
export type DecryptArgs = InferredOptionTypes<typeof decryptOptions>;

/** The <archive> of restore, inspect and verify. */
export const archivePositional = {
  type: 'string',
  demandOption: true,
  describe: 'Archive file or s3://BUCKET/KEY',
} as const satisfies PositionalOptions;

/** The <location> of list and prune. */
export const folderPositional = {
  type: 'string',
  demandOption: true,
  describe: 'A directory or s3://BUCKET/PREFIX/',
} as const satisfies PositionalOptions;

/** The flags that pick a cluster and namespace. */
export type KubeArgs = InferredOptionTypes<typeof kubeOptions>;

/** --parallel of backup and compare: at least one stream at a time. */
export function checkParallel(parallel: number): void {
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new UserError('--parallel must be a whole number of at least 1');
  }
}
