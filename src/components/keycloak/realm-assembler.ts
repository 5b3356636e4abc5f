/**
 * Turns the export script's stdout — files of a `dir` realm export, each after a
 * `KCFILE <name> <bytes>` line: `<realm>-realm.json`, then `<realm>-users-<n>.json` pages, then
 * `<realm>-federated-users-<n>.json` — into one realm representation (the shape of a
 * `singleFile` export: users inline), written to `out` as it comes, with backpressure. Memory is
 * one file at a time (a page of users, or the realm without its users). Counts what it wrote.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { OperationError } from '../../errors.js';
import type { RealmCounts } from '../../contract/manifest.js';

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
  readonly counts: RealmCounts = {
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
  };
  private header: Buffer[] = [];
  private headerBytes = 0;
  private file?: { name: string; size: number; parts: Buffer[]; have: number };
  /** Where the output is: nothing yet, inside the users array, inside federatedUsers. */
  private section: 'none' | 'users' | 'federatedUsers' = 'none';
  private first = true;

  constructor(
    private readonly out: Writable,
    private readonly realm: string,
  ) {
    super();
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
      if (this.section !== 'none') await this.put(']}');
      await new Promise<void>((resolve, reject) => {
        this.out.once('error', reject);
        this.out.end(() => resolve());
      });
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
        const m = HEADER.exec(line);
        if (!m)
          throw new OperationError(
            `the realm export stream is not framed as expected: ${line.slice(0, 80)}`,
          );
        this.file = { name: m[1], size: Number(m[2]), parts: [], have: 0 };
      }
      const f = this.file;
      const take = Math.min(f.size - f.have, chunk.length - off);
      f.parts.push(chunk.subarray(off, off + take));
      f.have += take;
      off += take;
      if (f.have === f.size) {
        this.file = undefined;
        await this.handle(f.name, Buffer.concat(f.parts));
      }
    }
  }

  private async put(text: string): Promise<void> {
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  private async handle(name: string, body: Buffer): Promise<void> {
    const rep = JSON.parse(body.toString('utf8')) as RealmRep;
    if (name === `${this.realm}-realm.json`) {
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
      return;
    }
    if (this.section === 'none')
      throw new OperationError(`the realm export sent ${name} before the realm`);
    if (name.startsWith(`${this.realm}-users-`)) {
      if (this.section !== 'users')
        throw new OperationError(`the realm export sent ${name} out of order`);
      await this.addUsers(rep.users ?? []);
    } else if (name.startsWith(`${this.realm}-federated-users-`)) {
      if (this.section === 'users') {
        await this.put('],"federatedUsers":[');
        this.section = 'federatedUsers';
        this.first = true;
      }
      for (const u of rep.federatedUsers ?? []) {
        await this.put(`${this.first ? '' : ','}${JSON.stringify(u)}`);
        this.first = false;
        this.counts.federatedUsers++;
      }
    } else {
      throw new OperationError(`the realm export holds an unexpected file ${name}`);
    }
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
