// Unit tests of the operator stand-in's pure parts (no cluster needed).
import { expect } from 'chai';
import { mysqlSql, postgresqlSql } from '../../sandbox/operator/dbms.js';
import {
  databaseUsername,
  needsProcessing,
  snakeCase,
  type EntandoResource,
} from '../../sandbox/operator/model.js';
import {
  appObjects,
  datasources,
  dbmsObjects,
  pluginObjects,
  ssoSecrets,
  type SandboxDbms,
} from '../../sandbox/operator/resources.js';

function cr(kind: EntandoResource['kind'], spec: EntandoResource['spec'] = {}): EntandoResource {
  return {
    apiVersion: 'entando.org/v1',
    kind,
    metadata: { name: 'quick-start', namespace: 'ns1', uid: 'uid-1', generation: 1 },
    spec,
  };
}

const sandbox: SandboxDbms = {
  postgresql: {
    host: '127.0.0.1',
    port: 16432,
    adminUser: 'postgres',
    adminPassword: 'pw',
    database: 'default_postgresql_dbms_in_namespace_db',
  },
  mysql: { host: '127.0.0.1', port: 16306, adminUser: 'root', adminPassword: 'pw2' },
};

describe('operator stand-in: model', () => {
  it('processes by generation and processing instruction', () => {
    const a = cr('EntandoApp');
    expect(needsProcessing(a)).to.equal(true);
    a.status = { observedGeneration: 1 };
    expect(needsProcessing(a)).to.equal(false);
    a.metadata.annotations = { 'entando.org/processing-instruction': 'force' };
    expect(needsProcessing(a)).to.equal(true);
    a.metadata.generation = 2;
    a.metadata.annotations = { 'entando.org/processing-instruction': 'ignore' };
    expect(needsProcessing(a)).to.equal(false);
    a.metadata.annotations = { 'entando.org/processing-instruction': 'defer' };
    expect(needsProcessing(a)).to.equal(false);
    a.metadata.annotations = {};
    a.metadata.ownerReferences = [
      { apiVersion: 'entando.org/v1', kind: 'EntandoApp', name: 'x', uid: 'u' },
    ];
    expect(needsProcessing(a)).to.equal(false);
  });

  it('makes 7.x usernames: snake case, qualifier, 5 digits, within the DBMS limit', () => {
    expect(snakeCase('quick-start.app')).to.equal('quick_start_app');
    expect(databaseUsername('quick-start', 'portdb', 'postgresql', () => '01234')).to.equal(
      'quick_start_portdb_01234',
    );
    expect(databaseUsername('quickstart', 'portdb', 'postgresql')).to.match(
      /^quickstart_portdb_\d{5}$/,
    );
    const long = databaseUsername('pn-6cd85816-137bfc68-simple-ms', 'plugindb', 'mysql');
    expect(long.length).to.be.at.most(32);
    expect(long).to.match(/^pn_6cd85816_137bf_plugindb_\d{5}$/);
  });

  it('has DB secrets only with a DBMS; embedded (or omitted) has none', () => {
    expect(datasources(cr('EntandoApp', { dbms: 'postgresql' }))).to.deep.equal([
      'portdb',
      'servdb',
      'dedb',
    ]);
    expect(datasources(cr('EntandoApp'))).to.deep.equal([]);
    expect(datasources(cr('EntandoApp', { dbms: 'embedded' }))).to.deep.equal([]);
    expect(datasources(cr('EntandoPlugin', { dbms: 'mysql' }))).to.deep.equal(['plugindb']);
    expect(ssoSecrets(cr('EntandoApp')).map(([n]) => n)).to.deep.equal([
      'quick-start-secret',
      'quick-start-de-secret',
    ]);
    expect(ssoSecrets(cr('EntandoPlugin')).map(([n]) => n)).to.deep.equal([
      'quick-start-server-secret',
    ]);
  });

  it('generates the real object names, labels and controller ownerReferences', () => {
    const app = cr('EntandoApp', { dbms: 'postgresql', ingressHostName: 'h.example' });
    const objs = appObjects(app, { portdb: 'u1', servdb: 'u2', dedb: 'u3' });
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).to.deep.equal([
      'Deployment/quick-start-ab-deployment',
      'Deployment/quick-start-cm-deployment',
      'Deployment/quick-start-deployment',
      'Ingress/quick-start-ingress',
      'PersistentVolumeClaim/quick-start-de-pvc',
      'PersistentVolumeClaim/quick-start-server-pvc',
      'Service/quick-start-ab-service',
      'Service/quick-start-cm-service',
      'Service/quick-start-service',
    ]);
    for (const o of objs) {
      expect(o.metadata.labels).to.include({
        EntandoApp: 'quick-start',
        'entando.org/entando-resource-kind': 'EntandoApp',
        'entando.org/entando-resource-namespace': 'ns1',
      });
      expect(o.metadata.ownerReferences).to.deep.equal([
        {
          apiVersion: 'entando.org/v1',
          kind: 'EntandoApp',
          name: 'quick-start',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const main = objs.find((o) => o.metadata.name === 'quick-start-deployment') as unknown as {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: unknown } };
    };
    expect(main.spec.template.metadata.labels['entando.org/deployment']).to.equal(
      'quick-start-deployment',
    );
    const podSpec = JSON.stringify(main.spec.template.spec);
    expect(podSpec).to.include('"name":"server-container"');
    expect(podSpec).to.include('"mountPath":"/entando-data"');
    expect(podSpec).to.include('"claimName":"quick-start-server-pvc"');
    expect(podSpec).to.include(
      'jdbc:postgresql://default-postgresql-dbms-in-namespace-service.ns1.svc.cluster.local:5432/default_postgresql_dbms_in_namespace_db',
    );
    expect(podSpec).to.include(
      '"secretKeyRef":{"name":"quick-start-portdb-secret","key":"password"}',
    );
    const plugin = pluginObjects(cr('EntandoPlugin', { dbms: 'mysql' }), { plugindb: 'p_1' });
    expect(plugin.map((o) => o.metadata.name)).to.include('quick-start-server-pvc');
    expect(JSON.stringify(plugin)).to.include(
      'jdbc:mysql://default-mysql-dbms-in-namespace-service.ns1.svc.cluster.local:3306/p_1',
    );
  });

  it('points the in-namespace DBMS pod at the sandbox server (env + port-map)', () => {
    const { deployment, service, adminSecret } = dbmsObjects(
      cr('EntandoApp'),
      'postgresql',
      sandbox,
    );
    expect(deployment.metadata.name).to.equal('default-postgresql-dbms-in-namespace-deployment');
    expect(service.metadata.name).to.equal('default-postgresql-dbms-in-namespace-service');
    expect(adminSecret.metadata.name).to.equal('default-postgresql-dbms-in-namespace-admin-secret');
    expect(adminSecret.stringData).to.deep.equal({ username: 'postgres', password: 'pw' });
    const s = JSON.stringify(deployment);
    expect(s).to.include('"sandbox.entando.org/port-map":"5432:16432"');
    expect(s).to.include('"name":"db-container"');
    expect(s).to.include('{"name":"PGPORT","value":"16432"}');
    const my = JSON.stringify(dbmsObjects(cr('EntandoApp'), 'mysql', sandbox).deployment);
    expect(my).to.include('"sandbox.entando.org/port-map":"3306:16306"');
    expect(my).to.include('{"name":"MYSQL_TCP_PORT","value":"16306"}');
  });

  it('quotes identifiers and passwords in provisioning SQL', () => {
    const pg = postgresqlSql('db', { username: 'u"x', password: "p'w" });
    expect(pg).to.include('CREATE ROLE "u""x" WITH LOGIN PASSWORD \'p\'\'w\'');
    expect(pg).to.include('ALTER ROLE "u""x" WITH LOGIN PASSWORD'); // forced reset
    expect(pg).to.include('CREATE SCHEMA IF NOT EXISTS "u""x" AUTHORIZATION "u""x"');
    const my = mysqlSql({ username: 'u`x', password: "p'\\w" });
    expect(my).to.include('CREATE DATABASE IF NOT EXISTS `u``x`');
    expect(my).to.include("IDENTIFIED BY 'p\\'\\\\w'");
    expect(my).to.include("'u`x'@'%'");
    expect(my).to.include("'u`x'@'localhost'");
  });
});
