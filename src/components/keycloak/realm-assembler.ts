/**
 * Turns the export script's stdout — `KCPROGRESS <users>` lines while the export runs, then the
 * files of a `dir` realm export, each after a `KCFILE <name> <bytes>` line: `<realm>-realm.json`,
 * then `<realm>-users-<n>.json` pages, then `<realm>-federated-users-<n>.json`, realm after
 * realm — into one realm representation per realm (the shape of a `singleFile` export: users
 * inline), each written to its own output as it comes, with backpressure. Memory is the realm without its users, then one user at a time
 * (pages are split as they stream, realm-stream.ts). Counts what it wrote, per realm.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { OperationError } from '../../errors.js';
import type { RealmCounts } from '../../contract/manifest.js';
import { PROGRESS_LINE } from './user-meter.js';
import { RealmSplitter } from './realm-stream.js';

export type { RealmCounts } from '../../contract/manifest.js';

const HEADER = /^KCFILE (\S+) (\d+)$/;
const MAX_HEADER = 4096;

interface RealmRep {
  id?: string;
  realm?: string;
  keycloakVersion?: string;
  users?: { serviceAccountClientId?: string }[];
  federatedUsers?: unknown[];
  clients?: unknown[];
  groups?: unknown[];
  roles?: { realm?: unknown[]; client?: Record<string, unknown[]> };
  clientScopes?: unknown[];
  identityProviders?: unknown[];
  components?: Record<string, unknown[]>;
}

export class RealmAssembler extends Writable {
  private header: Buffer[] = [];
  private headerBytes = 0;
  private file?: {
    name: string;
    size: number;
    parts: Buffer[];
    have: number;
    splitter?: RealmSplitter;
  };
  private readonly writers = new Map<string, RealmWriter>();
  private current?: RealmWriter;
  private readonly realms: string[];
  private readonly open: (realm: string) => Writable;
  /** Told of the script's `KCPROGRESS <users>` lines (users exported so far). */
  onProgress?: (users: number) => void;

  /** `out` (one realm) or an output opened per realm as its file comes (several). */
  constructor(out: Writable | ((realm: string) => Writable), realms: string | string[]) {
    super();
    this.realms = typeof realms === 'string' ? [realms] : realms;
    this.open = typeof out === 'function' ? out : () => out;
  }

  /** The counts of the first (or only) realm. */
  get counts(): RealmCounts {
    return this.countsOf(this.realms[0]);
  }

  /** What the export held of `realm` (zero counts when nothing). */
  countsOf(realm: string): RealmCounts {
    return this.writers.get(realm)?.counts ?? zeroCounts();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.consume(chunk).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    (async () => {
      if (this.file || this.headerBytes > 0) {
        throw new OperationError('the realm export stream ended in the middle of a file');
      }
      // Nothing at all: the export failed (its exit code and stderr say why); nothing to close.
      await this.current?.finish();
      const missing = this.writers.size > 0 ? this.realms.filter((r) => !this.writers.has(r)) : [];
      if (missing.length > 0) {
        throw new OperationError(`the realm export holds no realm ${missing.join(', ')}`);
      }
    })().then(() => done(), done);
  }

  private async consume(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (!this.file) {
        const nl = chunk.indexOf(0x0a, off);
        const piece = chunk.subarray(off, nl === -1 ? chunk.length : nl);
        this.header.push(piece);
        this.headerBytes += piece.length;
        if (this.headerBytes > MAX_HEADER)
          throw new OperationError('the realm export stream is not framed as expected');
        if (nl === -1) return;
        off = nl + 1;
        const line = Buffer.concat(this.header).toString('utf8');
        this.header = [];
        this.headerBytes = 0;
        const progress = PROGRESS_LINE.exec(line);
        if (progress) {
          this.onProgress?.(Number(progress[1]));
          continue;
        }
        const m = HEADER.exec(line);
        if (!m)
          throw new OperationError(
            `the realm export stream is not framed as expected: ${line.slice(0, 80)}`,
          );
        this.file = { name: m[1], size: Number(m[2]), parts: [], have: 0 };
        // A page of users is read as it streams, a user at a time (pages can hold 20,000).
        if (!this.realmOf(m[1])) {
          if (!this.current)
            throw new OperationError(`the realm export sent ${m[1]} before the realm`);
          await this.current.beginPage(m[1]);
          this.file.splitter = new RealmSplitter(PAGE_ARRAYS);
        }
      }
      const f = this.file;
      const take = Math.min(f.size - f.have, chunk.length - off);
      const slice = chunk.subarray(off, off + take);
      if (f.splitter) {
        for (const piece of f.splitter.push(slice)) {
          if (piece.kind === 'element')
            await this.current!.addElement(f.name, piece.key, piece.json);
        }
      } else f.parts.push(slice);
      f.have += take;
      off += take;
      if (f.have === f.size) {
        this.file = undefined;
        if (f.splitter) f.splitter.end();
        else await this.startRealm(f.name, Buffer.concat(f.parts));
      }
    }
  }

  private realmOf(name: string): string | undefined {
    return this.realms.find((r) => name === `${r}-realm.json`);
  }

  /** A realm file starts that realm (ending the one before); pages go to the current one. */
  private async startRealm(name: string, body: Buffer): Promise<void> {
    const realm = this.realmOf(name)!;
    if (this.writers.has(realm)) throw new OperationError(`the realm export holds ${name} twice`);
    await this.current?.finish();
    this.current = new RealmWriter(this.open(realm), realm);
    this.writers.set(realm, this.current);
    await this.current.handleRealm(name, body);
  }
}

const PAGE_ARRAYS = new Set(['users', 'federatedUsers']);

const zeroCounts = (): RealmCounts => ({
  users: 0,
  serviceAccounts: 0,
  federatedUsers: 0,
  clients: 0,
  groups: 0,
  realmRoles: 0,
  clientRoles: 0,
  clientScopes: 0,
  identityProviders: 0,
  keyProviders: 0,
});

/** One realm's files joined into its JSON on `out`. */
class RealmWriter {
  readonly counts: RealmCounts = zeroCounts();
  /** Where the output is: nothing yet, inside the users array, inside federatedUsers. */
  private section: 'none' | 'users' | 'federatedUsers' = 'none';
  private first = true;

  constructor(
    private readonly out: Writable,
    private readonly realm: string,
  ) {}

  async finish(): Promise<void> {
    if (this.section !== 'none') await this.put(']}');
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }

  private async put(text: string): Promise<void> {
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async handleRealm(name: string, body: Buffer): Promise<void> {
    const rep = JSON.parse(body.toString('utf8')) as RealmRep;
    if (this.section !== 'none') throw new OperationError(`the realm export holds ${name} twice`);
    const c = this.counts;
    c.realm = rep.realm;
    c.id = rep.id;
    c.keycloakVersion = rep.keycloakVersion;
    c.clients = rep.clients?.length ?? 0;
    c.groups = rep.groups?.length ?? 0;
    c.realmRoles = rep.roles?.realm?.length ?? 0;
    c.clientRoles = Object.values(rep.roles?.client ?? {}).reduce((n, r) => n + r.length, 0);
    c.clientScopes = rep.clientScopes?.length ?? 0;
    c.identityProviders = rep.identityProviders?.length ?? 0;
    c.keyProviders = rep.components?.['org.keycloak.keys.KeyProvider']?.length ?? 0;
    const inline = rep.users ?? [];
    delete rep.users;
    delete rep.federatedUsers;
    await this.put(`${JSON.stringify(rep).slice(0, -1)},"users":[`);
    this.section = 'users';
    await this.addUsers(inline);
  }

  /** A page file of this realm starts: users pages first, then federated users. */
  async beginPage(name: string): Promise<void> {
    if (this.section === 'none')
      throw new OperationError(`the realm export sent ${name} before the realm`);
    if (name.startsWith(`${this.realm}-users-`)) {
      if (this.section !== 'users')
        throw new OperationError(`the realm export sent ${name} out of order`);
    } else if (name.startsWith(`${this.realm}-federated-users-`)) {
      if (this.section === 'users') {
        await this.put('],"federatedUsers":[');
        this.section = 'federatedUsers';
        this.first = true;
      }
    } else {
      throw new OperationError(`the realm export holds an unexpected file ${name}`);
    }
  }

  /** One element of a page's `users` or `federatedUsers` array, as its JSON text. */
  async addElement(name: string, key: string, json: Buffer): Promise<void> {
    if (key !== this.section)
      throw new OperationError(`the realm export's ${name} holds ${key} out of order`);
    const u = JSON.parse(json.toString('utf8')) as { serviceAccountClientId?: string };
    if (key === 'users') return this.addUsers([u]);
    await this.put(`${this.first ? '' : ','}${JSON.stringify(u)}`);
    this.first = false;
    this.counts.federatedUsers++;
  }

  private async addUsers(users: { serviceAccountClientId?: string }[]): Promise<void> {
    for (const u of users) {
      await this.put(`${this.first ? '' : ','}${JSON.stringify(u)}`);
      this.first = false;
      this.counts.users++;
      if (u.serviceAccountClientId) this.counts.serviceAccounts++;
    }
  }
}
