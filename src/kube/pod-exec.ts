import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WsClient from 'ws';
import { OperationError } from '../errors.js';

/** The parts of the `ws` WebSocket (what client-node's exec returns) used here. */
interface WebSocket {
  protocol: string;
  bufferedAmount: number;
  pause(): void;
  resume(): void;
  terminate(): void;
  send(data: Buffer, cb: (err?: Error) => void): void;
  send(data: Buffer): void;
  on(event: 'close', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

const STDIN = 0;
const CLOSE = 255;
/**
 * Most bytes of stdin per frame: pieces (64 KiB chunks of an archive entry) are gathered into
 * frames of 1 MiB, which cost the API server and the node less than a frame per piece
 * (measured, 1 GiB into `cat` on the sandbox, 3 alternating runs: the machine's CPU 11.6-12.9 s
 * against 12.3-13.8 s, 6.8-7.5 s against 7.2-8.0 s). So stdin is for a source that does not
 * wait for the command's output: bytes are sent when a frame is full or the source ends.
 */
const STDIN_FRAME = 1024 * 1024;
/** Bytes of stdin allowed in the socket's send buffer before we wait for it to drain. */
const STDIN_HIGH_WATER = 4 * 1024 * 1024;
/** How much of stderr is kept for error messages. */
const STDERR_TAIL = 16 * 1024;

/**
 * What to do about a stream that `kubectl exec` ended early although its command exited 0
 * (kubernetes/kubernetes#124571): nothing was archived, and a second run usually gets it whole.
 */
export const CUT_HINT =
  'the exec stream was cut short although the command exited 0 (a known Kubernetes exec issue, kubernetes/kubernetes#124571): nothing was archived, run the backup again';

export interface PodExecRequest {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  /**
   * Bytes for the command's stdin; its end closes stdin (the command sees EOF). Sent in frames
   * of up to 1 MiB (STDIN_FRAME): a source that waits for the command's output would stall.
   */
  stdin?: AsyncIterable<Buffer | string> | Iterable<Buffer | string>;
  /** Where stdout goes; backpressure is honoured (the socket pauses while it is full). */
  stdout?: Writable;
  signal?: AbortSignal;
}

export interface PodExecResult {
  exitCode: number;
  /** The last bytes of stderr (for messages), never the whole of a long stream. */
  stderr: string;
}

/**
 * Runs a command in a pod and resolves when the command has ended, with its exit code, after
 * stdout was fully written. Wraps client-node's Exec, whose promise resolves when the socket
 * opens and which ignores backpressure both ways: here stdout pauses the socket while the
 * consumer is full, and stdin is sent only as fast as the socket drains, ending with a
 * close-stdin frame (v5.channel.k8s.io) so the command sees EOF.
 */
export async function podExec(config: KubeConfig, req: PodExecRequest): Promise<PodExecResult> {
  let socket: WebSocket | undefined;
  let stderrTail = '';
  let status: V1Status | undefined;
  const stdoutDone = new Promise<void>((resolve, reject) => {
    if (!req.stdout) return resolve();
    req.stdout.once('finish', resolve);
    req.stdout.once('close', resolve);
    req.stdout.once('error', reject);
  });
  // Awaited only on success: the early throws below (interrupted, socket failure) destroy
  // stdout, which rejects it; unhandled, that rejection would crash the CLI on Ctrl-C before
  // it cleans up (a partial upload left behind).
  stdoutDone.catch(() => undefined);
  // A consumer that goes away (destroyed, errored) before the command ended stops the command:
  // otherwise the paused socket would wait for a 'drain' that never comes.
  let consumerGone = false;
  const stopForConsumer = () => {
    if (stdoutProxy?.writableEnded) return;
    consumerGone = true;
    socket?.terminate();
  };
  req.stdout?.once('close', stopForConsumer);
  req.stdout?.once('error', stopForConsumer);
  // client-node only calls write() and end() on these: plain objects rather than Writables
  // (a Writable between the socket and the consumer cost its machinery on every frame).
  let waitingForDrain = false;
  const stdoutProxy = req.stdout
    ? {
        writableEnded: false,
        write(chunk: Buffer): boolean {
          const out = req.stdout!;
          if (out.destroyed) {
            stopForConsumer();
            return true;
          }
          if (!out.write(chunk) && !waitingForDrain) {
            waitingForDrain = true;
            socket?.pause();
            out.once('drain', () => {
              waitingForDrain = false;
              socket?.resume();
            });
          }
          return true;
        },
        end(): void {
          if (this.writableEnded) return;
          this.writableEnded = true;
          req.stdout!.end();
        },
      }
    : null;
  const stderrSink = {
    write(chunk: Buffer): boolean {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
      return true;
    },
    end(): void {},
  };
  // A stdin that never emits: client-node then asks for a stdin channel, and we feed it.
  const stdinPlaceholder = req.stdin ? new Readable({ read() {} }) : null;

  const ended = new Promise<void>((resolve, reject) => {
    const exec = new Exec(config, unmaskedSockets(config));
    exec
      .exec(
        req.namespace,
        req.pod,
        req.container ?? '',
        req.command,
        stdoutProxy as unknown as Writable | null,
        stderrSink as unknown as Writable,
        stdinPlaceholder,
        false,
        (s) => {
          status = s;
        },
      )
      .then((ws) => {
        socket = ws as unknown as WebSocket;
        if (consumerGone) socket.terminate();
        socket.on('close', () => resolve());
        socket.on('error', (err) => reject(err));
        if (req.signal) {
          const abort = () => socket?.terminate();
          if (req.signal.aborted) abort();
          req.signal.addEventListener('abort', abort, { once: true });
        }
        if (req.stdin)
          sendStdin(socket, req.stdin).catch((err) => {
            socket?.terminate();
            reject(err);
          });
      }, reject);
  });

  try {
    await ended;
  } catch (err) {
    req.stdout?.destroy(err as Error);
    throw new OperationError(`exec in pod ${req.namespace}/${req.pod} failed: ${describe(err)}`, {
      cause: err,
    });
  }
  if (req.signal?.aborted) {
    req.stdout?.destroy(new Error('interrupted'));
    throw new OperationError('interrupted');
  }
  if (consumerGone && !status) {
    throw new OperationError(
      `exec in pod ${req.namespace}/${req.pod} stopped: the reader of its output went away`,
    );
  }
  if (!status) {
    const error = new OperationError(
      `exec in pod ${req.namespace}/${req.pod} ended without an exit status (the pod or the connection went away)`,
    );
    req.stdout?.destroy(error);
    throw error;
  }
  if (stdoutProxy && !stdoutProxy.writableEnded) stdoutProxy.end();
  await stdoutDone;
  return { exitCode: exitCodeOf(status), stderr: stderrTail };
}

/**
 * client-node's WebSocket handler, with sockets whose frame mask is zero. A client must mask
 * what it sends (RFC 6455), but the mask exists to stop a browser page's script from writing
 * chosen bytes through a proxy's cache; for this client it only costs a copy and an XOR of
 * every byte sent (measured: ~3.7 s of CPU per GiB streamed into a restore's `tar -x`). With a
 * zero mask `ws` sends the caller's bytes as they are; servers accept it (any mask is valid).
 */
function unmaskedSockets(config: KubeConfig): WebSocketHandler {
  return new WebSocketHandler(
    config,
    (uri, protocols, opts) =>
      new WsClient(uri, protocols, {
        ...opts,
        ...(uri.startsWith('wss:') ? { secureContext: secureContextFor(opts) } : {}),
        generateMask: (mask: Buffer) => mask.fill(0),
      }) as unknown as ReturnType<NonNullable<WebSocketHandler['socketFactory']>>,
  );
}

type TlsOptions = Pick<SecureContextOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase'>;
const secureContexts = new Map<string, SecureContext>();

/**
 * One TLS context per set of credentials, shared by every exec socket: otherwise each
 * connection builds its own from the kubeconfig's CA, certificate and key (measured: ~10 ms
 * of CPU each, and a backup opens one per stream and per helper command).
 */
function secureContextFor(opts: TlsOptions): SecureContext {
  const { ca, cert, key, pfx, passphrase } = opts;
  const id = createHash('sha256')
    .update(JSON.stringify([ca, cert, key, pfx, passphrase].map((v) => String(v ?? ''))))
    .digest('hex');
  let context = secureContexts.get(id);
  if (!context) {
    context = createSecureContext({ ca, cert, key, pfx, passphrase });
    secureContexts.set(id, context);
  }
  return context;
}

/** Like podExec, but a non-zero exit is an error that carries the command's stderr. */
export async function podExecOk(
  config: KubeConfig,
  req: PodExecRequest,
  what: string,
): Promise<PodExecResult> {
  const result = await podExec(config, req);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new OperationError(
      `${what} failed in pod ${req.namespace}/${req.pod} (exit code ${result.exitCode})${detail ? `: ${detail}` : ''}`,
    );
  }
  return result;
}

/** The exit code a V1Status reports: 0 on Success, the ExitCode cause on NonZeroExitCode. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message !== undefined) return Number(cause.message);
  throw new OperationError(`exec failed: ${status.message ?? status.reason ?? 'unknown error'}`);
}

async function sendStdin(
  socket: WebSocket,
  stdin: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): Promise<void> {
  // One frame buffer, reused: each frame is awaited until written (ws calls back once the
  // socket took it), so the next bytes may overwrite it; no allocation per chunk.
  let frame: Buffer | undefined;
  let fill = 1;
  const flush = async () => {
    if (fill === 1) return;
    const data = frame!.subarray(0, fill);
    await new Promise<void>((resolve, reject) =>
      socket.send(data, (err) => (err ? reject(err) : resolve())),
    );
    fill = 1;
    while (socket.bufferedAmount > STDIN_HIGH_WATER) await new Promise((r) => setTimeout(r, 5));
  };
  for await (const raw of stdin) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (!frame) {
      frame = Buffer.allocUnsafeSlow(STDIN_FRAME + 1);
      frame[0] = STDIN;
    }
    for (let off = 0; off < chunk.length;) {
      const n = chunk.copy(frame, fill, off, Math.min(chunk.length, off + frame.length - fill));
      fill += n;
      off += n;
      if (fill === frame.length) await flush();
    }
  }
  await flush();
  if (socket.protocol === 'v5.channel.k8s.io') {
    socket.send(Buffer.from([CLOSE, STDIN]));
  } else {
    throw new OperationError(
      `the API server does not support closing stdin (protocol ${socket.protocol}): Kubernetes 1.29 or newer is needed`,
    );
  }
}

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) return String((err as Error).message);
  return String(err);
}
