import type { LoadedArchive } from '../components/component.js';
import type { KeycloakSummary } from '../components/keycloak/backup.js';
import { captureAppObjects } from '../components/resources/capture.js';
import { findApp } from '../components/resources/find-app.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { discoverVolumes, runningPod } from '../components/files/discover.js';
import { Results } from '../report/results.js';
import type { RestoreMapping } from '../contract/mapping.js';
import { archiveTables, archiveTrees } from './archive-side.js';
import { collectCdsTrees } from './cds-trees.js';
import { collectTrees, compareTrees } from './files.js';
import { collectRealm, type RealmState } from './keycloak.js';
import { compareObjects, sourceSnapshot, targetSnapshot } from './objects.js';
import {
  ABSENT,
  isEqual,
  row,
  rowsText,
  sortRows,
  tally,
  type CompareRow,
  type Verdict,
} from './rows.js';
import { collectTables, compareTables } from './tables.js';
import { markReinstalled } from './reinstalled.js';
import { tenantRealmLabel } from './tenant-realms.js';
import { archivedTenantsOnly } from './tenant-schemas.js';

import { VERIFY_SCOPE } from './scope.js';

export { VERIFY_SCOPE };

export interface VerifyOutcome {
  equal: boolean;
  counts: Record<Verdict, number>;
  rows: CompareRow[];
  scope: string;
  warnings: string[];
}

/**
 * Realm counts the manifest records (the app's realm, or a tenant's) beside the same counts
 * read live.
 */
export function realmCountRows(
  summary: Pick<KeycloakSummary, 'realm' | 'counts'> & { mode: string; tenants?: string[] },
  live: RealmState,
): CompareRow[] {
  if (summary.mode !== 'realm' || !summary.counts) return [];
  const label = summary.tenants
    ? tenantRealmLabel({ tenants: summary.tenants, realm: summary.realm })
    : `realm ${summary.realm}`;
  const name = (what: string) => `${label} ${what}`;
  if (live.unavailable || !live.facts) {
    return [
      {
        section: 'keycloak',
        name: name('(realm)'),
        source: 'archived',
        target: ABSENT,
        verdict: 'unchecked',
        why: `target: ${live.unavailable ?? 'not read'}`,
      },
    ];
  }
  const c = summary.counts;
  const pairs: [string, number][] = [
    ['users (count)', c.users - c.serviceAccounts],
    ['clients (count)', c.clients],
    ['groups (count)', c.groups],
    ['realm roles (count)', c.realmRoles],
  ];
  return pairs.map(([k, v]) => row('keycloak', name(k), String(v), live.facts![k] ?? ABSENT));
}

/**
 * After a restore: the restored app beside what the archive holds, without the source cluster.
 * Content hashes of tables need the source DBMS's own functions over live rows, so tables are
 * compared by row count (see VERIFY_SCOPE); files are compared in full.
 */
export async function verifyRestore(
  archive: LoadedArchive,
  target: KubeClient,
  mapping: RestoreMapping,
  opts: {
    parallel: number;
    waitTimeoutMs: number;
    /** Image of the pod that reads each CDS volume (--volume-pod-image). */
    volumePodImage?: string;
    signal?: AbortSignal;
    progress?: (m: string) => void;
  },
): Promise<VerifyOutcome> {
  const app = await findApp(target, mapping.targetNamespace, archive.manifest.source.app);
  const results = new Results();
  opts.progress?.('verify: objects');
  const live = await captureAppObjects(target, app, results);
  const objectRows = compareObjects(
    sourceSnapshot(archive.objects, mapping),
    targetSnapshot(
      live.map((c) => c.object),
      mapping.targetNamespace,
    ),
  );
  const rows: CompareRow[] =
    mapping.bundles?.mode === 'reinstall'
      ? markReinstalled(objectRows, archive.manifest.components.bundles, app.metadata.name)
      : objectRows;
  opts.progress?.('verify: tables');
  const tables = await collectTables(target, app, { ...opts, quick: true });
  const archivedTables = await archiveTables(archive, archive.manifest.entries);
  rows.push(
    ...compareTables(archivedTables, archivedTenantsOnly(tables.datasources, archivedTables)),
  );
  opts.progress?.('verify: files');
  await waitForServers(target, app, opts.waitTimeoutMs);
  const trees = await collectTrees(target, app, { ...opts, quick: false });
  // CDS volumes only when the archive carries some (an archive of an older version has none).
  const cds = archive.manifest.components.files?.cds?.length
    ? await collectCdsTrees(target, app, { ...opts, quick: false })
    : { trees: [], problems: [] };
  rows.push(
    ...compareTrees(await archiveTrees(archive, archive.manifest.entries), [
      ...trees,
      ...cds.trees,
    ]),
  );
  const summary = archive.manifest.components.keycloak;
  if (summary?.mode === 'realm' && mapping.keycloak === 'realm') {
    opts.progress?.('verify: keycloak realm');
    rows.push(...realmCountRows(summary, await collectRealm(target, app)));
    for (const t of summary.tenantRealms ?? []) {
      if (t.mode !== 'realm') continue;
      opts.progress?.(`verify: keycloak realm ${t.realm} (tenant ${t.tenants.join(', ')})`);
      rows.push(...realmCountRows(t, await collectRealm(target, app, t.realm)));
    }
  }
  const sorted = sortRows(rows);
  return {
    equal: isEqual(sorted),
    counts: tally(sorted),
    rows: sorted,
    scope: VERIFY_SCOPE,
    warnings: [
      ...results.warnings.map((w) => `${w.where}: ${w.message}`),
      ...tables.problems,
      ...cds.problems,
    ],
  };
}

/** Waits (up to `timeoutMs`) for a ready pod of every server whose volume is compared. */
async function waitForServers(kube: KubeClient, app: KubeObject, timeoutMs: number) {
  const ns = app.metadata.namespace!;
  const { volumes } = await discoverVolumes(kube, app, false);
  const deadline = Date.now() + timeoutMs;
  for (const v of volumes) {
    while (!(await runningPod(kube, ns, v.deployment)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The verification as text lines for the restore's output. */
export function verifyText(v: VerifyOutcome): string[] {
  const c = v.counts;
  return [
    `verify: ${v.scope}`,
    ...rowsText(v.rows, ['ARCHIVE', 'RESTORED']),
    `verify: ${v.equal ? 'restored app equals the archive' : 'restored app does NOT equal the archive'}: ${c.same} same, ${c.expected} expected differences, ${c.differs} differ, ${c.missing} missing, ${c.unchecked} unchecked`,
  ];
}
