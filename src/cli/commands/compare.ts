import type { CompareOutcome } from '../../compare/compare.js';
import { rowsText } from '../../compare/rows.js';
import { UserError } from '../../errors.js';
import { defineCommand } from '../command.js';
import type { ResolvedKube } from '../../kube/kubeconfig.js';
import { namespaceMapOption, parseNamespaceMap } from '../namespace-map.js';
import { checkParallel, kubeOptions, type KubeArgs } from '../options.js';

const options = {
  ...kubeOptions,
  'to-context': {
    type: 'string',
    describe: 'Context of the other app (default: --context, else the current one)',
  },
  'to-namespace': {
    type: 'string',
    describe: 'Namespace of the other app (default: the source namespace)',
  },
  'to-app': {
    type: 'string',
    describe: 'EntandoApp name on the other side (default: the source app name)',
  },
  'namespace-map': namespaceMapOption(
    'SRC=DST: the other app was restored with this --namespace-map: its objects of SRC (bundles of componentRepositoryNamespaces) are compared in DST, the mapped values named as expected differences; repeatable',
  ),
  quick: {
    type: 'boolean',
    default: false,
    describe: 'Counts and sizes only: no content hashes of tables and files',
  },
  'volume-pod-image': {
    type: 'string',
    describe:
      'Image (with sh, find, stat, sha256sum and sleep) of the short-lived pod that reads each CDS volume read-only (default: busybox:1.36)',
  },
  parallel: {
    type: 'number',
    default: 4,
    describe: 'Read at most this many datasources or volumes at once per side',
  },
} as const;

export const compareCommand = defineCommand({
  command: 'compare [app]',
  describe:
    "Compare two live apps: objects, tables, files, Keycloak realm, tenants' schemas, CDS files and realms (read-only)",
  positionals: {
    app: {
      type: 'string',
      describe: 'EntandoApp name on the source side (default: the only one in the namespace)',
    },
  },
  options,
  examples: [
    [
      '$0 compare quickstart --context prod -n qs --to-context dr --to-namespace qs',
      'exit 0 when equal but for the differences a restore intends, 1 otherwise',
    ],
  ],
  validate: (args) => checkParallel(args.parallel),
  run: async (args, ctx, output) => {
    // Loaded when used: `version` and `--help` do without client-node (lower start-up RSS).
    const [{ compareApps }, { KubeClient }] = await Promise.all([
      import('../../compare/compare.js'),
      import('../../kube/client.js'),
    ]);
    const [source, target] = await sides(args);
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
        volumePodImage: args['volume-pod-image'],
        signal: ctx.io.signal,
        progress: (m) => output.progress(`reading ${m}`),
      },
    );
    for (const w of outcome.warnings) output.warn(w);
    return outcome;
  },
  render: (outcome) => ({
    text: compareText(outcome),
    json: outcome,
    exitCode: outcome.equal ? undefined : 1,
  }),
});

/** Both apps' clusters, from the kubeconfig; refused when they are one and the same app. */
async function sides(
  args: KubeArgs & {
    app?: string;
    'to-context'?: string;
    'to-namespace'?: string;
    'to-app'?: string;
  },
): Promise<[ResolvedKube, ResolvedKube]> {
  const { resolveKube } = await import('../../kube/kubeconfig.js');
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
  return [source, target];
}

function compareText(outcome: CompareOutcome): string[] {
  const { source: s, target: t, counts: c } = outcome;
  return [
    `compare ${s.app} in ${s.context}/${s.namespace} with ${t.app} in ${t.context}/${t.namespace}${outcome.quick ? ' (--quick: no content hashes)' : ''}`,
    ...rowsText(outcome.rows, ['SOURCE', 'TARGET']),
    `${outcome.equal ? 'equal' : 'NOT equal'}: ${c.same} same, ${c.expected} expected differences, ${c.differs} differ, ${c.missing} missing, ${c.unchecked} unchecked`,
  ];
}
