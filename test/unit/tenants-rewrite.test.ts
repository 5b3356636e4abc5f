import { expect } from 'chai';
import {
  mapServiceHost,
  rewriteTenants,
  setServerCredentials,
  type Tenant,
  type TenantsMapping,
} from '../../src/components/resources/tenants-rewrite.js';
import { tenantsSecretTransform } from '../../src/components/resources/transforms/tenants-secret.js';
import { parseTenantHosts } from '../../src/cli/tenant-host.js';
import type { KubeObject } from '../../src/kube/object.js';

const PG = 'default-postgresql-dbms-in-namespace-service';
const KC = 'default-sso-in-namespace-service';

/** The REL v7.3.0 sample's shape, for namespace `src` and app host qs.example.com. */
const t1 = (over: Tenant = {}): Tenant => ({
  tenantCode: 't1',
  fqdns: 't1.qs.example.com',
  kcAuthUrl: 'https://qs.example.com/auth',
  kcRealm: 't1',
  kcClientSecret: 'client-secret-value',
  kcInternalAuthUrl: `http://${KC}.src.svc.cluster.local:8080/auth`,
  kcAdminUsername: 'entando_keycloak_admin',
  kcAdminPassword: 'old-kc-admin-password',
  dbUrl: `jdbc:postgresql://${PG}.src.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db?currentSchema=t1`,
  dbUsername: 'postgres',
  dbPassword: 'old-pg-password',
  deDbUrl: `jdbc:postgresql://${PG}.src:5432/default_postgresql_dbms_in_namespace_db?currentSchema=t1_cmschema`,
  deDbUsername: 't1_cm',
  deDbPassword: 'own-cm-password',
  cdsPublicUrl: 'https://cds.qs.example.com/t1',
  cdsPrivateUrl: 'http://t1-cds-service.src.svc.cluster.local:8080',
  solrAddress: 'http://solr-solrcloud-common/solr',
  ...over,
});

const moved: TenantsMapping = {
  sourceNamespace: 'src',
  targetNamespace: 'dst',
  sourceHost: 'qs.example.com',
  targetHost: 'qs2.example.com',
};

describe('tenants Secret: namespaces in in-cluster URLs', () => {
  it('maps the namespace of JDBC hosts with and without .svc.cluster.local, keeping ?currentSchema=', () => {
    const r = rewriteTenants([t1()], moved);
    const t = r.tenants[0];
    expect(t.dbUrl).to.equal(
      `jdbc:postgresql://${PG}.dst.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db?currentSchema=t1`,
    );
    expect(t.deDbUrl).to.equal(
      `jdbc:postgresql://${PG}.dst:5432/default_postgresql_dbms_in_namespace_db?currentSchema=t1_cmschema`,
    );
    expect(r.changes).to.include(
      `t1: dbUrl host ${PG}.src.svc.cluster.local -> ${PG}.dst.svc.cluster.local`,
    );
    expect(r.changes).to.include(`t1: deDbUrl host ${PG}.src -> ${PG}.dst`);
  });

  it('maps kcInternalAuthUrl and cdsPrivateUrl; keeps short names (same namespace)', () => {
    const r = rewriteTenants(
      [t1({ dbUrl: `jdbc:postgresql://${PG}:5432/db?currentSchema=t1` })],
      moved,
    );
    const t = r.tenants[0];
    expect(t.kcInternalAuthUrl).to.equal(`http://${KC}.dst.svc.cluster.local:8080/auth`);
    expect(t.cdsPrivateUrl).to.equal('http://t1-cds-service.dst.svc.cluster.local:8080');
    expect(t.dbUrl).to.equal(`jdbc:postgresql://${PG}:5432/db?currentSchema=t1`);
    expect(t.solrAddress).to.equal('http://solr-solrcloud-common/solr');
    expect(r.changes.some((c) => c.includes('solrAddress') || c.includes(' dbUrl'))).to.equal(
      false,
    );
  });

  it('follows --namespace-map for another namespace; an unmapped one keeps its name', () => {
    const solr = (ns: string) => `http://solr-solrcloud-common.${ns}.svc.cluster.local/solr`;
    const m = { ...moved, namespaceMap: { solr: 'solr2' } };
    expect(rewriteTenants([t1({ solrAddress: solr('solr') })], m).tenants[0].solrAddress).to.equal(
      solr('solr2'),
    );
    expect(rewriteTenants([t1({ solrAddress: solr('other') })], m).tenants[0].solrAddress).to.equal(
      solr('other'),
    );
    // Public names of two labels are not services of a mapped namespace.
    expect(mapServiceHost('example.com', m)).to.equal(undefined);
  });

  it('MySQL and Oracle JDBC hosts too; an embedded URL is left alone', () => {
    const r = rewriteTenants(
      [
        t1({
          dbUrl: 'jdbc:mysql://mysql.src.svc:3306/t1db',
          deDbUrl: 'jdbc:oracle:thin:@//ora.src.svc.cluster.local:1521/ORCL',
          cdsPrivateUrl: 'jdbc:derby:/entando-data/db',
        }),
      ],
      moved,
    ).tenants[0];
    expect(r.dbUrl).to.equal('jdbc:mysql://mysql.dst.svc:3306/t1db');
    expect(r.deDbUrl).to.equal('jdbc:oracle:thin:@//ora.dst.svc.cluster.local:1521/ORCL');
    expect(r.cdsPrivateUrl).to.equal('jdbc:derby:/entando-data/db');
  });
});

describe('tenants Secret: public hosts', () => {
  it('re-bases the app host and the names under it on --ingress-host', () => {
    const r = rewriteTenants([t1({ fqdns: 't1.qs.example.com,www.t1.qs.example.com' })], moved);
    const t = r.tenants[0];
    expect(t.fqdns).to.equal('t1.qs2.example.com,www.t1.qs2.example.com');
    expect(t.kcAuthUrl).to.equal('https://qs2.example.com/auth');
    expect(t.cdsPublicUrl).to.equal('https://cds.qs2.example.com/t1');
    expect(r.changes).to.include(
      't1: fqdns t1.qs.example.com,www.t1.qs.example.com -> t1.qs2.example.com,www.t1.qs2.example.com',
    );
    expect(r.changes).to.include('t1: kcAuthUrl host qs.example.com -> qs2.example.com');
    expect(r.notes).to.deep.equal([]);
  });

  it('keeps a host that does not relate to the app host, with a note naming --tenant-host', () => {
    const r = rewriteTenants(
      [t1({ fqdns: 't1.other.org', cdsPublicUrl: 'https://qs-cds.example.com/t1' })],
      moved,
    );
    expect(r.tenants[0].fqdns).to.equal('t1.other.org');
    expect(r.tenants[0].cdsPublicUrl).to.equal('https://qs-cds.example.com/t1');
    expect(
      r.changes.filter((c) => c.includes('fqdns') || c.includes('cdsPublicUrl')),
    ).to.deep.equal([]);
    expect(r.notes[0]).to.match(/^t1: fqdns host t1\.other\.org kept: .*--tenant-host t1=HOST$/);
    expect(r.notes[1]).to.match(/^t1: cdsPublicUrl host qs-cds\.example\.com kept/);
  });

  it('changes no host and notes nothing when the app host stays', () => {
    const r = rewriteTenants([t1({ fqdns: 't1.other.org' })], { ...moved, targetHost: undefined });
    expect(r.tenants[0].fqdns).to.equal('t1.other.org');
    expect(r.tenants[0].kcAuthUrl).to.equal('https://qs.example.com/auth');
    expect(r.notes).to.deep.equal([]);
  });

  it('--tenant-host replaces the tenant’s hosts, and a URL on its old host follows', () => {
    const r = rewriteTenants(
      [
        t1({ fqdns: 't1.other.org', cdsPublicUrl: 'https://t1.other.org/cds' }),
        t1({ tenantCode: 't2', fqdns: 't2.qs.example.com' }),
      ],
      { ...moved, tenantHosts: { t1: ['t1.new.example.com', 'alt.new.example.com'] } },
    );
    expect(r.tenants[0].fqdns).to.equal('t1.new.example.com,alt.new.example.com');
    expect(r.tenants[0].cdsPublicUrl).to.equal('https://t1.new.example.com/cds');
    // The app's Keycloak URL is not the tenant's host: it moves with --ingress-host.
    expect(r.tenants[0].kcAuthUrl).to.equal('https://qs2.example.com/auth');
    expect(r.tenants[1].fqdns).to.equal('t2.qs2.example.com');
    expect(r.changes).to.include(
      't1: fqdns t1.other.org -> t1.new.example.com,alt.new.example.com (--tenant-host)',
    );
    expect(r.notes).to.deep.equal([]);
  });

  it('--keycloak keep: the source Keycloak’s URLs stay, and say so', () => {
    const r = rewriteTenants([t1()], { ...moved, keycloak: 'keep' });
    expect(r.tenants[0].kcAuthUrl).to.equal('https://qs.example.com/auth');
    expect(r.tenants[0].kcInternalAuthUrl).to.equal(t1().kcInternalAuthUrl);
    expect(r.tenants[0].fqdns).to.equal('t1.qs2.example.com');
    expect(r.notes.join('\n')).to.match(/--keycloak keep/);
  });

  it('--tenant-host: CODE=HOST with a DNS host, repeatable', () => {
    expect(
      parseTenantHosts(['t1=a.example.com', 't1=b.example.com', 't2=c.example.com']),
    ).to.deep.equal({ t1: ['a.example.com', 'b.example.com'], t2: ['c.example.com'] });
    for (const bad of ['t1', '=a.example.com', 't1=Not_A_Host', 't1=https://a.example.com']) {
      expect(() => parseTenantHosts([bad]), bad).to.throw(/expected CODE=HOST/);
    }
  });
});

describe('tenants Secret: admin credentials of servers the target re-makes', () => {
  const servers = {
    keycloak: {
      username: 'admin-new',
      password: 'new-kc-admin-password',
      service: { name: KC, namespace: 'dst' },
    },
    dbms: {
      username: 'postgres',
      password: 'new-pg-password',
      service: { name: PG, namespace: 'dst' },
    },
  };

  it("sets the Keycloak admin and the DBMS admin's password; keeps a tenant's own DB user", () => {
    const r = rewriteTenants([t1()], moved, servers);
    const t = r.tenants[0];
    expect([t.kcAdminUsername, t.kcAdminPassword]).to.deep.equal([
      'admin-new',
      'new-kc-admin-password',
    ]);
    expect(t.dbPassword).to.equal('new-pg-password');
    expect(t.deDbPassword).to.equal('own-cm-password');
    expect(t.kcClientSecret).to.equal('client-secret-value');
    expect(r.changes).to.include(
      "t1: kcAdminUsername, kcAdminPassword: set to the target Keycloak admin's",
    );
    expect(r.changes).to.include(
      "t1: dbPassword: set to the target DBMS admin's (dbUsername postgres)",
    );
  });

  it('never puts a credential value in a change line', () => {
    const r = rewriteTenants([t1()], moved, servers);
    const lines = [...r.changes, ...r.notes].join('\n');
    for (const v of [
      'old-kc-admin-password',
      'new-kc-admin-password',
      'old-pg-password',
      'new-pg-password',
      'own-cm-password',
      'client-secret-value',
    ]) {
      expect(lines).to.not.include(v);
    }
  });

  it('leaves a tenant on another Keycloak or DBMS alone', () => {
    const other = t1({
      kcInternalAuthUrl: 'http://sso.corp.example.com/auth',
      dbUrl: 'jdbc:postgresql://pg.shared.svc:5432/db?currentSchema=t1',
    });
    const r = setServerCredentials([other], 'dst', servers);
    expect(r.changes).to.deep.equal([]);
    expect(r.tenants[0]).to.deep.equal(other);
  });
});

describe("tenants Secret: kcAuthUrl on the app's own Keycloak host", () => {
  const onSso = t1({ kcAuthUrl: 'http://sso.src.example.com/auth' });
  const m = { ...moved, sourceKeycloakUrl: 'http://sso.src.example.com/auth/' };
  const keycloak = (publicUrl: string) => ({
    keycloak: {
      username: 'admin-new',
      password: 'pw',
      service: { name: KC, namespace: 'dst' },
      publicUrl,
    },
  });

  it('is not a kept host (no note): it follows the Keycloak the target makes', () => {
    const r = rewriteTenants([onSso], m);
    expect(r.notes.join('\n')).to.not.include('kcAuthUrl');
    expect(r.tenants[0].kcAuthUrl).to.equal('http://sso.src.example.com/auth');
  });

  it("becomes the target Keycloak's public URL once it is known", () => {
    const r = setServerCredentials(
      [onSso],
      'dst',
      keycloak('http://sso.dst.example.com/auth'),
      m.sourceKeycloakUrl,
    );
    expect(r.tenants[0].kcAuthUrl).to.equal('http://sso.dst.example.com/auth');
    expect(r.changes).to.include(
      "t1: kcAuthUrl: the app's Keycloak http://sso.src.example.com/auth: set to the target Keycloak's public URL http://sso.dst.example.com/auth",
    );
  });

  it('is planned without a value, and another Keycloak is still a kept host', () => {
    const planned = setServerCredentials([onSso], 'dst', keycloak('\0'), m.sourceKeycloakUrl);
    expect(planned.tenants[0].kcAuthUrl).to.equal('http://sso.src.example.com/auth');
    expect(planned.changes[0]).to.match(/set to the target Keycloak's public URL$/);
    const other = rewriteTenants([t1({ kcAuthUrl: 'https://kc.other.com/auth' })], m);
    expect(other.notes.join('\n')).to.include('kcAuthUrl host kc.other.com kept');
  });
});

describe('tenants Secret: the restore transform', () => {
  const secret = (form: 'data' | 'stringData', value: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'entando-tenants-secret', namespace: 'src' },
    [form]: {
      ENTANDO_TENANTS: form === 'data' ? Buffer.from(value).toString('base64') : value,
      other: form === 'data' ? Buffer.from('x').toString('base64') : 'x',
    },
  });
  const decoded = (o: KubeObject) =>
    JSON.parse(
      Buffer.from((o.data as Record<string, string>).ENTANDO_TENANTS, 'base64').toString('utf8'),
    ) as Tenant[];

  for (const form of ['data', 'stringData'] as const) {
    it(`reads ${form}, writes data`, () => {
      const r = tenantsSecretTransform.apply(secret(form, JSON.stringify([t1()])), moved);
      expect(r.object.stringData).to.equal(undefined);
      expect(decoded(r.object)[0].dbUrl).to.match(/\.dst\.svc\.cluster\.local:5432/);
      expect((r.object.data as Record<string, string>).other).to.equal(
        Buffer.from('x').toString('base64'),
      );
      expect(r.changes[0]).to.match(/^ENTANDO_TENANTS: t1: /);
    });
  }

  it('an archive restored in place and on its host is restored untouched', () => {
    const same = { ...moved, targetNamespace: 'src', targetHost: 'qs.example.com' };
    const obj = secret('data', JSON.stringify([t1()]));
    const r = tenantsSecretTransform.apply(obj, same);
    expect(r.changes).to.deep.equal([]);
    expect(r.object).to.equal(obj);
  });

  it('a value that is not a JSON array is restored as archived, and said so', () => {
    const r = tenantsSecretTransform.apply(secret('data', 'not json'), moved);
    expect(r.changes).to.deep.equal(['ENTANDO_TENANTS is not a JSON array: restored as archived']);
  });
});
