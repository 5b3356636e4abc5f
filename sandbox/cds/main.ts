// Entando CDS (Content Delivery Server) STAND-IN for the sandbox: the process of a
// `<t>-cds-deployment` pod's `cds` container (image entando/cds:1.0.4, a Rust binary that cannot
// be built here). Reproduces entando-ps/cds v1.0.4's HTTP contract; see sandbox/cds/README.md.
//
//   node dist/sandbox/cds/main.js     (configuration from the environment only)
//
// Upstream env: KEYCLOAK_PUBLIC_KEY (PEM), CORS_ALLOWED_ORIGIN, CORS_ALLOWED_ORIGIN_END_WITH (all
// required), RUST_LOG (ignored). Stand-in env: CDS_INTERNAL_PORT (8080), CDS_PUBLIC_PORT (8081),
// CDS_BIND_HOST (127.0.0.1; upstream binds 0.0.0.0), CDS_STANDIN_DATA_DIR (default
// `entando-data` relative to the cwd, exactly upstream's path; the pod's cwd is `/`).
import { resolve } from 'node:path';
import { loadPublicKey } from './auth.js';
import { startCds } from './server.js';

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

function required(name: string): string {
  const v = process.env[name];
  // main.rs: env::var(..).expect("$X is not defined.") in the public server factory.
  if (v === undefined) throw new Error(`$${name} is not defined.`);
  return v;
}

function port(name: string, dflt: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? dflt : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}=${raw} is not a port`);
  return n;
}

async function main(): Promise<void> {
  const env = process.env;
  const publicKey = loadPublicKey(env.KEYCLOAK_PUBLIC_KEY);
  const cds = await startCds({
    dataDir: resolve(env.CDS_STANDIN_DATA_DIR || 'entando-data'),
    publicKey,
    corsOrigin: required('CORS_ALLOWED_ORIGIN'),
    corsOriginEndWith: required('CORS_ALLOWED_ORIGIN_END_WITH'),
    host: env.CDS_BIND_HOST || '127.0.0.1',
    internalPort: port('CDS_INTERNAL_PORT', 8080),
    publicPort: port('CDS_PUBLIC_PORT', 8081),
    log,
  });
  // The two lines upstream prints (with its fixed ports), then where the stand-in really is.
  log(`Internal sever listening on port: ${cds.internalPort}`);
  log(`Public server listening on port: ${cds.publicPort}`);
  log(`CDS stand-in: data ${resolve(env.CDS_STANDIN_DATA_DIR || 'entando-data')}`);
  const stop = (signal: string) => {
    log(`${signal}: stopping`);
    void cds.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
