import { expect } from 'chai';
import { RealmSplitter, type RealmPiece } from '../../src/components/keycloak/realm-stream.js';
import { realmInMemory, realmsTar } from '../../src/components/keycloak/realm-import.js';
import {
  exportUsersPerFile,
  importUsersPerFile,
} from '../../src/components/keycloak/side-server-scripts.js';
import { tarMembers } from '../helpers/tar-members.js';
import { UserMeter } from '../../src/components/keycloak/user-meter.js';

const STREAMED = new Set(['users', 'federatedUsers']);

/** Feeds `text` in chunks cut at `cuts` and puts the realm back together from the pieces. */
function splitAndJoin(text: string, size: number): Record<string, unknown> {
  const buf = Buffer.from(text);
  const s = new RealmSplitter(STREAMED);
  const pieces: RealmPiece[] = [];
  for (let i = 0; i < buf.length; i += size) pieces.push(...s.push(buf.subarray(i, i + size)));
  s.end();
  const out: Record<string, unknown> = {};
  for (const p of pieces) {
    const v = JSON.parse(p.json.toString('utf8')) as unknown;
    if (p.kind === 'field') out[p.key] = v;
    else ((out[p.key] ??= []) as unknown[]).push(v);
  }
  return out;
}

/** A deterministic pseudo-random generator (the same cases every run). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}

const NASTY = [
  'plain',
  'quote " in',
  'back\\slash',
  'ends with \\',
  '\\"',
  'ünïcødé ✓ 𝄞',
  '{[,]}:',
  '',
];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 5 : 7));
  switch (k) {
    case 0:
      return NASTY[Math.floor(r() * NASTY.length)];
    case 1:
      return Math.floor(r() * 1e6) - 5e5 + (r() < 0.3 ? 0.25 : 0);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return -1.5e-7;
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 4) }, (_, i) => [
          `${NASTY[i % NASTY.length]}${i}`,
          randomValue(r, depth + 1),
        ]),
      );
  }
}

function randomRealm(seed: number): Record<string, unknown> {
  const r = rng(seed);
  const users = Array.from({ length: Math.floor(r() * 20) }, (_, i) => ({
    id: `u${i}`,
    username: `${NASTY[i % NASTY.length]}-${i}`,
    attributes: randomValue(r, 1),
    credentials: [{ type: 'password', secretData: '{"value":"a\\"b"}' }],
  }));
  const realm: Record<string, unknown> = { realm: `r${seed}`, enabled: true, n: 3 };
  realm.clients = [{ clientId: 'x', redirectUris: ['https://a/*'], attributes: randomValue(r, 1) }];
  realm.users = users;
  if (r() < 0.5) realm.federatedUsers = users.slice(0, 2);
  realm.smtpServer = randomValue(r, 0);
  return realm;
}

describe('streamed realm reading', () => {
  it('gives back every field and every user, whatever the chunk boundaries', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const realm = randomRealm(seed);
      // Pretty-printed too: whitespace between tokens, as another writer might leave it.
      for (const text of [JSON.stringify(realm), JSON.stringify(realm, null, seed % 3)]) {
        for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
          expect(splitAndJoin(text, size), `seed ${seed}, chunks of ${size}`).to.deep.equal(
            withoutEmptyArrays(realm),
          );
        }
      }
    }
  });

  it('streams only the named arrays: a users field that is not an array is a field', () => {
    const s = new RealmSplitter(STREAMED);
    const pieces = s.push(Buffer.from('{"users":null,"groups":[{"a":1},{"b":2}],"x":"y"}'));
    s.end();
    expect(pieces.map((p) => [p.kind, p.key])).to.deep.equal([
      ['field', 'users'],
      ['field', 'groups'],
      ['field', 'x'],
    ]);
  });

  it('refuses a truncated realm, a non-object and trailing text', () => {
    for (const text of ['{"realm":"a","users":[{"u":1}', '[1,2]', '{"a":1} x', '{"a" 1}']) {
      const s = new RealmSplitter(STREAMED);
      expect(() => {
        s.push(Buffer.from(text));
        s.end();
      }, text).to.throw(/the archived realm is not a JSON object as expected/);
    }
  });

  it('cuts the users into import pages and sends the head after its change', async () => {
    const realm = randomRealm(7);
    realm.users = Array.from({ length: 2 * importUsersPerFile() + 3 }, (_, i) => ({
      username: `u${i}`,
    }));
    const seen: string[] = [];
    const src = realmInMemory('r', realm);
    src.head = (head) => {
      seen.push(...Object.keys(head));
      head.clients = [];
    };
    const parts: Buffer[] = [];
    for await (const b of realmsTar([src])) parts.push(b);
    const files = tarFiles(Buffer.concat(parts));
    expect([...files.keys()]).to.deep.equal([
      'r-users-0.json',
      'r-users-1.json',
      'r-users-2.json',
      ...(realm.federatedUsers ? ['r-federated-users-0.json'] : []),
      'r-realm.json',
    ]);
    const users = [0, 1, 2].flatMap(
      (i) => (files.get(`r-users-${i}.json`) as { users: unknown[] }).users,
    );
    expect(users).to.deep.equal(realm.users);
    expect(seen).to.not.include('users');
    expect(files.get('r-realm.json')).to.deep.equal({
      ...Object.fromEntries(
        Object.entries(realm).filter(([k]) => k !== 'users' && k !== 'federatedUsers'),
      ),
      clients: [],
    });
  });
});

describe('user progress of a realm export or import', () => {
  it('says how many of how many, the percent and the time left, at most every 10 s', () => {
    const lines: string[] = [];
    let t = 0;
    const m = new UserMeter(
      'keycloak: realm entando',
      'exported',
      (l) => lines.push(l),
      () => t,
    );
    m.expect(100_000);
    m.update(0);
    t = 5_000;
    m.update(5_000);
    t = 20_000;
    m.update(20_000);
    t = 25_000;
    m.update(25_000);
    expect(lines).to.deep.equal([
      'keycloak: realm entando: 20,000 of 100,000 users exported (20%), about 80 s left',
    ]);
  });

  it('reads KCPROGRESS lines from the script, split anywhere, and ignores the rest', async () => {
    const seen: number[] = [];
    const m = new UserMeter('x', 'imported');
    m.update = (n) => void seen.push(n);
    const out = m.stdout();
    for (const piece of ['KCPRO', 'GRESS 50\nnoise\nKCPROGRESS 1', '00\n']) {
      await new Promise<void>((resolve) => out.write(piece, () => resolve()));
    }
    expect(seen).to.deep.equal([50, 100]);
  });
});

/** An empty streamed array gives no piece at all. */
function withoutEmptyArrays(realm: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(realm).filter(
      ([k, v]) => !(STREAMED.has(k) && Array.isArray(v) && v.length === 0),
    ),
  );
}

function tarFiles(tar: Buffer): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, body] of tarMembers(tar)) out.set(name, JSON.parse(body.toString('utf8')));
  return out;
}

describe('export pages', () => {
  it('at least 2,000 users, about ten pages for a large realm, at most 20,000 a page', () => {
    const per = (users: number, env: NodeJS.ProcessEnv = {}) => exportUsersPerFile(env, users);
    expect([per(0), per(5_000), per(20_000), per(50_000), per(100_000), per(1e6)]).to.deep.equal([
      2_000, 2_000, 2_000, 5_000, 10_000, 20_000,
    ]);
    expect(per(100_000, { KUBECTL_ENTANDO_KC_EXPORT_PAGE: '50' })).to.equal(50);
  });
});
