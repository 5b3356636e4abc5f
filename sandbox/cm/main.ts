// Entando component manager STAND-IN for the sandbox (NOT Entando's CM, which cannot be built
// here): the process of the `<app>-cm-deployment` pod's container, started by the sandbox node
// agent with the env the operator stand-in gives it (sandbox/README.md, "Component manager
// stand-in"). Listens on 127.0.0.1:$SANDBOX_CM_PORT (the pod's port-map host port for 8083).
//
//   node dist/sandbox/cm/main.js        (configuration from the environment only)
import { fileURLToPath } from 'node:url';
import { TokenVerifier } from './auth.js';
import { loadConfig, repoRoot } from './config.js';
import { openDb } from './db.js';
import { InstallService } from './install.js';
import { CmKube } from './kube.js';
import { PostInit } from './postinit.js';
import { schemaDdl } from './schema.js';
import { startServer } from './server.js';
import { Store, now } from './store.js';

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

async function main(): Promise<void> {
  const cfg = loadConfig(process.env, repoRoot(fileURLToPath(import.meta.url)));
  const db = openDb(process.env);
  // Liquibase at start: the tables when absent.
  await db.ensureSchema(schemaDdl(db.dialect));
  const store = new Store(db);
  // EntandoBundleJobService.setStatusToInstallErrorWhenStatusIsInstallInProgress (at start).
  for (const j of await store.jobs({ status: 'INSTALL_IN_PROGRESS' })) {
    await store.updateJob(j.id, { status: 'INSTALL_ERROR', finishedAt: now() });
    log(`job ${j.id} (${j.componentId}) was INSTALL_IN_PROGRESS at start: now INSTALL_ERROR`);
  }
  const kube = CmKube.fromFile(cfg.kubeconfig, cfg.context);
  const install = new InstallService(cfg, store, kube, log);
  const postInit = new PostInit(cfg, kube, store, install, log);
  const auth = new TokenVerifier(cfg.jwksUrl, cfg.issuer, cfg.appClientId);
  const server = await startServer({ auth, install, store, postInit, log }, cfg.host, cfg.port);
  log(
    `component manager stand-in for ${cfg.namespace}/${cfg.appName} on http://${cfg.host}:${cfg.port}/digital-exchange ` +
      `(dedb ${db.dialect}, issuer ${cfg.issuer}, registry ${cfg.registryDir})`,
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
