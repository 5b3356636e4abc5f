/**
 * Helpers of scripts/bench-s3, on the AWS SDK alone:
 *
 *   node dist/src/storage/bench-put.js put FILE s3://BUCKET/KEY
 *     the limit: a plain multipart upload of a file (lib-storage's Upload, the part size and
 *     concurrency of a backup, the same client settings and UNSIGNED-PAYLOAD), no archive work
 *     at all; prints
 *     {"seconds":..,"bytes":..}
 *   node dist/src/storage/bench-put.js rm s3://BUCKET/PREFIX/
 *     deletes what is under the prefix
 */
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import fs from 'node:fs';
import { s3Client } from './s3.js';
import { parseS3Url } from './s3-url.js';
import { DEFAULT_TUNING, withUnsignedPayload } from './s3-upload.js';

const [mode, ...args] = process.argv.slice(2);
const client = s3Client({ env: process.env });
if (mode === 'put' && args.length === 2) {
  const [file, url] = args;
  const { bucket, key } = parseS3Url(url);
  // As a backup sends its parts (the same client settings: no payload hash).
  withUnsignedPayload(client.middlewareStack);
  const start = process.hrtime.bigint();
  await new Upload({
    client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: fs.createReadStream(file, { highWaterMark: 1 << 20 }),
    },
    partSize: DEFAULT_TUNING.partSize,
    queueSize: DEFAULT_TUNING.queueSize,
  }).done();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${JSON.stringify({ seconds, bytes: fs.statSync(file).size })}\n`);
} else if (mode === 'rm' && args.length === 1) {
  const { bucket, key: prefix } = parseS3Url(args[0]);
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  for (const o of listed.Contents ?? []) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
  }
} else {
  process.stderr.write('usage: bench-put put FILE s3://BUCKET/KEY | rm s3://BUCKET/PREFIX/\n');
  process.exit(2);
}
