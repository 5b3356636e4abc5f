import { expect } from 'chai';
import { generateKeyPairSync, sign, createHmac, type KeyObject } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { loadPublicKey, checkAuthorization } from '../../sandbox/cds/auth.js';
import { MARKER, SEED, runInit } from '../../sandbox/cds/init.js';
import { MultipartParser } from '../../sandbox/cds/multipart.js';
import { startCds, type Cds } from '../../sandbox/cds/server.js';

const b64u = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function jwt(key: KeyObject, claims: Record<string, unknown>, alg = 'RS256'): string {
  const head = `${b64u({ alg, typ: 'JWT' })}.${b64u(claims)}`;
  return `${head}.${sign('sha256', Buffer.from(head), key).toString('base64url')}`;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Raw node:http so paths like /a/../b reach the server unnormalised. */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Reply> {
  return new Promise((ok, ko) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', ko);
    req.end(body);
  });
}

function multipart(
  fields: [string, string | Buffer][],
  boundary = 'XbOuNdArY',
): { body: Buffer; type: string } {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const fileish = name === 'file' ? '; filename="ignored.bin"' : '';
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${fileish}\r\n\r\n`,
      ),
    );
    parts.push(Buffer.from(value));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

describe('CDS stand-in (sandbox/cds)', function () {
  this.timeout(20000);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const now = () => Math.floor(Date.now() / 1000);
  // Made when a request is sent, not when mocha loads the file: a whole run (e2e first) takes
  // longer than the token lives.
  const auth = () => ({
    authorization: `Bearer ${jwt(privateKey, { exp: now() + 300, sub: 'svc', iss: 'http://kc/realms/t1' })}`,
  });
  let dir: string;
  let data: string;
  let cds: Cds;

  const api = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) =>
    raw(cds.internalPort, method, path, { ...auth(), ...headers }, body);
  const pub = (path: string, headers: Record<string, string> = {}) =>
    raw(cds.publicPort, 'GET', path, headers);
  const upload = (fields: [string, string | Buffer][]) => {
    const m = multipart(fields);
    return api('POST', '/api/v1/upload/', { 'content-type': m.type }, m.body);
  };
  const jsonOf = (r: Reply) => JSON.parse(r.body.toString()) as unknown;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cds-standin-'));
    data = join(dir, 'entando-data');
    mkdirSync(data);
    cds = await startCds({
      dataDir: data,
      publicKey: loadPublicKey(pem),
      corsOrigin: 'All',
      corsOriginEndWith: 'example.com',
      host: '127.0.0.1',
      internalPort: 0,
      publicPort: 0,
    });
  });
  afterEach(async () => {
    await cds.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('bearer check (actix-web-middleware-keycloak-auth 0.4.0 + jsonwebtoken 8)', () => {
    it('refuses a request without a token, with the middleware text and no content type', async () => {
      const r = await raw(cds.internalPort, 'GET', '/api/v1/list/');
      expect(r.status).to.equal(401);
      expect(r.body.toString()).to.equal('No bearer token was provided');
      expect(r.headers['content-type']).to.equal(undefined);
    });

    it('refuses a token signed by another key', async () => {
      const bad = jwt(other, { exp: now() + 300 });
      const r = await raw(cds.internalPort, 'GET', '/api/v1/list/', {
        authorization: `Bearer ${bad}`,
      });
      expect([r.status, r.body.toString()]).to.deep.equal([
        401,
        'Error while decoding JWT token (InvalidSignature)',
      ]);
    });

    it('refuses an expired token beyond the 60 s leeway, accepts one inside it', async () => {
      const old = jwt(privateKey, { exp: now() - 120 });
      const r = await raw(cds.internalPort, 'GET', '/api/v1/list/', {
        authorization: `Bearer ${old}`,
      });
      expect([r.status, r.body.toString()]).to.deep.equal([
        401,
        'Error while decoding JWT token (ExpiredSignature)',
      ]);
      const recent = jwt(privateKey, { exp: now() - 30 });
      const ok = await raw(cds.internalPort, 'GET', '/api/v1/list/', {
        authorization: `Bearer ${recent}`,
      });
      expect(ok.status).to.equal(200);
    });

    it('refuses a token without exp, an HS256 token and garbage; checks nothing but key and expiry', () => {
      const key = loadPublicKey(pem);
      expect(checkAuthorization(`Bearer ${jwt(privateKey, {})}`, key)?.body).to.equal(
        'Error while decoding JWT token (Missing required claim: exp)',
      );
      const head = `${b64u({ alg: 'HS256' })}.${b64u({ exp: now() + 60 })}`;
      const hs = `${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
      expect(checkAuthorization(`Bearer ${hs}`, key)?.body).to.equal(
        'Error while decoding JWT token (InvalidAlgorithm)',
      );
      expect(checkAuthorization('Bearer nodots', key)).to.deep.equal({
        status: 401,
        body: 'Invalid JWT token (InvalidToken)',
      });
      // Any issuer/audience/realm passes, and "Bearer " is optional (trim_start_matches).
      expect(
        checkAuthorization(jwt(privateKey, { exp: now() + 60, aud: 'x', iss: 'elsewhere' }), key),
      ).to.equal(null);
    });

    it('accepts the key only as PEM, like DecodingKey::from_rsa_pem', () => {
      const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
      expect(() => loadPublicKey(body)).to.throw(/not an RSA public key PEM/);
      expect(() => loadPublicKey(undefined)).to.throw(/not set/);
      const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      expect(loadPublicKey(pkcs1).asymmetricKeyType).to.equal('rsa');
    });
  });

  describe('upload, list, download', () => {
    it("stores a public file and answers with upstream's one-record shape", async () => {
      const r = await upload([
        ['path', 'cms/images'],
        ['protected', 'false'],
        ['filename', 'a.png'],
        ['file', 'PNGDATA'],
      ]);
      expect(r.status).to.equal(200);
      const [rec] = jsonOf(r) as Record<string, unknown>[];
      expect(Object.keys(rec)).to.deep.equal([
        'status',
        'filename',
        'file',
        'date',
        'path',
        'is_protected_file',
      ]);
      expect(rec).to.include({
        status: 'Ok',
        filename: 'a.png',
        file: '',
        path: './entando-data/public/cms/images',
        is_protected_file: 'false',
      });
      expect(readFileSync(join(data, 'public/cms/images/a.png'), 'utf8')).to.equal('PNGDATA');
    });

    it('takes the directory from the fields seen before `protected` (order matters upstream)', async () => {
      await upload([
        ['protected', 'true'],
        ['path', 'late'],
        ['filename', 'x.txt'],
        ['file', 'X'],
      ]);
      expect(existsSync(join(data, 'protected/x.txt'))).to.equal(true);
      expect(existsSync(join(data, 'protected/late'))).to.equal(false);
    });

    it('sanitises the file name, and an empty filename only creates the directory', async () => {
      await upload([
        ['path', 'docs'],
        ['protected', 'true'],
        ['filename', 'a/b:c.txt'],
        ['file', 'Y'],
      ]);
      expect(readFileSync(join(data, 'protected/docs/abc.txt'), 'utf8')).to.equal('Y');
      await upload([
        ['path', 'empty/dir'],
        ['protected', 'false'],
        ['filename', ''],
        ['file', 'ignored'],
      ]);
      const l = await api('GET', '/api/v1/list/public/empty/dir');
      expect([l.status, jsonOf(l)]).to.deep.equal([200, []]);
    });

    it('lists a directory with the exact fields, and a file with its request path', async () => {
      await upload([
        ['path', 'd'],
        ['protected', 'false'],
        ['filename', 'f.txt'],
        ['file', 'hello'],
      ]);
      const l = await api('GET', '/api/v1/list/public/d');
      const [e] = jsonOf(l) as Record<string, unknown>[];
      expect(Object.keys(e)).to.deep.equal([
        'name',
        'last_modified_time',
        'size',
        'directory',
        'path',
        'protected_folder',
      ]);
      expect(e).to.include({
        name: 'f.txt',
        size: 5,
        directory: false,
        path: 'entando-data/public/d/f.txt',
        protected_folder: false,
      });
      expect(Object.keys(e.last_modified_time as object)).to.deep.equal([
        'secs_since_epoch',
        'nanos_since_epoch',
      ]);
      const root = jsonOf(await api('GET', '/api/v1/list/')) as Record<string, unknown>[];
      expect(root.map((x) => [x.name, x.path, x.directory, x.protected_folder])).to.deep.equal([
        ['public', 'entando-data/public', true, true],
      ]);
      const f = jsonOf(await api('GET', '/api/v1/list/public/d/f.txt')) as Record<
        string,
        unknown
      >[];
      expect(f[0]).to.include({
        name: 'f.txt',
        path: 'public/d/f.txt',
        directory: false,
        protected_folder: false,
      });
    });

    it('answers a missing list path with 404 and the sorted-key Wrong_path record as text', async () => {
      const r = await api('GET', '/api/v1/list/public/nope');
      expect(r.status).to.equal(404);
      expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
      const [rec] = JSON.parse(r.body.toString()) as Record<string, unknown>[];
      expect(Object.keys(rec)).to.deep.equal([
        'directory',
        'last_modified_time',
        'name',
        'path',
        'protected_folder',
        'size',
      ]);
      expect(rec.name).to.equal('Wrong_path');
    });

    it('downloads any file under entando-data through /api/v1/<path>, 404 for a directory', async () => {
      await upload([
        ['path', 'backups'],
        ['protected', 'true'],
        ['filename', 'db.sql'],
        ['file', 'SELECT 1;'],
      ]);
      const r = await api('GET', '/api/v1/protected/backups/db.sql');
      expect([r.status, r.body.toString()]).to.deep.equal([200, 'SELECT 1;']);
      expect(r.headers.etag).to.match(/^"[0-9a-f]+:9:[0-9a-f]+:[0-9a-f]+"$/);
      const again = await api('GET', '/api/v1/protected/backups/db.sql', {
        'if-none-match': String(r.headers.etag),
      });
      expect(again.status).to.equal(304);
      const d = await api('GET', '/api/v1/protected/backups');
      expect([d.status, d.body.toString()]).to.deep.equal([
        404,
        'File not found. Or tried to list content of a directory.',
      ]);
    });

    it('answers unknown routes and methods with an empty 404 once authenticated', async () => {
      expect((await api('PUT', '/api/v1/upload/')).status).to.equal(404);
      expect((await api('GET', '/elsewhere')).status).to.equal(404);
      expect((await raw(cds.internalPort, 'PUT', '/elsewhere')).status).to.equal(401);
    });
  });

  describe('delete', () => {
    it('deletes a file, then reports KO; deletes a directory recursively', async () => {
      await upload([
        ['path', 'a/b'],
        ['protected', 'false'],
        ['filename', 'f'],
        ['file', '1'],
      ]);
      let r = await api('DELETE', '/api/v1/delete/public/a/b/f');
      expect(jsonOf(r)).to.deep.equal({ status: 'OK' });
      r = await api('DELETE', '/api/v1/delete/public/a/b/f');
      expect([r.status, jsonOf(r)]).to.deep.equal([200, { status: 'KO' }]);
      await upload([
        ['path', 'a/b'],
        ['protected', 'false'],
        ['filename', 'g'],
        ['file', '2'],
      ]);
      r = await api('DELETE', '/api/v1/delete/public/a');
      expect(jsonOf(r)).to.deep.equal({ status: 'OK' });
      expect(existsSync(join(data, 'public/a'))).to.equal(false);
    });
  });

  describe('compress and decompress', () => {
    const entries = async (file: string) => {
      const names: string[] = [];
      await tar.t({ file, onReadEntry: (e) => void names.push(`${e.type}:${e.path}`) });
      return names;
    };

    it('compresses a directory into archives/entando-data.tar.gz with entando-data/ entries', async () => {
      await upload([
        ['path', 'cms'],
        ['protected', 'false'],
        ['filename', 'i.jpg'],
        ['file', 'IMG'],
      ]);
      const r = await api('GET', '/api/v1/utils/compress/public');
      expect(jsonOf(r)).to.deep.equal({
        status: 'Ok',
        path: 'entando-data/archives/entando-data.tar.gz',
      });
      const archive = join(data, 'archives/entando-data.tar.gz');
      expect(await entries(archive)).to.deep.equal([
        'Directory:entando-data/',
        'Directory:entando-data/cms',
        'File:entando-data/cms/i.jpg',
      ]);
      // ... and the public port serves it (upstream exposes archives/ publicly).
      const p = await pub('/anytenant/archives/entando-data.tar.gz');
      expect(p.status).to.equal(200);
      expect(p.body.equals(readFileSync(archive))).to.equal(true);
    });

    it('stores a single file as one entry named entando-data; a missing path is 404 but leaves an empty archive', async () => {
      await upload([
        ['path', ''],
        ['protected', 'true'],
        ['filename', 'one.txt'],
        ['file', 'ONE'],
      ]);
      await api('GET', '/api/v1/utils/compress/protected/one.txt');
      const archive = join(data, 'archives/entando-data.tar.gz');
      expect(await entries(archive)).to.deep.equal(['File:entando-data']);
      const r = await api('GET', '/api/v1/utils/compress/nope');
      expect([r.status, r.body.toString()]).to.deep.equal([
        404,
        '{"path":"Wrong Path","status":"Ko"}',
      ]);
      expect(await entries(archive)).to.deep.equal([]);
    });

    it('writes GNU long-name entries for paths over 100 bytes', async () => {
      const long = 'd'.repeat(60) + '/' + 'e'.repeat(60);
      await upload([
        ['path', long],
        ['protected', 'false'],
        ['filename', 'f.txt'],
        ['file', 'L'],
      ]);
      await api('GET', '/api/v1/utils/compress/public');
      const names = await entries(join(data, 'archives/entando-data.tar.gz'));
      expect(names).to.include(`File:entando-data/${long}/f.txt`);
    });

    it('decompresses an uploaded archive into entando-data/ and deletes it', async () => {
      const src = join(dir, 'src');
      mkdirSync(join(src, 'public/static'), { recursive: true });
      writeFileSync(join(src, 'public/static/s.css'), 'body{}');
      const tgz = join(dir, 'restore.tar.gz');
      await tar.c({ gzip: true, file: tgz, cwd: src }, ['public']);
      const up = await upload([
        ['path', 'archives'],
        ['protected', 'false'],
        ['filename', 'restore.tar.gz'],
        ['file', readFileSync(tgz)],
      ]);
      expect((jsonOf(up) as { path: string }[])[0].path).to.equal('entando-data/archives');
      const r = await api('GET', '/api/v1/utils/decompress/restore.tar.gz');
      expect(jsonOf(r)).to.equal('restore.tar.gz,entando-data/archives/restore.tar.gz');
      expect(readFileSync(join(data, 'public/static/s.css'), 'utf8')).to.equal('body{}');
      expect(existsSync(join(data, 'archives/restore.tar.gz'))).to.equal(false);
      const again = await api('GET', '/api/v1/utils/decompress/restore.tar.gz');
      expect([again.status, again.body.toString()]).to.deep.equal([
        404,
        '{"path":"Wrong Path","status":"Ko"}',
      ]);
    });
  });

  describe('public port', () => {
    beforeEach(async () => {
      await upload([
        ['path', 'p'],
        ['protected', 'false'],
        ['filename', 'f.css'],
        ['file', 'css'],
      ]);
      await upload([
        ['path', 'p'],
        ['protected', 'true'],
        ['filename', 'secret.txt'],
        ['file', 'secret'],
      ]);
    });

    it('serves public/ under any tenant segment, refuses protected/ with 403', async () => {
      const a = await pub('/t1/public/p/f.css');
      expect([a.status, a.body.toString(), a.headers['content-type']]).to.deep.equal([
        200,
        'css',
        'text/css; charset=utf-8',
      ]);
      expect((await pub('/other/public/p/f.css')).status).to.equal(200);
      const b = await pub('/t1/protected/p/secret.txt');
      expect([b.status, b.body.toString()]).to.deep.equal([
        403,
        'You are not allowed to get this protected resource',
      ]);
      expect((await pub('/t1/public/p/missing')).status).to.equal(404);
    });

    it('answers the health check, and the default service otherwise', async () => {
      const h = await pub('/health/health_check');
      expect([h.status, jsonOf(h)]).to.deep.equal([200, { status: 'ok' }]);
      const d = await pub('/');
      expect([d.status, d.body.length]).to.deep.equal([200, 0]);
      expect((await raw(cds.publicPort, 'POST', '/x')).status).to.equal(405);
    });

    it('refuses an origin outside CORS_ALLOWED_ORIGIN_END_WITH, echoes an allowed one', async () => {
      const no = await pub('/t1/public/p/f.css', { origin: 'https://evil.test' });
      expect([no.status, no.body.toString()]).to.deep.equal([
        400,
        'Origin is not allowed to make this request',
      ]);
      const yes = await pub('/t1/public/p/f.css', { origin: 'https://app.example.com' });
      expect(yes.headers['access-control-allow-origin']).to.equal('https://app.example.com');
    });
  });

  describe('path traversal (upstream follows it; the stand-in refuses)', () => {
    it('refuses .. and encoded .. on every route, and an upload path leaving entando-data', async () => {
      writeFileSync(join(dir, 'outside.txt'), 'outside');
      for (const p of [
        '/api/v1/../outside.txt',
        '/api/v1/%2e%2e/outside.txt',
        '/api/v1/list/..',
        '/api/v1/utils/compress/..',
      ]) {
        const r = await api('GET', p);
        expect(r.status, p).to.equal(400);
        expect(r.body.toString(), p).to.match(/traversal refused/);
      }
      expect((await api('DELETE', '/api/v1/delete/../outside.txt')).status).to.equal(400);
      expect(existsSync(join(dir, 'outside.txt'))).to.equal(true);
      const pubR = await pub('/t1/public/../../outside.txt');
      expect(pubR.status).to.equal(400);
      const pubEnc = await pub('/t1/public/%2e%2e%2f..%2foutside.txt');
      expect(pubEnc.status).to.equal(400);
      const up = await upload([
        ['path', '../../x'],
        ['protected', 'false'],
        ['filename', 'f'],
        ['file', 'z'],
      ]);
      expect(up.status).to.equal(400);
      expect(existsSync(join(dir, 'x'))).to.equal(false);
    });

    it('refuses a file before a usable `protected` (upstream would write /<filename>)', async () => {
      const r = await upload([
        ['path', 'x'],
        ['filename', 'f'],
        ['file', 'z'],
      ]);
      expect(r.status).to.equal(400);
    });
  });

  describe('multipart parser', () => {
    it('parses parts split at every byte boundary', () => {
      const { body } = multipart([
        ['path', 'a'],
        ['file', Buffer.from('x\r\n--notit\r\ny')],
      ]);
      for (let cut = 1; cut < body.length; cut += 7) {
        const p = new MultipartParser('XbOuNdArY');
        const evs = [...p.push(body.subarray(0, cut)), ...p.push(body.subarray(cut))];
        const names = evs
          .filter((e) => e.kind === 'part')
          .map((e) => (e as { name?: string }).name);
        const data = Buffer.concat(
          evs.filter((e) => e.kind === 'data').map((e) => (e as { data: Buffer }).data),
        );
        expect(names, `cut ${cut}`).to.deep.equal(['path', 'file']);
        expect(data.toString(), `cut ${cut}`).to.equal('ax\r\n--notit\r\ny');
        expect(p.done).to.equal(true);
      }
    });
  });

  describe('init container (busybox init.sh)', () => {
    const quiet = () => undefined;
    const env = {
      REPO_PATH: 'https://raw.github.com/entando-ps/cds/entando730/entando-data/',
      ARCHIVE_NAME: 'entando730.tar.gz',
    };

    it('seeds an empty volume and leaves the marker a restore can detect', async () => {
      expect(await runInit(env, data, quiet)).to.equal(0);
      expect(existsSync(join(data, MARKER))).to.equal(true);
      for (const rel of Object.keys(SEED)) expect(existsSync(join(data, rel)), rel).to.equal(true);
      expect(readFileSync(join(data, MARKER), 'utf8')).to.contain('entando730.tar.gz');
      const l = jsonOf(await api('GET', '/api/v1/list/')) as { name: string }[];
      expect(l.map((e) => e.name)).to.include(MARKER);
    });

    it('leaves a volume that already has public/ alone, unless FORCE_CDS=true', async () => {
      mkdirSync(join(data, 'public/static'), { recursive: true });
      writeFileSync(join(data, 'public/static/silent-check-sso.html'), 'restored');
      expect(await runInit(env, data, quiet)).to.equal(0);
      expect(existsSync(join(data, MARKER))).to.equal(false);
      expect(await runInit({ ...env, FORCE_CDS: 'true' }, data, quiet)).to.equal(0);
      expect(readFileSync(join(data, 'public/static/silent-check-sso.html'), 'utf8')).to.not.equal(
        'restored',
      );
      expect(existsSync(join(data, MARKER))).to.equal(true);
    });

    it('fails like an air-gapped cluster when CDS_INIT_OFFLINE=true, and skips with SKIP_INIT', async () => {
      const lines: string[] = [];
      expect(
        await runInit({ ...env, CDS_INIT_OFFLINE: 'true' }, data, (l) => lines.push(l)),
      ).to.equal(1);
      expect(lines.join('\n')).to.contain("wget: bad address 'raw.github.com'");
      expect(existsSync(join(data, 'public'))).to.equal(false);
      expect(await runInit({ ...env, SKIP_INIT: 'true' }, data, quiet)).to.equal(0);
      expect(existsSync(join(data, MARKER))).to.equal(false);
      expect(await runInit({ ...env, PAUSE: 'true' }, data, quiet)).to.equal(44);
    });
  });
});
