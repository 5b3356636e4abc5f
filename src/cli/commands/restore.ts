import { VERIFY_SCOPE } from '../../compare/scope.js';
import { UserError } from '../../errors.js';
import { defineCommand, type ArgsOf } from '../command.js';
import { NAMESPACE, namespaceMapOption } from '../namespace-map.js';
import { archivePositional, decryptOptions, kubeOptions, s3Options } from '../options.js';
import { renderRestore } from '../render/restore.js';
import { HOST, parseTenantHosts } from '../tenant-host.js';

const positionals = { archive: archivePositional };

export const restoreOptions = {
  ...kubeOptions,
  ...decryptOptions,
  ...s3Options,
  'to-context': {
    type: 'string',
    describe: 'Context of the target cluster (default: --context, else the current one)',
  },
  'to-namespace': {
    type: 'string',
    describe: 'Namespace to restore into (default: the source namespace)',
  },
  'namespace-map': namespaceMapOption(
    "SRC=DST: restore the archive's objects of namespace SRC (bundles of componentRepositoryNamespaces) into DST, and every reference to SRC with them; repeatable (default: same name, created when missing)",
  ),
  'ingress-host': {
    type: 'string',
    describe:
      'Serve the restored app on this host (rewrites ingressHostName and every spec carrying the old host)',
  },
  'tenant-host': {
    type: 'string',
    array: true,
    requiresArg: true,
    describe:
      "CODE=HOST: serve secondary tenant CODE on HOST (its fqdns in entando-tenants-secret); repeatable (default: a host under the app's is moved with --ingress-host, others kept)",
  },
  'dry-run': {
    type: 'boolean',
    default: false,
    describe: 'Print the plan and the preflight result; change nothing',
  },
  parallel: {
    type: 'number',
    default: 4,
    describe: 'Load at most this many streams (schemas, file trees) at once',
  },
  'db-client-image': {
    type: 'string',
    describe:
      'Image of the short-lived pod that loads an external database (default: postgres:16-alpine / mysql:8.0)',
  },
  'volume-pod-image': {
    type: 'string',
    describe:
      "Image (with sh, tar and sleep) of the short-lived pod that writes the volume of a server scaled to 0 (default: the server's own image, run as the server's pod; busybox:1.36 for embedded databases)",
  },
  keycloak: {
    choices: ['realm', 'keep', 'skip'] as const,
    describe:
      "realm: replace the target operator's fresh realm with the archived one (default when the archive has it); keep: the restored app keeps using the source's Keycloak, declared as an external one, with the new host added to its clients (the default for an app on an external Keycloak); skip: new clients in the target's realm, the archive's SSO client secrets left out",
  },
  'keycloak-url': {
    type: 'string',
    describe:
      "With --keycloak keep: where this machine reaches the source's Keycloak (default: its public URL from the archive), e.g. https://sso.example.com/auth",
  },
  bundles: {
    choices: ['reinstall', 'objects-only', 'skip'] as const,
    default: 'reinstall' as const,
    describe:
      'reinstall: each installed bundle reinstalled at its version through the component manager (SKIP: restored widgets and pages kept; its plugins, links and Keycloak clients made again); objects-only: EntandoDeBundles, plugins and links restored as objects; skip: none of them',
  },
  'wait-timeout': {
    type: 'number',
    default: 600,
    describe: 'Seconds to wait for the operator to deploy what a step builds on',
  },
  verify: {
    type: 'boolean',
    default: false,
    describe: `After the restore, compare the restored app with the archive: ${VERIFY_SCOPE}; exit 1 when they differ`,
  },
  yes: {
    alias: 'y',
    type: 'boolean',
    default: false,
    describe: 'Act without asking for confirmation',
  },
  existing: {
    choices: ['fail', 'skip', 'update'] as const,
    default: 'fail' as const,
    describe: 'Objects already in the target: report and stop, leave them, or update them',
  },
} as const;

export type RestoreArgs = ArgsOf<typeof positionals, typeof restoreOptions>;

export const restoreCommand = defineCommand({
  command: 'restore <archive>',
  describe: 'Rebuild an app from an archive in a cluster and namespace (plan first)',
  positionals,
  options: restoreOptions,
  examples: [
    [
      '$0 restore qs.tar.age -i key.txt --to-context prod --to-namespace qs2 --ingress-host qs2.example.com --dry-run',
      'show the plan',
    ],
    [
      '$0 restore qs.tar.age -i key.txt --to-context prod --to-namespace qs2 --ingress-host qs2.example.com --yes',
      'restore',
    ],
  ],
  validate: (args) => {
    const host = args['ingress-host'];
    if (host && !HOST.test(host)) {
      throw new UserError(
        `--ingress-host ${host} is not a valid DNS host name (lower case, e.g. app.example.com)`,
      );
    }
    parseTenantHosts(args['tenant-host'] ?? []);
    const namespace = args['to-namespace'];
    if (namespace && !NAMESPACE.test(namespace)) {
      throw new UserError(
        `--to-namespace ${namespace} is not a valid namespace name (lower case letters, digits, '-')`,
      );
    }
  },
  run: async (args, ctx, output) => {
    // Loaded when used: `version` and `--help` do without client-node (lower start-up RSS).
    const { runRestore } = await import('../run/restore.js');
    return await runRestore(args, ctx, output);
  },
  render: renderRestore,
});
