// Entando operator STAND-IN for the local sandbox. NOT Entando's operator: it reproduces only
// what kubectl-entando depends on (see sandbox/README.md, "Operator stand-in").
//
//   node dist/sandbox/operator/main.js --kubeconfig <admin.kubeconfig> --dbms <dbms.json>
//        [--context C] [--no-wait-ready] [--resync-seconds 30] [--concurrency 4]
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Controller } from './controller.js';
import { loadSandboxDbms } from './dbms.js';
import { Kube } from './kube.js';
import { parseDists } from './keycloak.js';

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      dbms: { type: 'string' },
      'no-wait-ready': { type: 'boolean', default: false },
      'resync-seconds': { type: 'string', default: '30' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  if (!values.kubeconfig || !values.dbms) {
    process.stderr.write('usage: main.js --kubeconfig FILE --dbms dbms.json [--context C]\n');
    process.exit(2);
  }
  const kube = Kube.fromFile(values.kubeconfig, values.context);
  const sandbox = loadSandboxDbms(values.dbms);
  const controller = new Controller(
    {
      kube,
      sandbox,
      log,
      waitReady: !values['no-wait-ready'],
      // Set by scripts/lib/operator.sh when scripts/lib/keycloak.sh installed Keycloak.
      keycloakDist: process.env.SANDBOX_KEYCLOAK_DIST || undefined,
      keycloakDists: parseDists(process.env.SANDBOX_KEYCLOAK_DISTS ?? ''),
      // The CM stand-in runs from the same build as this operator (dist/sandbox/cm/main.js).
      cm: {
        kube,
        sandbox,
        root: resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'),
        kubeconfig: resolve(values.kubeconfig),
        context: values.context,
      },
    },
    {
      concurrency: Number(values.concurrency),
      resyncMs: Number(values['resync-seconds']) * 1000,
    },
  );
  const shutdown = (signal: string) => {
    log(`${signal}: stopping`);
    controller.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  log(
    `entando operator stand-in: ${kube.kc.getCurrentCluster()?.server ?? '?'}, ` +
      `postgresql :${sandbox.postgresql.port}, mysql :${sandbox.mysql.port}`,
  );
  await controller.start();
}

main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
