// The internal port's handlers (upstream src/handlers.rs `upload`, `list`, `delete`,
// `index_protected`; src/utils.rs `compress`, `decompress`), bodies and statuses as upstream.
// Every `rel` is the request tail after the route prefix, already requoted like actix does.
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rm, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, sep } from 'node:path';
import { x as untar } from 'tar';
import { sendFile } from './files.js';
import { json, text } from './http.js';
import { boundaryOf, MultipartParser } from './multipart.js';
import { BASE, DataRoot, TraversalError, fileName, rustPush } from './paths.js';
import { TarGzWriter, appendDirAll } from './tar.js';

export const NOT_FOUND_FILE = 'File not found. Or tried to list content of a directory.';
const ARCHIVE = 'entando-data.tar.gz';
const nowSecs = () => Math.floor(Date.now() / 1000);

/** Whether `p` (following symlinks) stays inside the data directory; upstream never checks. */
export async function inside(root: DataRoot, p: string): Promise<boolean> {
  try {
    const [r, real] = [await realpath(root.dir), await realpath(p)];
    return real === r || real.startsWith(r + sep);
  } catch {
    return true; // missing: the caller's own existence check answers
  }
}

async function statOrNull(p: string) {
  try {
    return await stat(p);
  } catch {
    return null; // Path::exists() swallows every error
  }
}

/** A path that exists upstream-wise, refusing one that resolves outside the data directory. */
async function resolve(root: DataRoot, rel: string) {
  const p = root.fsPath(rel);
  const st = await statOrNull(p);
  if (st && !(await inside(root, p))) throw new TraversalError(rel);
  return { p, st };
}

/** GET /api/v1/{filename:.*}: any regular file under entando-data (public, protected, archives). */
export async function download(
  req: IncomingMessage,
  res: ServerResponse,
  root: DataRoot,
  rel: string,
) {
  const { p, st } = await resolve(root, rel);
  if (!st?.isFile()) return text(res, 404, NOT_FOUND_FILE);
  await sendFile(req, res, p, fileName(rel));
}

/** PathResource: SystemTime serialises as {secs_since_epoch, nanos_since_epoch}. */
function resource(
  name: string,
  st: import('node:fs').BigIntStats,
  directory: boolean,
  path: string,
  prot: boolean,
) {
  return {
    name,
    last_modified_time: {
      secs_since_epoch: Number(st.mtimeNs / 1_000_000_000n),
      nanos_since_epoch: Number(st.mtimeNs % 1_000_000_000n),
    },
    size: Number(st.size),
    directory,
    path,
    protected_folder: prot,
  };
}

/** GET /api/v1/list/{filename:.*} */
export async function list(res: ServerResponse, root: DataRoot, rel: string) {
  const { p, st } = await resolve(root, rel);
  if (!st) {
    // ErrorNotFound(json!(vec![..])): serde_json::Value, so keys sorted, sent as text/plain.
    const now = BigInt(Date.now()) * 1_000_000n;
    const body = [
      {
        directory: false,
        last_modified_time: {
          nanos_since_epoch: Number(now % 1_000_000_000n),
          secs_since_epoch: Number(now / 1_000_000_000n),
        },
        name: 'Wrong_path',
        path: '',
        protected_folder: false,
        size: 0,
      },
    ];
    return text(res, 404, JSON.stringify(body));
  }
  const shown = root.shown(rel);
  // Path::starts_with is per component: only entando-data/public[/...] is unprotected.
  const prot = !(shown.split('/').filter((c) => c && c !== '.')[1] === 'public');
  if (st.isFile()) {
    // A file: directory false, path = the request tail, protected_folder always false.
    const fst = await stat(p, { bigint: true });
    return json(res, 200, [resource(fileName(shown), fst, false, rel, false)]);
  }
  const out = [];
  for (const name of (await readdir(p)).sort()) {
    const est = await lstat(join(p, name), { bigint: true }); // DirEntry::metadata: no follow
    out.push(resource(name, est, est.isDirectory(), rustPush(shown, name), prot));
  }
  json(res, 200, out);
}

/** DELETE /api/v1/delete/{filename:.*}: a directory recursively; {"status":"OK"|"KO"}. */
export async function remove(res: ServerResponse, root: DataRoot, rel: string) {
  const p = root.fsPath(rel);
  if (!existsSync(p)) return json(res, 200, { status: 'KO' });
  const st = await lstat(p);
  // remove_dir_all on a symlink removes the link; remove_file likewise.
  if (st.isDirectory()) await rm(p, { recursive: true });
  else await unlink(p);
  json(res, 200, { status: 'OK' });
}

/**
 * GET /api/v1/utils/compress/{filename:.*}: always entando-data/archives/entando-data.tar.gz,
 * entries under `entando-data/`; a single file becomes one entry named `entando-data`. The
 * archive is (re)created before the source is looked at, so a 404 leaves an empty archive.
 */
export async function compress(res: ServerResponse, root: DataRoot, rel: string) {
  const src = root.fsPath(rel);
  await mkdir(root.fsPath('archives'), { recursive: true });
  const tar = new TarGzWriter(root.fsPath(`archives/${ARCHIVE}`));
  const shownArchive = `${BASE}archives/${ARCHIVE}`;
  try {
    const st = await statOrNull(src);
    if (st && !(await inside(root, src))) throw new TraversalError(rel);
    if (st?.isDirectory()) {
      await appendDirAll(tar, 'entando-data', src, async (p) => !(await inside(root, p)));
    } else if (st?.isFile()) {
      await tar.file('entando-data', src, st);
    } else {
      await tar.finish();
      return text(res, 404, JSON.stringify({ path: 'Wrong Path', status: 'Ko' }));
    }
    await tar.finish();
  } catch (err) {
    await tar.finish().catch(() => undefined); // Builder's Drop finishes the archive anyway
    throw err;
  }
  json(res, 200, { status: 'Ok', path: shownArchive });
}

/**
 * GET /api/v1/utils/decompress/{filename:.*}: unpacks entando-data/archives/<name> INTO
 * entando-data/ (so the archive holds public/..., protected/... at its root), ignoring unpack
 * errors (`archive.unpack(..).ok()`), then deletes the archive. 200 body: a JSON string.
 */
export async function decompress(res: ServerResponse, root: DataRoot, name: string) {
  await mkdir(root.fsPath('archives'), { recursive: true });
  const rel = `archives/${name}`;
  const p = root.fsPath(rel);
  const shown = `${BASE.slice(0, -1)}/archives/${name}`;
  if (!existsSync(p)) return text(res, 404, JSON.stringify({ path: 'Wrong Path', status: 'Ko' }));
  if (!(await inside(root, p))) throw new TraversalError(rel);
  const st = await stat(p);
  if (st.isFile()) {
    await untar({ file: p, cwd: root.dir, strict: false, preserveOwner: false }).catch(
      () => undefined,
    );
  }
  await unlink(p); // a directory fails here as upstream's remove_file does: 500
  json(res, 200, `${name},${shown}`);
}

/** sanitize-filename 0.4 with Linux defaults (no Windows rules), as upstream's upload uses. */
export function sanitizeFilename(name: string): string {
  // Control characters (U+0000-001F, U+0080-009F) go too.
  const control = (c: string) =>
    c.charCodeAt(0) <= 0x1f || (c.charCodeAt(0) >= 0x80 && c.charCodeAt(0) <= 0x9f);
  let s = [...name.replace(/[/?<>\\:*|"]/g, '')].filter((c) => !control(c)).join('');
  s = s.replace(/^\.+$/, '');
  let b = Buffer.from(s);
  if (b.length > 255) {
    b = b.subarray(0, 255);
    while (b.length && b.toString('utf8').endsWith('\uFFFD')) b = b.subarray(0, b.length - 1);
    s = b.toString('utf8');
  }
  return s;
}

/**
 * POST /api/v1/upload/ (multipart; field ORDER matters as upstream: `path`, then `protected`
 * which picks and creates the directory, then `filename`, then `file`). The response is always
 * one record; `path` is upstream's string (e.g. "./entando-data/public/cms").
 */
export async function upload(req: IncomingMessage, res: ServerResponse, root: DataRoot) {
  let filename = '';
  let pathValue = '';
  let protectedValue = '';
  let finalPath = '';
  let isDirectory = false;
  const record = () => [
    {
      status: 'Ok',
      filename,
      file: '',
      date: nowSecs(),
      path: finalPath,
      is_protected_file: protectedValue,
    },
  ];
  const boundary = boundaryOf(req.headers['content-type']);
  if (!boundary) {
    // actix-multipart yields an error as the first field: the loop just ends.
    req.resume();
    await once(req, 'end');
    return json(res, 200, record());
  }
  const parser = new MultipartParser(boundary);
  let field: string | undefined;
  let value: Buffer[] = [];
  let out: WriteStream | undefined;
  let stopped = false;
  const onEnd = async () => {
    const v = Buffer.concat(value).toString('utf8');
    if (field === 'path') pathValue = v;
    if (field === 'protected') {
      protectedValue = v;
      if (pathValue === 'archives') finalPath = `${BASE}archives`;
      else if (v === 'true') finalPath = `./${BASE}protected/${pathValue}`;
      else if (v === 'false') finalPath = `./${BASE}public/${pathValue}`;
      if (finalPath)
        await mkdir(root.fsPath(finalPath.replace(/^(\.\/)?entando-data\//, '')), {
          recursive: true,
        });
    }
    if (field === 'filename') {
      filename = v;
      isDirectory = v === '';
    }
    if (out) {
      out.end();
      await once(out, 'close');
      out = undefined;
    }
  };
  for await (const chunk of req) {
    if (stopped) continue;
    for (const ev of parser.push(chunk as Buffer)) {
      if (ev.kind === 'part') {
        if (ev.disposition === undefined) {
          stopped = true; // no Content-Disposition: the field stream errors, the loop ends
          break;
        }
        if (ev.name === undefined)
          return text(res, 500, 'form field without a name (upstream panics)');
        field = ev.name;
        value = [];
        if (field === 'file' && !isDirectory) {
          if (!finalPath) {
            // Upstream would create "/<filename>" at the filesystem root (final_path "").
            return text(
              res,
              400,
              'upload without `protected` true/false (or path "archives") before `file`: upstream writes outside entando-data; refused by the stand-in',
            );
          }
          const rel = finalPath.replace(/^(\.\/)?entando-data\//, '');
          out = createWriteStream(join(root.fsPath(rel), sanitizeFilename(filename)));
          await Promise.race([
            once(out, 'open'),
            once(out, 'error').then(([e]) => Promise.reject(e)),
          ]);
        }
      } else if (ev.kind === 'data') {
        if (out) {
          if (!out.write(ev.data)) await once(out, 'drain');
        } else if (field !== 'file') value.push(Buffer.from(ev.data));
      } else await onEnd();
    }
    if (parser.done) stopped = true;
  }
  if (!stopped && parser.incompleteBody()) {
    out?.destroy();
    return text(res, 400, 'Multipart stream is incomplete');
  }
  json(res, 200, record());
}
