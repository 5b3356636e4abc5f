/**
 * Counts what a realm export holds while it streams past, without holding it: a JSON scanner
 * that tracks the key path and counts the elements of the arrays that matter (users, clients,
 * groups, realm and client roles...) and keeps a few top-level strings (realm, id,
 * keycloakVersion). Memory stays constant whatever the realm's size.
 */
export interface RealmCounts {
  realm?: string;
  id?: string;
  keycloakVersion?: string;
  users: number;
  /** Users that are a client's service account (the live users/count leaves them out). */
  serviceAccounts: number;
  federatedUsers: number;
  clients: number;
  groups: number;
  realmRoles: number;
  clientRoles: number;
  clientScopes: number;
  identityProviders: number;
  /** Key providers and other components (org.keycloak.keys.KeyProvider among them). */
  keyProviders: number;
}

const COUNTED: Record<string, keyof RealmCounts> = {
  users: 'users',
  federatedUsers: 'federatedUsers',
  clients: 'clients',
  groups: 'groups',
  'roles.realm': 'realmRoles',
  clientScopes: 'clientScopes',
  identityProviders: 'identityProviders',
  'components.org.keycloak.keys.KeyProvider': 'keyProviders',
};
const KEPT = new Set(['realm', 'id', 'keycloakVersion']);

interface Frame {
  array: boolean;
  /** Key path of the container ('' for the root; keys joined with '.', '[]' for elements). */
  path: string;
  counter?: keyof RealmCounts;
  /** Objects: the next string is a key (after '{' and ','), else a value (after ':'). */
  expectKey: boolean;
  key?: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class RealmScanner {
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
  private stack: Frame[] = [];
  private inString = false;
  private inScalar = false;
  private escaped = false;
  private isKey = false;
  private valuePath = '';
  private str: number[] = [];

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) {
          this.inString = false;
          this.endString();
          continue;
        }
        if (this.str.length < 512) this.str.push(b);
        continue;
      }
      if (this.inScalar) {
        if (b !== 0x2c && b !== 0x5d && b !== 0x7d && b > 0x20) continue;
        this.inScalar = false;
      }
      const top = this.stack[this.stack.length - 1];
      switch (b) {
        case QUOTE:
          this.inString = true;
          this.str = [];
          this.isKey = !!top && !top.array && top.expectKey;
          if (!this.isKey) this.valuePath = this.valueStarts();
          break;
        case 0x7b: // {
        case 0x5b: {
          // [
          const path = this.valueStarts();
          const array = b === 0x5b;
          this.stack.push({
            array,
            path,
            expectKey: !array,
            counter: array ? counterFor(path) : undefined,
          });
          break;
        }
        case 0x7d: // }
        case 0x5d: // ]
          this.stack.pop();
          break;
        case 0x3a: // :
          if (top && !top.array) top.expectKey = false;
          break;
        case 0x2c: // ,
          if (top && !top.array) top.expectKey = true;
          break;
        default:
          // A number, true, false or null: one value (its other bytes are skipped).
          if (b > 0x20 && top && (top.array || !top.expectKey)) {
            this.valueStarts();
            this.inScalar = true;
          }
      }
    }
  }

  /** A value begins in the top container: its path; in a counted array, one more element. */
  private valueStarts(): string {
    const top = this.stack[this.stack.length - 1];
    if (!top) return '';
    if (top.array) {
      if (top.counter) (this.counts[top.counter] as number)++;
      return `${top.path}[]`;
    }
    return top.path ? `${top.path}.${top.key ?? ''}` : (top.key ?? '');
  }

  private endString(): void {
    const top = this.stack[this.stack.length - 1];
    const text = () => Buffer.from(this.str).toString('utf8');
    if (this.isKey) {
      top!.key = text();
      if (top!.key === 'serviceAccountClientId' && top!.path === 'users[]') {
        this.counts.serviceAccounts++;
      }
      return;
    }
    if (this.stack.length === 1 && KEPT.has(this.valuePath)) {
      (this.counts as unknown as Record<string, string>)[this.valuePath] = text();
    }
  }
}

function counterFor(path: string): keyof RealmCounts | undefined {
  if (COUNTED[path]) return COUNTED[path];
  if (path.startsWith('roles.client.') && !path.slice('roles.client.'.length).includes('[]')) {
    return 'clientRoles';
  }
  return undefined;
}
