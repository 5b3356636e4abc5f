import type { CommandModule } from 'yargs';
import { decryptionKeys } from '../../archive/encryption.js';
import { VERIFY_SCOPE } from '../../compare/scope.js';
import type { ExistingPolicy } from '../../components/component.js';
import { OperationError, UserError } from '../../errors.js';
import { describeRef } from '../../kube/object.js';
import { formatFinding } from '../../report/results.js';
import { figuresLine, runFigures } from '../../report/summary.js';
import { streamedBytes, trackRestoreProgress } from '../../restore/progress.js';
import { planToJson, type Plan } from '../../restore/plan.js';
import { phaseAt } from '../../restore/order.js';
import { Timings } from '../../report/timings.js';
import type { BundlesRestoreMode, KeycloakRestoreMode } from '../../contract/mapping.js';
import type { CliContext } from '../context.js';
import { NAMESPACE, namespaceMapOption, parseNamespaceMap } from '../namespace-map.js';
import {
  decryptOptions,
  kubeOptions,
  s3Options,
  type GlobalArgs,
  type KubeArgs,
  type S3Args,
} from '../options.js';

interface RestoreArgs extends GlobalArgs, KubeArgs, S3Args {
  archive: string;
  'to-context'?: string;
  'to-namespace'?: string;
  'namespace-map'?: string[];
  'ingress-host'?: string;
  'dry-run': boolean;
  yes: boolean;
  existing: ExistingPolicy;
  parallel: number;
  'db-client-image'?: string;
  'volume-pod-image'?: string;
  identity?: string[];
  'passphrase-file'?: string;
  keycloak?: KeycloakRestoreMode;
  'keycloak-url'?: string;
  bundles: BundlesRestoreMode;
  'wait-timeout': number;
  verify: boolean;
}

const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

export function restoreCommand(ctx: CliContext): CommandModule<GlobalArgs, RestoreArgs> {
  return {
    command: 'restore <archive>',
    describe: 'Rebuild an app from an archive in a cluster and namespace (plan first)',
    builder: (y) =>
      y
        .positional('archive', {
          type: 'string',
          demandOption: true,
          describe: 'Archive file or s3://BUCKET/KEY',
        })
        .options(kubeOptions)
        .options(decryptOptions)
        .options(s3Options)
        .option('to-context', {
          type: 'string',
          describe: 'Context of the target cluster (default: --context, else the current one)',
        })
        .option('to-namespace', {
          type: 'string',
          describe: 'Namespace to restore into (default: the source namespace)',
        })
        .option(
          'namespace-map',
          namespaceMapOption(
            "SRC=DST: restore the archive's objects of namespace SRC (bundles of componentRepositoryNamespaces) into DST, and every reference to SRC with them; repeatable (default: same name, created when missing)",
          ),
        )
        .option('ingress-host', {
          type: 'string',
          describe:
            'Serve the restored app on this host (rewrites ingressHostName and every spec carrying the old host)',
        })
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'Print the plan and the preflight result; change nothing',
        })
        .option('parallel', {
          type: 'number',
          default: 4,
          describe: 'Load at most this many streams (schemas, file trees) at once',
        })
        .option('db-client-image', {
          type: 'string',
          describe:
            'Image of the short-lived pod that loads an external database (default: postgres:16-alpine / mysql:8.0)',
        })
        .option('volume-pod-image', {
          type: 'string',
          describe:
            "Image (with sh, tar and sleep) of the short-lived pod that writes the volume of a server scaled to 0 (default: the server's own image, run as the server's pod; busybox:1.36 for embedded databases)",
        })
        .option('keycloak', {
          choices: ['realm', 'keep', 'skip'] as const,
          describe:
            "realm: replace the target operator's fresh realm with the archived one (default when the archive has it); keep: the restored app keeps using the source's Keycloak, declared as an external one, with the new host added to its clients (the default for an app on an external Keycloak); skip: new clients in the target's realm, the archive's SSO client secrets left out",
        })
        .option('keycloak-url', {
          type: 'string',
          describe:
            "With --keycloak keep: where this machine reaches the source's Keycloak (default: its public URL from the archive), e.g. https://sso.example.com/auth",
        })
        .option('bundles', {
          choices: ['reinstall', 'objects-only', 'skip'] as const,
          default: 'reinstall' as const,
          describe:
            'reinstall: each installed bundle reinstalled at its version through the component manager (SKIP: restored widgets and pages kept; its plugins, links and Keycloak clients made again); objects-only: EntandoDeBundles, plugins and links restored as objects; skip: none of them',
        })
        .option('wait-timeout', {
          type: 'number',
          default: 600,
          describe: 'Seconds to wait for the operator to deploy what a step builds on',
        })
        .option('verify', {
          type: 'boolean',
          default: false,
          describe: `After the restore, compare the restored app with the archive: ${VERIFY_SCOPE}; exit 1 when they differ`,
        })
        .option('yes', {
          alias: 'y',
          type: 'boolean',
          default: false,
          describe: 'Act without asking for confirmation',
        })
        .option('existing', {
          choices: ['fail', 'skip', 'update'] as const,
          default: 'fail' as const,
          describe: 'Objects already in the target: report and stop, leave them, or update them',
        })
        .example(
          '$0 restore qs.tar.age -i key.txt --to-context prod --to-namespace qs2 --ingress-host qs2.example.com --dry-run',
          'show the plan',
        )
        .example(
          '$0 restore qs.tar.age -i key.txt --to-context prod --to-namespace qs2 --ingress-host qs2.example.com --yes',
          'restore',
        ) as never,
    handler: async (args) => {
      // Loaded when used: `version` and `--help` do without client-node (lower start-up RSS).
      const [{ verifyRestore, verifyText }, { KubeClient }, { resolveKube }, restore, leftAlone] =
        await Promise.all([
          import('../../compare/verify-restore.js'),
          import('../../kube/client.js'),
          import('../../kube/kubeconfig.js'),
          import('../../restore/restore.js'),
          import('../../components/bundles/left-alone.js'),
        ]);
      const { executePlan, loadArchive, planRestore } = restore;
      const started = Date.now();
      const output = ctx.output(args.output, args.quiet, args.verbose, args.progress);
      if (args['ingress-host'] && !HOST.test(args['ingress-host'])) {
        throw new UserError(
          `--ingress-host ${args['ingress-host']} is not a valid DNS host name (lower case, e.g. app.example.com)`,
        );
      }
      if (args['to-namespace'] && !NAMESPACE.test(args['to-namespace'])) {
        throw new UserError(
          `--to-namespace ${args['to-namespace']} is not a valid namespace name (lower case letters, digits, '-')`,
        );
      }
      const namespaceMap = parseNamespaceMap(args['namespace-map'] ?? []);
      const keys = decryptionKeys(
        { identity: args.identity, passphraseFile: args['passphrase-file'] },
        ctx.keySources(),
      );
      const timings = new Timings();
      const archive = await timings.time('verify pass (decrypt, tar headers)', () =>
        loadArchive(ctx.location(args.archive, args, output), keys, {
          // The files step needs them; a dry run extracts nothing.
          checkTrees: !args['dry-run'],
        }),
      );
      const kube = resolveKube({
        kubeconfig: args.kubeconfig,
        context: args['to-context'] ?? args.context,
      });
      const target = new KubeClient(kube.config);
      const { plan, mapping, results } = await timings.time('plan and preflight', () =>
        planRestore({
          archive,
          target,
          targetContext: kube.contextName,
          targetNamespace: args['to-namespace'] ?? args.namespace,
          namespaceMap,
          ingressHost: args['ingress-host'],
          existing: args.existing,
          parallel: args.parallel,
          dbClientImage: args['db-client-image'],
          volumePodImage: args['volume-pod-image'],
          keycloak: args.keycloak,
          keycloakUrl: args['keycloak-url'],
          bundles: args.bundles,
          waitTimeoutMs: args['wait-timeout'] * 1000,
        }),
      );
      // Named in the plan (its steps), the summary and the JSON: left alone on purpose.
      const bundlesLeftAlone =
        mapping.bundles?.mode === 'reinstall'
          ? leftAlone.bundlesLeftAlone(archive.manifest.components.bundles)
          : [];
      const summary = {
        archive: args.archive,
        source: archive.manifest.source,
        bundlesLeftAlone,
        target: {
          context: kube.contextName,
          server: kube.server,
          namespace: mapping.targetNamespace,
          host: mapping.targetHost,
        },
      };
      for (const w of results.warnings) output.warn(formatFinding(w));
      if (args['dry-run'] || plan.problems.length > 0) {
        output.result(planText(plan, summary.target), {
          dryRun: true,
          ...summary,
          ...(planToJson(plan) as object),
        });
        if (plan.problems.length > 0) {
          throw new UserError(
            `restore refused: ${plan.problems.length} problem${plan.problems.length > 1 ? 's' : ''} found before any change (listed above)`,
          );
        }
        return;
      }
      if (!args.yes) {
        if (args.output === 'text') output.result(planText(plan, summary.target), null);
        const writes = plan.steps.filter((s) => s.run).length;
        const go = await ctx.confirm(
          `Apply ${writes} changes to ${kube.contextName}/${mapping.targetNamespace}? [y/N] `,
        );
        if (!go)
          throw new UserError(
            'restore not confirmed: pass --yes to act without a prompt (or --dry-run to see the plan only)',
          );
      }
      const progress = output.streamProgress();
      const detach = trackRestoreProgress(archive, progress);
      try {
        await executePlan(
          plan,
          target,
          output,
          ctx.io.signal,
          results,
          {
            namespace: mapping.targetNamespace,
            app: archive.manifest.source.app,
          },
          timings,
        );
      } finally {
        detach();
      }
      const figures = runFigures(started, streamedBytes(progress), results.warnings.length);
      const done = plan.steps.filter((s) => s.run).length;
      if (!results.ok) {
        for (const e of results.errors) output.warn(formatFinding(e));
        throw new OperationError(
          `restore failed: ${results.errors.map(formatFinding).join('; ')} (fix it and run the same restore with --existing update to finish)`,
        );
      }
      const verified = args.verify
        ? await verifyRestore(archive, target, mapping, {
            parallel: args.parallel,
            waitTimeoutMs: args['wait-timeout'] * 1000,
            signal: ctx.io.signal,
            progress: (m) => output.progress(m),
          })
        : undefined;
      output.result(
        [
          `restored ${archive.manifest.source.app} into ${kube.contextName}/${mapping.targetNamespace}${mapping.targetHost ? ` on host ${mapping.targetHost}` : ''}: ${done} changes`,
          `  ${figuresLine(figures)}`,
          ...leftAlone.leftAloneLines(bundlesLeftAlone),
          ...(verified ? verifyText(verified) : []),
        ],
        {
          dryRun: false,
          ...summary,
          ...(planToJson(plan) as object),
          warnings: results.warnings,
          seconds: figures.seconds,
          bytes: figures.bytes,
          bytesPerSecond: Math.round(figures.bytesPerSecond),
          timings: { seconds: figures.seconds, phases: timings.toJson() },
          ...(verified ? { verify: verified } : {}),
        },
      );
      if (verified && !verified.equal) ctx.exitCode = 1;
    },
  };
}

function planText(
  plan: Plan,
  target: { context: string; namespace: string; host?: string },
): string[] {
  const lines = [
    `plan: restore into ${target.context}/${target.namespace}${target.host ? `, host ${target.host}` : ''}`,
  ];
  let phase = '';
  for (const step of plan.steps) {
    const at = phaseAt(step.priority)?.name ?? String(step.priority);
    if (`${at} ${step.phase}` !== phase) {
      phase = `${at} ${step.phase}`;
      lines.push(`  [${at}] ${step.phase}: ${step.reason}`);
    }
    const what = step.object ? describeRef(step.object) : step.component;
    const note = step.action === 'exists' || step.action === 'skip' ? ` (${step.reason})` : '';
    lines.push(`      ${step.action.padEnd(6)} ${what}${note}`);
    for (const change of step.changes) lines.push(`             ~ ${change}`);
  }
  if (plan.problems.length > 0) {
    lines.push('preflight problems:');
    for (const p of plan.problems) lines.push(`  - ${p}`);
  } else {
    lines.push('preflight: ok');
  }
  return lines;
}
