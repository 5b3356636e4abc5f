// File downloads, after actix-files 0.6 `NamedFile::open(p)?.use_etag(true).use_last_modified(true)`
// as upstream's `index` and `index_protected` return it: a type guessed from the extension (UTF-8
// charset on text types), Content-Disposition inline for text/image/audio/video/js/json else
// attachment, ETag and Last-Modified with If-None-Match / If-Modified-Since giving 304, and one
// byte range. Multi-range and If-Match/If-Unmodified-Since are not reproduced.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';

// A subset of mime_guess, enough for what Entando stores (web assets, images, documents).
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.mjs': 'application/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'text/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tgz': 'application/x-gzip',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
  '.less': 'text/css; charset=utf-8',
  '.sql': 'application/sql',
};

export function contentType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

function disposition(type: string, name: string): string {
  const inline =
    /^(text|image|audio|video)\//.test(type) || /^application\/(javascript|json)/.test(type);
  const ascii = /^[\x20-\x7e]*$/.test(name) && !name.includes('"');
  const param = ascii ? `filename="${name}"` : `filename*=UTF-8''${encodeURIComponent(name)}`;
  return `${inline ? 'inline' : 'attachment'}; ${param}`;
}

/** Streams `path` (known to be a regular file) with NamedFile's headers. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  name: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const st = await stat(path, { bigint: true });
  const size = Number(st.size);
  const secs = st.mtimeNs / 1_000_000_000n;
  const nanos = st.mtimeNs % 1_000_000_000n;
  // actix-files: format!("{:x}:{:x}:{:x}:{:x}", ino, len, mtime secs, mtime subsec nanos).
  const etag = `"${st.ino.toString(16)}:${st.size.toString(16)}:${secs.toString(16)}:${nanos.toString(16)}"`;
  const lastModified = new Date(Number(secs) * 1000).toUTCString();
  const type = contentType(name);
  const headers: Record<string, string | number> = {
    ...extra,
    'content-type': type,
    'content-disposition': disposition(type, name),
    etag,
    'last-modified': lastModified,
    'accept-ranges': 'bytes',
  };
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const notModified = inm
    ? inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')
    : ims !== undefined && Date.parse(ims) >= Number(secs) * 1000;
  if (notModified) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && (range[1] || range[2])) {
    if (range[1]) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), size - 1);
    } else start = Math.max(0, size - Number(range[2]));
    if (start > end || start >= size) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 });
      res.end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['content-length'] = size === 0 ? 0 : end - start + 1;
  res.writeHead(status, headers);
  if (size === 0 || req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(path, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
