// Response helpers shaped like actix-web 4's: `HttpResponse::json` sends application/json,
// `ErrorNotFound(x)`/`ErrorForbidden(x)` send Display(x) as text/plain; charset=utf-8, and an
// io::Error becomes 404/403/500 with Rust's "<strerror> (os error N)" text.
import { constants } from 'node:os';
import type { ServerResponse } from 'node:http';
import { TraversalError } from './paths.js';

export const TEXT = 'text/plain; charset=utf-8';

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer = '',
  contentType?: string,
  headers: Record<string, string> = {},
): void {
  const h: Record<string, string | number> = {
    ...headers,
    'content-length': Buffer.byteLength(body),
  };
  if (contentType) h['content-type'] = contentType;
  res.writeHead(status, h);
  res.end(body);
}

export const json = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, JSON.stringify(value), 'application/json');

export const text = (res: ServerResponse, status: number, body: string): void =>
  send(res, status, body, TEXT);

// glibc strerror texts for the errnos a file server meets (Rust prints these, not libuv's).
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ENOTEMPTY: 'Directory not empty',
  EEXIST: 'File exists',
  EBUSY: 'Device or resource busy',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EXDEV: 'Invalid cross-device link',
};

/** actix-web `impl ResponseError for std::io::Error`, plus the stand-in's traversal refusal. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof TraversalError) return text(res, 400, err.message);
  const code = (err as NodeJS.ErrnoException)?.code;
  const errno = code ? (constants.errno as Record<string, number>)[code] : undefined;
  if (code && errno !== undefined) {
    const status = code === 'ENOENT' ? 404 : code === 'EACCES' || code === 'EPERM' ? 403 : 500;
    return text(res, status, `${STRERROR[code] ?? code} (os error ${errno})`);
  }
  text(res, 500, err instanceof Error ? err.message : String(err));
}
