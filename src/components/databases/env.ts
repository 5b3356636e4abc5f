/** A Kubernetes EnvVar as found in a pod template or an Entando CR's environmentVariables. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string };
    configMapKeyRef?: { name?: string; key?: string };
  };
}

/** Where one value of a datasource comes from. */
export type ValueRef =
  | { kind: 'value'; value: string }
  | { kind: 'secret'; name: string; key: string }
  | { kind: 'configMap'; name: string; key: string };

/** The env-declared parts of one datasource: URL, username and password, by env prefix. */
export interface DatasourceEnv {
  /** PORTDB, SERVDB, SPRING_DATASOURCE, DB (Keycloak), KC_DB (Keycloak.X). */
  prefix: string;
  url?: ValueRef;
  username?: ValueRef;
  password?: ValueRef;
  /** Keycloak's legacy variables spell the target out instead of a URL. */
  parts?: { vendor?: ValueRef; host?: ValueRef; port?: ValueRef; database?: ValueRef };
  schema?: ValueRef;
}

/** Env names of Entando's datasources: app engine, component manager / plugins, Keycloak. */
export const DATASOURCE_PREFIXES = ['PORTDB', 'SERVDB', 'SPRING_DATASOURCE'] as const;

/** The later entry of a name wins, as in a container (CR variables are appended last). */
export function envMap(...lists: unknown[]): Map<string, EnvVar> {
  const out = new Map<string, EnvVar>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const e of list as EnvVar[]) if (e && typeof e.name === 'string') out.set(e.name, e);
  }
  return out;
}

export function valueRef(e: EnvVar | undefined): ValueRef | undefined {
  if (!e) return undefined;
  if (typeof e.value === 'string') return { kind: 'value', value: e.value };
  const s = e.valueFrom?.secretKeyRef;
  if (s?.name && s.key) return { kind: 'secret', name: s.name, key: s.key };
  const c = e.valueFrom?.configMapKeyRef;
  if (c?.name && c.key) return { kind: 'configMap', name: c.name, key: c.key };
  return undefined;
}

/**
 * The datasources an env declares: `<PREFIX>_URL` with `_USERNAME` / `_PASSWORD` for the app
 * engine (PORTDB, SERVDB), component manager and plugins (SPRING_DATASOURCE), plus Keycloak's
 * `DB_VENDOR/DB_ADDR/DB_PORT/DB_DATABASE/DB_SCHEMA/DB_USER/DB_PASSWORD` and `KC_DB_URL...`.
 */
export function datasourceEnvs(env: Map<string, EnvVar>, keycloak = false): DatasourceEnv[] {
  const out: DatasourceEnv[] = [];
  if (!keycloak) {
    for (const prefix of DATASOURCE_PREFIXES) {
      const url = valueRef(env.get(`${prefix}_URL`));
      if (!url) continue;
      out.push({
        prefix,
        url,
        username: valueRef(env.get(`${prefix}_USERNAME`)),
        password: valueRef(env.get(`${prefix}_PASSWORD`)),
      });
    }
    return out;
  }
  const kcUrl = valueRef(env.get('KC_DB_URL'));
  if (kcUrl) {
    out.push({
      prefix: 'KC_DB',
      url: kcUrl,
      username: valueRef(env.get('KC_DB_USERNAME')),
      password: valueRef(env.get('KC_DB_PASSWORD')),
      schema: valueRef(env.get('KC_DB_SCHEMA')),
    });
  } else if (env.has('DB_VENDOR') || env.has('DB_ADDR')) {
    out.push({
      prefix: 'DB',
      parts: {
        vendor: valueRef(env.get('DB_VENDOR')),
        host: valueRef(env.get('DB_ADDR')),
        port: valueRef(env.get('DB_PORT')),
        database: valueRef(env.get('DB_DATABASE')),
      },
      schema: valueRef(env.get('DB_SCHEMA')),
      username: valueRef(env.get('DB_USER')) ?? valueRef(env.get('DB_USERNAME')),
      password: valueRef(env.get('DB_PASSWORD')),
    });
  }
  return out;
}

/** Keycloak's DB_VENDOR/DB_ADDR... as the JDBC URL they stand for (H2 when no vendor). */
export function keycloakPartsUrl(parts: {
  vendor?: string;
  host?: string;
  port?: string;
  database?: string;
}): string | undefined {
  const vendor = (parts.vendor ?? 'h2').toLowerCase();
  if (vendor === 'h2') return 'jdbc:h2:file:keycloak';
  if (!parts.host) return undefined;
  if (vendor === 'postgres' || vendor === 'postgresql') {
    return `jdbc:postgresql://${parts.host}:${parts.port ?? 5432}/${parts.database ?? 'keycloak'}`;
  }
  if (vendor === 'mysql' || vendor === 'mariadb') {
    return `jdbc:mysql://${parts.host}:${parts.port ?? 3306}/${parts.database ?? 'keycloak'}`;
  }
  if (vendor === 'oracle') {
    return `jdbc:oracle:thin:@${parts.host}:${parts.port ?? 1521}/${parts.database ?? 'keycloak'}`;
  }
  return undefined;
}
