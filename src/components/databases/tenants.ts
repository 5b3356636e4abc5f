import type { SharedDatasource } from '../../contract/manifest.js';
import { TENANTS_SECRET } from '../../entando/kinds.js';
import type { TenantConfig } from '../../entando/tenants.js';
import type { KubeObject } from '../../kube/object.js';
import { serviceOfHost } from '../../kube/service-host.js';
import type { Datasource } from './discovery.js';
import { entryName } from './discovery.js';
import { parseJdbcUrl } from './jdbc.js';

/**
 * The JSON fields of a secondary tenant's datasources (TENANTS.md §1-2): the app engine's one
 * schema (port and serv data both, `TenantInitializerService.initDb`), required; the 7.3
 * component manager's, present only when CM gets the tenants.
 */
export const TENANT_DATASOURCES = [
  { suffix: 'db', url: 'dbUrl', username: 'dbUsername', password: 'dbPassword', required: true },
  {
    suffix: 'dedb',
    url: 'deDbUrl',
    username: 'deDbUsername',
    password: 'deDbPassword',
    required: false,
  },
] as const;

/** `<t>-db`, `<t>-dedb`; a tenant code is kept to what a file name may hold. */
export function tenantQualifier(code: string, suffix: string): string {
  return `${code.replace(/[^A-Za-z0-9_.-]/g, '_')}-${suffix}`;
}

/**
 * The datasources of the tenants' JSON objects, owned by the app with the tenant's code. The
 * credentials are the JSON's (it lives in a Secret: the password stays in memory, `credentials`
 * says where it was read). What cannot be read is a problem naming the tenant.
 */
export function tenantDatasources(
  app: KubeObject,
  tenants: TenantConfig[],
): { datasources: Datasource[]; problems: string[] } {
  const datasources: Datasource[] = [];
  const problems: string[] = [];
  for (const t of tenants) {
    for (const f of TENANT_DATASOURCES) {
      const where = `tenant ${t.code} ${f.url}`;
      const url = t.fields[f.url];
      if (!url) {
        if (f.required) problems.push(`tenant ${t.code}: no ${f.url} in ${t.from}`);
        continue;
      }
      const target = parseJdbcUrl(url);
      if (!target || target.dbms === 'embedded') {
        problems.push(
          `${where}: JDBC URL ${url} not understood (PostgreSQL, MySQL, Oracle expected)`,
        );
        continue;
      }
      const username = t.fields[f.username];
      const password = t.fields[f.password];
      const missing = [!username && f.username, password === undefined && f.password].filter(
        Boolean,
      );
      if (missing.length > 0) {
        problems.push(`${where}: no ${missing.join(' or ')} in ${t.from}`);
        continue;
      }
      // The JSON's key is named where the source does not say it (the usual Secret).
      const from = t.from === `Secret ${TENANTS_SECRET}` ? `${t.from} key ENTANDO_TENANTS` : t.from;
      const field = (name: string) => `${from} tenant ${t.code} field ${name}`;
      const base = {
        owner: { kind: app.kind, name: app.metadata.name, tenant: t.code },
        qualifier: tenantQualifier(t.code, f.suffix),
        url,
        username,
        password,
        credentials: `username from ${field(f.username)}, password from ${field(f.password)}`,
        secretName: /^Secret (\S+)/.exec(t.from.replace(/^.*: /, ''))?.[1],
      };
      if (target.dbms === 'oracle') {
        datasources.push({
          ...base,
          dbms: 'oracle',
          host: target.host ?? '',
          port: target.port ?? 1521,
          database: target.service ?? '',
          schema: username.toUpperCase(),
        });
        continue;
      }
      datasources.push({
        ...base,
        dbms: target.dbms,
        host: target.host,
        port: target.port,
        database: target.database || username,
        // As for the app's: PostgreSQL's currentSchema, else the user's own schema; MySQL's
        // database in the URL path.
        schema:
          target.dbms === 'postgresql' ? (target.schema ?? username) : target.database || username,
      });
    }
  }
  return { datasources, problems };
}

/** What names one schema: a Service host in any spelling (`svc`, `svc.ns.svc...`) counts once. */
export function schemaKey(ds: Datasource, namespace: string): string {
  const svc = serviceOfHost(ds.host, namespace);
  const host = svc ? `service ${svc.name}.${svc.namespace}` : ds.host.toLowerCase();
  return [ds.dbms, host, ds.port, ds.database, ds.schema].join('|');
}

/**
 * Tenants' datasources whose schema an earlier one names (the primary's first, then the
 * tenants' in order) are left out: a schema is dumped once, and loading it twice would load
 * the same data twice. They are listed as shared, with the entry that holds them.
 */
export function dedupeTenantDatasources(
  primary: Datasource[],
  tenants: Datasource[],
  namespace: string,
): { datasources: Datasource[]; shared: SharedDatasource[] } {
  const seen = new Map<string, Datasource>();
  for (const ds of primary)
    if (!seen.has(schemaKey(ds, namespace))) seen.set(schemaKey(ds, namespace), ds);
  const datasources: Datasource[] = [];
  const shared: SharedDatasource[] = [];
  for (const ds of tenants) {
    const key = schemaKey(ds, namespace);
    const first = seen.get(key);
    if (first) {
      shared.push({
        owner: ds.owner,
        qualifier: ds.qualifier,
        username: ds.username,
        sameAs: entryName(first),
      });
      continue;
    }
    seen.set(key, ds);
    datasources.push(ds);
  }
  return { datasources, shared };
}
