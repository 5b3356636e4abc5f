/** What a JDBC URL of an Entando datasource says about where its data lives. */
export type JdbcTarget =
  | {
      dbms: 'postgresql' | 'mysql';
      host: string;
      port: number;
      /** PostgreSQL: the database holding the schemas; MySQL: the database itself. */
      database: string;
      /** PostgreSQL `currentSchema` parameter, when the URL sets one. */
      schema?: string;
    }
  | { dbms: 'oracle'; host?: string; port?: number; service?: string }
  | { dbms: 'embedded'; engine: 'derby' | 'h2' };

const DEFAULT_PORTS = { postgresql: 5432, mysql: 3306 } as const;

/**
 * Parses the JDBC URLs Entando's images use (PostgreSQL, MySQL/MariaDB, Oracle thin, Derby and
 * H2 for embedded databases). Returns undefined for anything else: the caller says which URL it
 * could not read rather than guessing.
 */
export function parseJdbcUrl(url: string): JdbcTarget | undefined {
  const trimmed = url.trim();
  if (/^jdbc:derby:/i.test(trimmed)) return { dbms: 'embedded', engine: 'derby' };
  if (/^jdbc:h2:/i.test(trimmed)) return { dbms: 'embedded', engine: 'h2' };
  const oracle = /^jdbc:oracle:[a-z0-9]+:(?:[^@]*)@(.*)$/i.exec(trimmed);
  if (oracle) return parseOracle(oracle[1]);
  const net =
    /^jdbc:(postgresql|mysql|mariadb)(?::[a-z]+)?:\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?(.*))?$/i.exec(
      trimmed,
    );
  if (!net) return undefined;
  const dbms = net[1].toLowerCase() === 'postgresql' ? 'postgresql' : 'mysql';
  const hostPort = net[2].split(',')[0];
  const { host, port } = splitHostPort(hostPort, DEFAULT_PORTS[dbms]);
  if (!host || port === undefined) return undefined;
  const database = decodeURIComponent(net[3] ?? '');
  const params = new URLSearchParams(net[4] ?? '');
  const target: JdbcTarget = { dbms, host, port, database };
  const schema = params.get('currentSchema');
  if (dbms === 'postgresql' && schema) target.schema = schema.split(',')[0];
  return target;
}

function splitHostPort(value: string, defaultPort: number): { host: string; port?: number } {
  const ipv6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (ipv6) return { host: ipv6[1], port: ipv6[2] ? Number(ipv6[2]) : defaultPort };
  const [host, port] = value.split(':');
  if (port !== undefined && !/^\d+$/.test(port)) return { host };
  return { host, port: port ? Number(port) : defaultPort };
}

function parseOracle(rest: string): JdbcTarget {
  // @//host:port/service, @host:port:SID, @host:port/service or a TNS descriptor.
  const simple = /^(?:\/\/)?([^:/()]+)(?::(\d+))?(?:[:/](.+))?$/.exec(rest);
  if (simple) {
    return {
      dbms: 'oracle',
      host: simple[1],
      port: simple[2] ? Number(simple[2]) : 1521,
      service: simple[3],
    };
  }
  const host = /\(HOST\s*=\s*([^)]+)\)/i.exec(rest)?.[1]?.trim();
  const port = /\(PORT\s*=\s*(\d+)\)/i.exec(rest)?.[1];
  const service = /\((?:SERVICE_NAME|SID)\s*=\s*([^)]+)\)/i.exec(rest)?.[1]?.trim();
  return { dbms: 'oracle', host, port: port ? Number(port) : undefined, service };
}

// Where an in-cluster host points: a kube fact, shared with the restore's version check.
export { serviceOfHost } from '../../kube/service-host.js';
