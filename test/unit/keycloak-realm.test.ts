import { expect } from 'chai';
import { Writable } from 'node:stream';
import { RealmAssembler } from '../../src/components/keycloak/realm-assembler.js';
import {
  addHostToClients,
  importRefusal,
  type RealmClient,
} from '../../src/components/keycloak/host-rewrite.js';
import { prepareObject } from '../../src/components/resources/transforms/index.js';

const realm = {
  id: 'r-1',
  realm: 'entando',
  keycloakVersion: '18.0.2',
  enabled: true,
  roles: {
    realm: [{ name: 'offline_access' }, { name: 'uma "x" [y]' }, { name: 'z' }],
    client: { 'a.b-server': [{ name: 'r1' }, { name: 'r2' }], broker: [{ name: 'read-token' }] },
  },
  groups: [{ name: 'g1', subGroups: [{ name: 'nested' }] }, { name: 'g2' }],
  clients: [{ clientId: 'c1' }, { clientId: 'c2', secret: 'KCFILE x 3\n' }],
  components: {
    'org.keycloak.keys.KeyProvider': [{ name: 'rsa' }, { name: 'hmac' }, { name: 'aes' }],
  },
  identityProviders: [],
  clientScopes: [{ name: 'email' }, { name: 'profile' }],
};
const page0 = {
  realm: 'entando',
  users: [{ username: 'u1', credentials: [{ secretData: '{"value":"é"}' }] }, { username: 'u2' }],
};
const page1 = {
  realm: 'entando',
  users: [{ username: 'service-account-c1', serviceAccountClientId: 'c1' }],
};
const fed0 = { realm: 'entando', federatedUsers: [{ id: 'f1' }] };

function framed(files: [string, unknown][]): Buffer {
  return Buffer.concat(
    files.flatMap(([name, doc]) => {
      const body = Buffer.from(JSON.stringify(doc, null, 2));
      return [Buffer.from(`KCFILE ${name} ${body.length}\n`), body];
    }),
  );
}

async function assemble(input: Buffer, chunk: number) {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, done) {
      out.push(c);
      done();
    },
  });
  const a = new RealmAssembler(sink, 'entando');
  for (let i = 0; i < input.length; i += chunk) {
    if (!a.write(input.subarray(i, i + chunk))) await new Promise((r) => a.once('drain', r));
  }
  await new Promise<void>((resolve, reject) => {
    a.once('error', reject);
    a.end(() => resolve());
  });
  return { json: JSON.parse(Buffer.concat(out).toString('utf8')), counts: a.counts };
}

describe('keycloak realm assembler (dir export -> one realm JSON)', () => {
  it('joins the realm and its user pages, counting, whatever the chunking', async () => {
    const input = framed([
      ['entando-realm.json', realm],
      ['entando-users-0.json', page0],
      ['entando-users-1.json', page1],
      ['entando-federated-users-0.json', fed0],
    ]);
    for (const chunk of [1, 7, 4096]) {
      const { json, counts } = await assemble(input, chunk);
      expect(json).to.deep.equal({
        ...realm,
        users: [...page0.users, ...page1.users],
        federatedUsers: fed0.federatedUsers,
      });
      expect(counts).to.deep.equal({
        id: 'r-1',
        realm: 'entando',
        keycloakVersion: '18.0.2',
        users: 3,
        serviceAccounts: 1,
        federatedUsers: 1,
        clients: 2,
        groups: 2,
        realmRoles: 3,
        clientRoles: 3,
        clientScopes: 2,
        identityProviders: 0,
        keyProviders: 3,
      });
    }
  });

  it('refuses a cut stream, a page before the realm, and an unknown file', async () => {
    const whole = framed([
      ['entando-realm.json', realm],
      ['entando-users-0.json', page0],
    ]);
    for (const [what, input] of [
      ['cut', whole.subarray(0, whole.length - 5)],
      [
        'page first',
        framed([
          ['entando-users-0.json', page0],
          ['entando-realm.json', realm],
        ]),
      ],
      [
        'unknown',
        framed([
          ['entando-realm.json', realm],
          ['other.json', {}],
        ]),
      ],
      ['not framed', Buffer.from('{"realm":"entando"}\n')],
    ] as const) {
      let failed = false;
      await assemble(input, 64).catch(() => (failed = true));
      expect(failed, what).to.equal(true);
    }
  });
});

describe('keycloak realm under a new host', () => {
  it('adds the new host beside the old one, only where the host matches exactly', () => {
    const clients: RealmClient[] = [
      {
        clientId: 'qs',
        redirectUris: [
          'https://old.example.com/entando-de-app/*',
          'https://old.example.com.evil/*',
          '/relative/*',
        ],
        webOrigins: ['https://old.example.com', 'https://other.example.com', '+'],
        attributes: {
          'post.logout.redirect.uris': 'https://old.example.com:8443/x##https://a.b/c',
        },
      },
      { clientId: 'untouched', redirectUris: ['https://other.example.com/*'] },
    ];
    const changes = addHostToClients(clients, 'old.example.com', 'new.example.com');
    expect(changes).to.have.length(1);
    expect(clients[0].redirectUris).to.deep.equal([
      'https://old.example.com/entando-de-app/*',
      'https://old.example.com.evil/*',
      '/relative/*',
      'https://new.example.com/entando-de-app/*',
    ]);
    expect(clients[0].webOrigins).to.deep.equal([
      'https://old.example.com',
      'https://other.example.com',
      '+',
      'https://new.example.com',
    ]);
    expect(clients[0].attributes!['post.logout.redirect.uris']).to.equal(
      'https://old.example.com:8443/x##https://a.b/c##https://new.example.com:8443/x',
    );
    expect(clients[1].redirectUris).to.deep.equal(['https://other.example.com/*']);
    expect(addHostToClients(clients, 'old.example.com', 'new.example.com')).to.deep.equal([]);
  });

  it('imports into the same or a newer Keycloak only', () => {
    expect(importRefusal('15.1.1', '18.0.2')).to.equal(undefined);
    expect(importRefusal('18.0.2', '18.0.2')).to.equal(undefined);
    expect(importRefusal('18.0.2', '15.0.2')).to.match(
      /exported by Keycloak 18\.0\.2 and the target runs 15\.0\.2/,
    );
    expect(importRefusal(undefined, '18.0.2')).to.equal(undefined);
  });
});

describe('SSO secrets with --keycloak skip', () => {
  const sso = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'qs-de-secret', namespace: 'ns' },
    data: { clientId: 'cXMtZGU=', clientSecret: 'eA==' },
  };
  const db = {
    ...sso,
    metadata: { name: 'qs-portdb-secret', namespace: 'ns' },
    data: { username: 'dQ==' },
  };
  const mapping = { sourceNamespace: 'ns', targetNamespace: 'ns' };
  it('are left out with skip, restored otherwise; other secrets always restored', () => {
    expect(prepareObject(sso, { ...mapping, keycloak: 'skip' }).skip).to.match(/--keycloak skip/);
    expect(prepareObject(sso, { ...mapping, keycloak: 'realm' }).skip).to.equal(undefined);
    expect(prepareObject(db, { ...mapping, keycloak: 'skip' }).skip).to.equal(undefined);
  });
});
