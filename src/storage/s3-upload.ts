import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BuildHandler, BuildHandlerArguments, MiddlewareStack } from '@smithy/types';
import { UserError } from '../errors.js';
import type { ArchiveSink } from './location.js';
import { s3Code, s3Error, type S3Action } from './s3-errors.js';
import type { S3Location } from './s3-url.js';

/** Parts of one size before the size doubles. */
const PARTS_PER_SIZE = 1000;

export interface UploadTuning {
  /** Bytes per part (S3: at least 5 MiB but for the last). */
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
  /** How long an abort keeps retrying an unreachable endpoint before giving up. */
  abortRetryMs: number;
}

/**
 * The archive's bytes are sent with `x-amz-content-sha256: UNSIGNED-PAYLOAD`: the SDK would
 * otherwise hash every part for the signature over http (~0.6 s of CPU per GiB, the largest
 * cost of an upload after the copy). The headers stay signed; what the payload hash would
 * add, the archive already has: a sha256 per entry in its manifest, and age's MAC on every
 * 64 KiB chunk, checked by restore and verify, which an object altered at rest fails as well
 * as one altered in transit. (Over https, TLS protects it in transit anyway.)
 */
function unsignedPayload<C extends UploadPartCommand | PutObjectCommand>(command: C): C {
  withUnsignedPayload(command.middlewareStack);
  return command;
}

/** Adds the UNSIGNED-PAYLOAD header to what a middleware stack (a command's, a client's) sends. */
export function withUnsignedPayload(middlewareStack: unknown): void {
  const stack = middlewareStack as MiddlewareStack<object, object>;
  stack.add(
    (next: BuildHandler<object, object>) => (args: BuildHandlerArguments<object>) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'kubectlEntandoUnsignedPayload' },
  );
}

/**
 * 5 MiB parts (S3's least), 2 in flight: memory is (queueSize + 1) part buffers, ~15 MiB, up to
 * ~4.9 GiB (1,000 parts); the part size then doubles every 1,000 parts (S3 allows parts of
 * different sizes), so 10,000 parts hold any archive while memory grows only for huge ones.
 * 8 MiB parts measured (2 GiB through the sink alone, one run on 2 shared cores): 81 vs 84 MB/s,
 * 9 MB more RSS. 2 in flight against 3, backup of 1 GiB on the sandbox (CPU-bound: the cores are
 * ~95% busy either way): 16.7 vs 18.1 s, 185 vs 214 MB peak RSS. KUBECTL_ENTANDO_S3_PART_MB sets the first size, KUBECTL_ENTANDO_S3_PARTS_IN_FLIGHT
 * the queue.
 */
export const DEFAULT_TUNING: UploadTuning = {
  partSize: 5 * 1024 * 1024,
  queueSize: 2,
  abortRetryMs: 60_000,
};

/**
 * An archive streamed into a multipart upload, with no local copy: bytes are copied into part
 * buffers (reused), a full part is uploaded while the next fills, at most `queueSize` at
 * once, and write() waits when that many are in flight (backpressure up to the entries).
 *
 * The object appears only on commit(), by CompleteMultipartUpload with `If-None-Match: *`
 * (never replacing a key made meanwhile); an archive smaller than one part is one PutObject
 * with the same condition. abort() cancels parts in flight and aborts the upload, retrying
 * while the endpoint is unreachable, so no unfinished upload is left to be billed.
 *
 * The SDK's lib-storage Upload is not used here: its abort runs in the background after
 * done() has rejected (an exiting CLI cannot wait for it, nor learn that it failed) and it does
 * not cancel the parts in flight. scripts/bench-s3 measures this against it.
 */
export class S3UploadSink implements ArchiveSink {
  private part: Buffer;
  private fill = 0;
  private partNumber = 0;
  private readonly free: Buffer[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private uploadId: Promise<string> | undefined;
  private failed: Error | undefined;
  private committed = false;
  private aborting: Promise<void> | undefined;
  private readonly cancel = new AbortController();
  private readonly tuning: UploadTuning;

  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
    private readonly action: S3Action,
    tuning: Partial<UploadTuning> = {},
  ) {
    const mb = Number(location.settings.env.KUBECTL_ENTANDO_S3_PART_MB);
    const inFlight = Number(location.settings.env.KUBECTL_ENTANDO_S3_PARTS_IN_FLIGHT);
    this.tuning = {
      ...DEFAULT_TUNING,
      ...(mb >= 5 ? { partSize: mb * 1024 * 1024 } : {}),
      ...(Number.isInteger(inFlight) && inFlight >= 1 ? { queueSize: inFlight } : {}),
      ...tuning,
    };
    this.part = Buffer.allocUnsafeSlow(this.tuning.partSize);
  }

  async write(buffers: Buffer[]): Promise<void> {
    for (const b of buffers) {
      let off = 0;
      while (off < b.length) {
        if (this.failed) throw this.failed;
        const n = b.copy(this.part, this.fill, off);
        this.fill += n;
        off += n;
        if (this.fill === this.part.length) await this.sendPart();
      }
    }
  }

  async commit(): Promise<void> {
    if (this.failed) throw this.failed;
    try {
      if (!this.uploadId) {
        await this.client.send(
          unsignedPayload(
            new PutObjectCommand({
              ...this.target(),
              Body: this.part.subarray(0, this.fill),
              ContentLength: this.fill,
              IfNoneMatch: '*',
            }),
          ),
        );
      } else {
        if (this.fill > 0) await this.sendPart();
        await Promise.all(this.inflight);
        if (this.failed) throw this.failed;
        this.parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
        await this.client.send(
          new CompleteMultipartUploadCommand({
            ...this.target(),
            UploadId: await this.uploadId,
            MultipartUpload: { Parts: this.parts },
            IfNoneMatch: '*',
          }),
        );
      }
      this.committed = true;
    } catch (err) {
      await this.abort();
      if (s3Code(err) === 'PreconditionFailed') {
        throw new UserError(
          `${this.location.name} appeared while the backup ran: it was left alone, nothing written`,
        );
      }
      throw s3Error(err, this.action);
    }
  }

  abort(): Promise<void> {
    if (this.committed) return Promise.resolve();
    this.failed ??= new Error('upload aborted');
    this.aborting ??= this.abortUpload();
    return this.aborting;
  }

  private target() {
    return { Bucket: this.location.bucket, Key: this.location.key };
  }

  /** Hands the full (or last) part to an upload; waits while `queueSize` are in flight. */
  private async sendPart(): Promise<void> {
    const buf = this.part;
    const body = buf.subarray(0, this.fill);
    const number = ++this.partNumber;
    const size = this.tuning.partSize * 2 ** Math.floor(number / PARTS_PER_SIZE);
    if (this.free[0]?.length !== size) this.free.length = 0; // grown: the old ones go
    this.part = this.free.pop() ?? Buffer.allocUnsafeSlow(size);
    this.fill = 0;
    // Not cancellable: an upload created on the server must be learnt, to be aborted.
    this.uploadId ??= this.client
      .send(new CreateMultipartUploadCommand(this.target()))
      .then((r) => r.UploadId!);
    const sending = this.uploadId
      .then((UploadId) =>
        this.client.send(
          unsignedPayload(
            new UploadPartCommand({
              ...this.target(),
              UploadId,
              PartNumber: number,
              Body: body,
              ContentLength: body.length,
            }),
          ),
          { abortSignal: this.cancel.signal },
        ),
      )
      .then(
        (r) => {
          this.parts.push({ PartNumber: number, ETag: r.ETag });
          if (buf.length === this.part.length) this.free.push(buf);
        },
        (err: unknown) => {
          this.failed ??= s3Error(err, this.action);
        },
      )
      .finally(() => this.inflight.delete(sending));
    this.inflight.add(sending);
    while (this.inflight.size >= this.tuning.queueSize) await Promise.race(this.inflight);
    if (this.failed) throw this.failed;
  }

  private async abortUpload(): Promise<void> {
    this.cancel.abort();
    await Promise.allSettled(this.inflight);
    if (!this.uploadId) return;
    const uploadId = await this.uploadId.catch(() => undefined);
    if (!uploadId) return; // the upload was never created
    const deadline = Date.now() + this.tuning.abortRetryMs;
    let told = false;
    for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ ...this.target(), UploadId: uploadId }),
        );
        return;
      } catch (err) {
        const code = s3Code(err);
        if (code === 'NoSuchUpload') return;
        if (Date.now() + wait > deadline) {
          this.location.settings.notice?.(
            `could not abort the multipart upload of ${this.location.name} (${code}): abort upload ${uploadId} (aws s3api abort-multipart-upload) or let a lifecycle rule (AbortIncompleteMultipartUpload) remove it`,
          );
          return;
        }
        if (!told) {
          told = true;
          this.location.settings.notice?.(
            `S3 ${code}: retrying to abort the multipart upload of ${this.location.name} for up to ${Math.round(this.tuning.abortRetryMs / 1000)} s`,
          );
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
