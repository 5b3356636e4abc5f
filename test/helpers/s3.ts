import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './sandbox.js';

const run = promisify(execFile);
export const BUCKET = 'entando-backups';
const DIR = path.join(ROOT, '.sandbox/s3');

function credentials(): Record<string, string> {
  const file = path.join(DIR, 'credentials.env');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} missing: run 'bash scripts/sandbox s3 up' (npm test brings it up)`);
  }
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** The sandbox S3 server's endpoint, from `scripts/sandbox env`. */
export async function s3Endpoint(): Promise<string> {
  const { stdout } = await run('bash', [path.join(ROOT, 'scripts/sandbox'), 'env']);
  const m = /AWS_ENDPOINT_URL_S3='([^']+)'/.exec(stdout);
  if (!m) throw new Error("scripts/sandbox env prints no AWS_ENDPOINT_URL_S3: is 's3 up' done?");
  return m[1];
}

/** The environment of an identity: 'backup' (all rights) or 'denied' (none). */
export async function s3Env(identity: 'backup' | 'denied' = 'backup'): Promise<NodeJS.ProcessEnv> {
  const c = credentials();
  return {
    AWS_ENDPOINT_URL_S3: await s3Endpoint(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: identity === 'backup' ? c.S3_ACCESS_KEY : c.S3_DENIED_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: identity === 'backup' ? c.S3_SECRET_KEY : c.S3_DENIED_SECRET_KEY,
  };
}

export async function s3Admin(): Promise<S3Client> {
  const env = await s3Env();
  return new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
    },
  });
}

/** Object keys under a prefix. */
export async function keysUnder(s3: S3Client, prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

/** Unfinished multipart uploads under a prefix (ListMultipartUploads). */
export async function uploadsUnder(s3: S3Client, prefix: string): Promise<string[]> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}

/** `scripts/sandbox s3 up|down`: the S3 server alone (for tests that stop it). */
export async function sandboxS3(action: 'up' | 'down'): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts/sandbox'), 's3', action], { timeout: 180_000 });
}

/** The built CLI as its own process (signals reach it as they would from a terminal). */
export function spawnCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess & { err: () => string } {
  const node = path.join(ROOT, 'node_modules/.bin/node');
  const child = spawn(node, [path.join(ROOT, 'dist/src/cli/entry.js'), ...argv], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.resume();
  return Object.assign(child, { err: () => stderr });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
  });
}
