import type { CommandModule } from 'yargs';
import { rowsText } from '../../compare/rows.js';
import { UserError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { namespaceMapOption, parseNamespaceMap } from '../namespace-map.js';
import { kubeOptions, type GlobalArgs, type KubeArgs } from '../options.js';

interface CompareArgs extends GlobalArgs, KubeArgs {
  app?: string;
  'to-context'?: string;
  'to-namespace'?: string;
  'to-app'?: string;
  'namespace-map'?: string[];
  quick: boolean;
  parallel: number;
}

export function compareCommand(ctx: CliContext): CommandModule<GlobalArgs, CompareArgs> {
  return {
    command: 'compare [app]',
    describe: 'Compare two live apps: objects, tables, files, Keycloak realm (read-only)',
    builder: (y) =>
      y
        .positional('app', {
          type: 'string',
          describe: 'EntandoApp name on the source side (default: the only one in the namespace)',
        })
        .options(kubeOptions)
        .option('to-context', {
          type: 'string',
          describe: 'Context of the other app (default: --context, else the current one)',
        })
        .option('to-namespace', {
          type: 'string',
          describe: 'Namespace of the other app (default: the source namespace)',
        })
        .option('to-app', {
          type: 'string',
          describe: 'EntandoApp name on the other side (default: the source app name)',
        })
        .option(
          'namespace-map',
          namespaceMapOption(
            'SRC=DST: the other app was restored with this --namespace-map: its objects of SRC (bundles of componentRepositoryNamespaces) are compared in DST, the mapped values named as expected differences; repeatable',
          ),
        )
        .option('quick', {
          type: 'boolean',
          default: false,
          describe: 'Counts and sizes only: no content hashes of tables and files',
        })
        .option('parallel', {
          type: 'number',
          default: 4,
          describe: 'Read at most this many datasources or volumes at once per side',
        })
        .check((a) => {
          if (!Number.isInteger(a.parallel) || (a.parallel as number) < 1) {
            throw new UserError('--parallel must be a whole number of at least 1');
          }
          return true;
        })
        .example(
          '$0 compare quickstart --context prod -n qs --to-context dr --to-namespace qs',
          'exit 0 when equal but for the differences a restore intends, 1 otherwise',
        ) as never,
    handler: async (args) => {
      // Loaded when used: `version` and `--help` do without client-node (lower start-up RSS).
      const [{ compareApps }, { KubeClient }, { resolveKube }] = await Promise.all([
        import('../../compare/compare.js'),
        import('../../kube/client.js'),
        import('../../kube/kubeconfig.js'),
      ]);
      const output = ctx.output(args.output, args.quiet, args.verbose);
      const source = resolveKube(args);
      const target = resolveKube({
        kubeconfig: args.kubeconfig,
        context: args['to-context'] ?? args.context,
        namespace: args['to-namespace'] ?? args.namespace,
      });
      if (
        source.server === target.server &&
        source.namespace === target.namespace &&
        (args['to-app'] ?? args.app) === args.app
      ) {
        throw new UserError(
          `both sides are ${source.contextName}/${source.namespace}: name the other app with --to-context and/or --to-namespace`,
        );
      }
      const namespaceMap = parseNamespaceMap(args['namespace-map'] ?? []);
      const outcome = await compareApps(
        {
          kube: new KubeClient(source.config),
          context: source.contextName,
          namespace: source.namespace,
          app: args.app,
        },
        {
          kube: new KubeClient(target.config),
          context: target.contextName,
          namespace: target.namespace,
          app: args['to-app'],
        },
        {
          quick: args.quick,
          parallel: args.parallel,
          namespaceMap,
          signal: ctx.io.signal,
          progress: (m) => output.progress(`reading ${m}`),
        },
      );
      for (const w of outcome.warnings) output.warn(w);
      const s = outcome.source;
      const t = outcome.target;
      const c = outcome.counts;
      output.result(
        [
          `compare ${s.app} in ${s.context}/${s.namespace} with ${t.app} in ${t.context}/${t.namespace}${outcome.quick ? ' (--quick: no content hashes)' : ''}`,
          ...rowsText(outcome.rows, ['SOURCE', 'TARGET']),
          `${outcome.equal ? 'equal' : 'NOT equal'}: ${c.same} same, ${c.expected} expected differences, ${c.differs} differ, ${c.missing} missing, ${c.unchecked} unchecked`,
        ],
        outcome,
      );
      if (!outcome.equal) ctx.exitCode = 1;
    },
  };
}
