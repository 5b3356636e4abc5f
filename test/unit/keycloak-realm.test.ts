import { expect } from 'chai';
import { RealmScanner } from '../../src/components/keycloak/realm-scan.js';

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
