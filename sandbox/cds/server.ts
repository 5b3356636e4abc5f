// The two listeners of upstream src/main.rs: internal (8080, every request behind the Keycloak
// bearer check, then the routes in registration order: upload, list, delete, compress,
// decompress, index_protected, else actix's empty 404) and public (8081: CORS, then
// /health/health_check, `/{tenant}/{filename:.*}`, else the default service).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import {
  compress,
  decompress,
  download,
  inside,
  list,
  remove,
  upload,
  NOT_FOUND_FILE,
} from './api.js';
import { checkAuthorization } from './auth.js';
import { sendFile } from './files.js';
import { send, sendError, text, TEXT } from './http.js';
import { DataRoot, fullDecode, requote } from './paths.js';
import { stat } from 'node:fs/promises';

export interface CdsOptions {
  dataDir: string;
  publicKey: KeyObject;
  /** CORS_ALLOWED_ORIGIN and CORS_ALLOWED_ORIGIN_END_WITH (upstream requires both). */
  corsOrigin: string;
  corsOriginEndWith: string;
  host: string;
  internalPort: number;
  publicPort: number;
  log?: (line: string) => void;
}

export interface Cds {
  internal: Server;
  public: Server;
  internalPort: number;
  publicPort: number;
  close(): Promise<void>;
}

const pathOf = (req: IncomingMessage) => requote((req.url ?? '/').split('?')[0]);

async function internalHandler(
  req: IncomingMessage,
  res: ServerResponse,
  o: CdsOptions,
  root: DataRoot,
) {
  const denied = checkAuthorization(req.headers.authorization, o.publicKey);
  if (denied) {
    req.resume();
    return send(res, denied.status, denied.body); // no content type, as the middleware
  }
  const path = pathOf(req);
  const tail = (prefix: string) =>
    path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
  const m = req.method;
  let t: string | undefined;
  if (m === 'POST' && path === '/api/v1/upload/') return upload(req, res, root);
  req.resume();
  if (m === 'GET' && (t = tail('/api/v1/list/')) !== undefined) return list(res, root, t);
  if (m === 'DELETE' && (t = tail('/api/v1/delete/')) !== undefined) return remove(res, root, t);
  if (m === 'GET' && (t = tail('/api/v1/utils/compress/')) !== undefined)
    return compress(res, root, t);
  if (m === 'GET' && (t = tail('/api/v1/utils/decompress/')) !== undefined) {
    return decompress(res, root, t);
  }
  if (m === 'GET' && (t = tail('/api/v1/')) !== undefined) return download(req, res, root, t);
  send(res, 404);
}

/** actix-cors 0.6 as upstream configures it: origins {CORS_ALLOWED_ORIGIN} or suffix match. */
function cors(
  req: IncomingMessage,
  res: ServerResponse,
  o: CdsOptions,
): 'handled' | Record<string, string> {
  const vary = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
  const origin = req.headers.origin;
  const allowed = (x: string) => x === o.corsOrigin || x.endsWith(o.corsOriginEndWith);
  const acrm = req.headers['access-control-request-method'];
  if (req.method === 'OPTIONS' && acrm && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(acrm)) {
    // Preflight.
    let err: string | undefined;
    if (!origin) err = 'Request header `Origin` is required but was not provided';
    else if (!allowed(origin)) err = 'Origin is not allowed to make this request';
    else if (acrm !== 'GET') err = 'Requested method is not allowed';
    else {
      const asked = req.headers['access-control-request-headers'];
      const names = asked === undefined ? [] : asked.split(',').map((h) => h.trim().toLowerCase());
      if (names.some((h) => !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(h))) {
        err = 'Request header `Access-Control-Request-Headers` has an invalid value';
      } else if (names.some((h) => !['authorization', 'accept', 'content-type'].includes(h))) {
        err = 'One or more request headers are not allowed';
      }
    }
    if (err) send(res, 400, err, undefined, vary);
    else {
      send(res, 200, '', undefined, {
        'access-control-allow-origin': origin!,
        'access-control-allow-methods': 'GET',
        'access-control-allow-headers': 'accept, authorization, content-type',
        'access-control-max-age': '3600',
        ...vary,
      });
    }
    return 'handled';
  }
  if (origin !== undefined && !allowed(origin)) {
    send(res, 400, 'Origin is not allowed to make this request', undefined, vary);
    return 'handled';
  }
  return origin !== undefined ? { 'access-control-allow-origin': origin, ...vary } : vary;
}

async function publicHandler(
  req: IncomingMessage,
  res: ServerResponse,
  o: CdsOptions,
  root: DataRoot,
) {
  req.resume();
  const h = cors(req, res, o);
  if (h === 'handled') return;
  const path = pathOf(req);
  const m = req.method;
  const fallback = () => send(res, m === 'GET' ? 200 : m === 'POST' ? 405 : 404, '', undefined, h);
  if (path === '/health' || path.startsWith('/health/')) {
    // web::scope("/health"): its one route; other paths under it reach the default service.
    if (path !== '/health/health_check') return fallback();
    if (m !== 'GET') return send(res, 405, '', undefined, h);
    return send(res, 200, JSON.stringify({ status: 'ok' }), 'application/json', h);
  }
  const match = /^\/[^/]+\/(.*)$/.exec(path);
  if (m !== 'GET' || !match) return fallback();
  // `/{tenant}/{filename:.*}`: the tenant is ignored; only public/ and archives/ are served.
  const filename = fullDecode(match[1]);
  if (!filename.startsWith('public/') && !filename.startsWith('archives/')) {
    return send(res, 403, 'You are not allowed to get this protected resource', TEXT, h);
  }
  const p = root.fsPath(filename);
  const st = await stat(p).catch(() => null);
  if (!st?.isFile()) return send(res, 404, NOT_FOUND_FILE, TEXT, h);
  if (!(await inside(root, p))) return text(res, 400, 'path traversal refused by the CDS stand-in');
  await sendFile(req, res, p, filename.split('/').pop() ?? '', h);
}

function wrap(
  handler: (
    req: IncomingMessage,
    res: ServerResponse,
    o: CdsOptions,
    root: DataRoot,
  ) => Promise<void>,
  o: CdsOptions,
  root: DataRoot,
  name: string,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    res.on('finish', () =>
      o.log?.(
        `${name} ${req.socket.remoteAddress} "${req.method} ${req.url}" ${res.statusCode} ${Date.now() - started}ms`,
      ),
    );
    handler(req, res, o, root).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, err);
    });
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((ok, ko) => {
    server.once('error', ko);
    server.listen(port, host, () => ok((server.address() as AddressInfo).port));
  });
}

export async function startCds(o: CdsOptions): Promise<Cds> {
  const root = new DataRoot(o.dataDir);
  const internal = createServer(wrap(internalHandler, o, root, 'internal'));
  const pub = createServer(wrap(publicHandler, o, root, 'public'));
  const internalPort = await listen(internal, o.host, o.internalPort);
  const publicPort = await listen(pub, o.host, o.publicPort).catch(async (e: unknown) => {
    await new Promise((r) => internal.close(r));
    throw e;
  });
  const close = (s: Server) =>
    new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  return {
    internal,
    public: pub,
    internalPort,
    publicPort,
    close: async () => {
      await Promise.all([close(internal), close(pub)]);
    },
  };
}
