import { expect } from 'chai';
import { RealmScanner } from '../../src/components/keycloak/realm-scan.js';
import {
  addHostToClients,
  importRefusal,
  type RealmClient,
} from '../../src/components/keycloak/host-rewrite.js';
import { prepareObject } from '../../src/restore/transforms/index.js';

const realm = {
  id: 'r-1',
  realm: 'entando',
  keycloakVersion: '18.0.2',
  enabled: true,
  accessTokenLifespan: 300,
  roles: {
    realm: [{ name: 'offline_access', composite: false }, { name: 'uma "x" [y]' }, { name: 'z' }],
    client: { 'a.b-server': [{ name: 'r1' }, { name: 'r2' }], broker: [{ name: 'read-token' }] },
  },
  groups: [
    { name: 'g1', subGroups: [{ name: 'nested' }] },
    { name: 'g2', subGroups: [] },
  ],
  clients: [
    { clientId: 'c1', redirectUris: ['https://h/*'], attributes: { n: 12345, t: true } },
    { clientId: 'c2', secret: 'not [counted', config: { users: [1, 2, 3] } },
  ],
  users: [
    { username: 'u1', credentials: [{ type: 'password', secretData: '{"value":"x\\"}"}' }] },
    { username: 'u2', groups: ['/g1'], clientRoles: { 'a.b-server': ['r1'] } },
    { username: 'service-account-c1', serviceAccountClientId: 'c1' },
    { username: 'u3', attributes: { users: ['a', 'b'] }, notBefore: 0 },
  ],
  components: {
    'org.keycloak.keys.KeyProvider': [{ name: 'rsa' }, { name: 'hmac' }, { name: 'aes' }],
    'org.keycloak.storage.UserStorageProvider': [],
  },
  identityProviders: [],
  clientScopes: [{ name: 'email' }, { name: 'profile' }],
};

function scan(text: string, chunk = 7) {
  const s = new RealmScanner();
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) s.push(buf.subarray(i, i + chunk));
  return s.counts;
}

describe('keycloak realm scanner', () => {
  for (const [name, text] of [
    ['compact', JSON.stringify(realm)],
    ['pretty (as Keycloak writes it)', JSON.stringify(realm, null, 2).replace(/": /g, '" : ')],
  ]) {
    it(`counts what a ${name} export holds, chunk by chunk`, () => {
      for (const chunk of [1, 7, 4096]) {
        expect(scan(text, chunk)).to.deep.equal({
          id: 'r-1',
          realm: 'entando',
          keycloakVersion: '18.0.2',
          users: 4,
          serviceAccounts: 1,
          federatedUsers: 0,
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
  }
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
