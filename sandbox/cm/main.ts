// Entando component manager STAND-IN for the sandbox (NOT Entando's CM, which cannot be built
// here): the process of the `<app>-cm-deployment` pod's container, started by the sandbox node
// agent with the env the operator stand-in gives it (sandbox/README.md, "Component manager
// stand-in"). Listens on 127.0.0.1:$SANDBOX_CM_PORT (the pod's port-map host port for 8083).
//
//   node dist/sandbox/cm/main.js        (configuration from the environment only)
import { fileURLToPath } from 'node:url';
import { TokenVerifier } from './auth.js';
import { jwksUrl, loadConfig, repoRoot, type CmConfig } from './config.js';
import { openDatasource, openDb, type Db } from './db.js';
import { InstallService, type OperationLock } from './install.js';
import { CmKube } from './kube.js';
import { PostInit } from './postinit.js';
import { schemaDdl } from './schema.js';
import { startServer, type TenantDeps } from './server.js';
import { Store, now } from './store.js';
import { tenantIssuer } from './tenants.js';

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

/** A datasource's store at start: the tables when absent, jobs cut short ended. */
async function openStore(db: Db, who: string): Promise<Store> {
  // Liquibase at start: the tables when absent. (The real CM migrates only the primary's
  // datasource; a tenant's schema is expected to hold the tables already. The stand-in creates
  // them when absent, which changes nothing on a schema that has them.)
  await db.ensureSchema(schemaDdl(db.dialect));
  const store = new Store(db);
  // EntandoBundleJobService.setStatusToInstallErrorWhenStatusIsInstallInProgress (at start).
  for (const j of await store.jobs({ status: 'INSTALL_IN_PROGRESS' })) {
    await store.updateJob(j.id, { status: 'INSTALL_ERROR', finishedAt: now() });
    log(`${who}job ${j.id} (${j.componentId}) was INSTALL_IN_PROGRESS at start: now INSTALL_ERROR`);
  }
  return store;
}

/** Each secondary tenant's datasource, issuer and bundles, sharing the global lock. */
async function tenantDeps(
  cfg: CmConfig,
  kube: CmKube,
  lock: OperationLock,
): Promise<Map<string, TenantDeps>> {
  const out = new Map<string, TenantDeps>();
  for (const t of cfg.tenants) {
    const db = openDatasource(
      {
        url: t.deDbUrl,
        username: t.deDbUsername,
        password: t.deDbPassword,
        stateFile: process.env.SANDBOX_CM_STATE_FILE?.replace(/(\.json)?$/, `.${t.code}.json`),
        what: `ENTANDO_TENANTS tenant ${t.code} deDbUsername`,
      },
      process.env,
    );
    const store = await openStore(db, `tenant ${t.code}: `);
    out.set(t.code, {
      store,
      install: new InstallService(cfg, store, kube, log, { tenant: t.code, lock }),
      auth: new TokenVerifier(
        jwksUrl(cfg.keycloakUrl, t.kcRealm),
        tenantIssuer(t),
        t.kcClientId ?? cfg.appClientId,
      ),
    });
    log(`tenant ${t.code}: dedb ${db.dialect}, issuer ${tenantIssuer(t)}`);
  }
  return out;
}

async function main(): Promise<void> {
  const cfg = loadConfig(process.env, repoRoot(fileURLToPath(import.meta.url)));
  const db = openDb(process.env);
  const store = await openStore(db, '');
  const kube = CmKube.fromFile(cfg.kubeconfig, cfg.context);
  const install = new InstallService(cfg, store, kube, log);
  const postInit = new PostInit(cfg, kube, store, install, log);
  const auth = new TokenVerifier(cfg.jwksUrl, cfg.issuer, cfg.appClientId);
  const tenants = cfg.tenants.length
    ? { configs: cfg.tenants, deps: await tenantDeps(cfg, kube, install.lock) }
    : undefined;
  const server = await startServer(
    { auth, install, store, postInit, log, tenants },
    cfg.host,
    cfg.port,
  );
  log(
    `component manager stand-in for ${cfg.namespace}/${cfg.appName} on http://${cfg.host}:${cfg.port}/digital-exchange ` +
      `(dedb ${db.dialect}, issuer ${cfg.issuer}, registry ${cfg.registryDir}` +
      `${tenants ? `, tenants ${cfg.tenants.map((t) => t.code).join(', ')}` : ''})`,
  );
  const stop = (signal: string) => {
    log(`${signal}: stopping`);
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (cfg.postInit) void postInit.run();
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
