import { spec, type KubeObject } from '../kube/object.js';
import type { KubeClient } from '../kube/client.js';
import { captureAppObjects } from '../components/resources/capture.js';
import { findApp } from '../components/resources/find-app.js';
import { Results } from '../report/results.js';
import type { RestoreMapping } from '../contract/mapping.js';
import { collectCdsTrees } from './cds-trees.js';
import { collectTrees, compareTrees } from './files.js';
import { collectRealm, compareRealms, type RealmState } from './keycloak.js';
import { compareObjects, sourceSnapshot, targetSnapshot } from './objects.js';
import { isEqual, sortRows, tally, type CompareRow, type Verdict } from './rows.js';
import { collectTables, compareTables } from './tables.js';
import { carriedTenantRealms, realmsOfEither, tenantRealmLabel } from './tenant-realms.js';

export interface CompareSide {
  kube: KubeClient;
  context: string;
  namespace: string;
  app?: string;
}

export interface CompareOptions {
  quick: boolean;
  parallel: number;
  /** The --namespace-map the target was restored with (other namespaces of the app, renamed). */
  namespaceMap?: Record<string, string>;
  /** Image of the pod that reads each CDS volume (its own image has no shell). */
  volumePodImage?: string;
  signal?: AbortSignal;
  progress?: (message: string) => void;
}

export interface CompareOutcome {
  source: { context: string; namespace: string; app: string; host?: string };
  target: { context: string; namespace: string; app: string; host?: string };
  quick: boolean;
  equal: boolean;
  counts: Record<Verdict, number>;
  rows: CompareRow[];
  /** Problems met while reading (missing referenced objects...), per side. */
  warnings: string[];
}

const hostOf = (app: KubeObject) => spec(app).ingressHostName as string | undefined;

/**
 * Everything compare reads of one side; read-only calls (get, list, exec, port-forward) but for
 * the pod that reads each CDS volume. `tenantRealms`: the tenant realms of either side.
 */
async function collect(
  side: CompareSide,
  app: KubeObject,
  opts: CompareOptions,
  tenantRealms: { realm: string }[],
) {
  const results = new Results();
  const say = (m: string) => opts.progress?.(`${side.context}/${side.namespace}: ${m}`);
  say('objects');
  const objects = await captureAppObjects(side.kube, app, results);
  say('databases');
  const tables = await collectTables(side.kube, app, opts);
  say('files');
  const trees = await collectTrees(side.kube, app, opts);
  say('CDS files');
  const cds = await collectCdsTrees(side.kube, app, { ...opts, progress: say });
  say('keycloak realm');
  const realm = await collectRealm(side.kube, app);
  const tenantRealmStates: RealmState[] = [];
  for (const r of tenantRealms) {
    say(`keycloak realm ${r.realm}`);
    tenantRealmStates.push(await collectRealm(side.kube, app, r.realm));
  }
  const warnings = [
    ...results.warnings.map((w) => `${side.context}: ${w.where}: ${w.message}`),
    ...[...tables.problems, ...cds.problems].map((p) => `${side.context}: ${p}`),
  ];
  return {
    objects: objects.map((c) => c.object),
    tables,
    trees: [...trees, ...cds.trees],
    realm,
    tenantRealms: tenantRealmStates,
    warnings,
  };
}

/**
 * Compares two live apps the way an auditor would, without any archive: the objects a backup
 * captures (the source's normalised as a restore would write them into the target), every
 * table of every datasource, secondary tenants' schemas included (row count and a hash computed
 * by the DBMS), every files tree and CDS volume (entries, modes, sizes, symlink targets, hashes
 * computed in a pod), the Keycloak realm and the tenants' realms in it.
 */
export async function compareApps(
  source: CompareSide,
  target: CompareSide,
  opts: CompareOptions,
): Promise<CompareOutcome> {
  const sourceApp = await findApp(source.kube, source.namespace, source.app);
  const targetApp = await findApp(
    target.kube,
    target.namespace,
    target.app ?? sourceApp.metadata.name,
  );
  const mapping: RestoreMapping = {
    sourceNamespace: source.namespace,
    targetNamespace: target.namespace,
    ...(opts.namespaceMap && Object.keys(opts.namespaceMap).length > 0
      ? { namespaceMap: opts.namespaceMap }
      : {}),
    sourceHost: hostOf(sourceApp),
    targetHost: hostOf(targetApp),
    keycloak: 'realm',
  };
  const carried = await Promise.all([
    carriedTenantRealms(source.kube, sourceApp),
    carriedTenantRealms(target.kube, targetApp),
  ]);
  const tenantRealms = realmsOfEither(carried[0].realms, carried[1].realms);
  const [s, t] = await Promise.all([
    collect(source, sourceApp, opts, tenantRealms),
    collect(target, targetApp, opts, tenantRealms),
  ]);
  const rows = sortRows([
    ...compareObjects(
      sourceSnapshot(s.objects, mapping),
      targetSnapshot(t.objects, target.namespace),
    ),
    ...compareTables(s.tables.datasources, t.tables.datasources),
    ...compareTrees(s.trees, t.trees),
    ...compareRealms(s.realm, t.realm),
    ...tenantRealms.flatMap((r, i) =>
      compareRealms(s.tenantRealms[i], t.tenantRealms[i], tenantRealmLabel(r)),
    ),
  ]);
  return {
    source: {
      context: source.context,
      namespace: source.namespace,
      app: sourceApp.metadata.name,
      host: mapping.sourceHost,
    },
    target: {
      context: target.context,
      namespace: target.namespace,
      app: targetApp.metadata.name,
      host: mapping.targetHost,
    },
    quick: opts.quick,
    equal: isEqual(rows),
    counts: tally(rows),
    rows,
    warnings: [
      ...carried[0].problems.map((p) => `${source.context}: ${p}`),
      ...carried[1].problems.map((p) => `${target.context}: ${p}`),
      ...s.warnings,
      ...t.warnings,
    ],
  };
}
