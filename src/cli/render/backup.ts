import type { BackupOutcome } from '../../backup/backup.js';
import type { Manifest } from '../../archive/manifest.js';
import { describeBundles } from '../../components/bundles/describe.js';
import { describeKeycloak, describeTenantRealms } from '../../components/keycloak/describe.js';
import { describeHandAddedEnv } from '../../components/resources/hand-env.js';
import { figuresLine, type RunFigures } from '../../report/summary.js';
import type { Rendered } from '../command.js';

/** What a backup did, with the restore command to run next. */
export interface BackupDone {
  outcome: BackupOutcome;
  /** context/namespace the app was backed up from. */
  from: string;
  figures: RunFigures;
  next: string;
}

export function renderBackup({ outcome, from, figures, next }: BackupDone): Rendered {
  const { manifest, results } = outcome;
  const counts = manifest.components.resources?.counts ?? {};
  const bytes = manifest.entries.reduce((n, e) => n + e.size, 0);
  const databases = databaseRows(manifest);
  const { keycloak, bundles } = manifest.components;
  const warnings = results.warnings.length;
  const text = [
    `backed up ${manifest.source.app} from ${from} to ${outcome.file}`,
    `  encryption: ${outcome.encryption}`,
    ...Object.entries(counts).map(([kind, n]) => `  ${kind}: ${n}`),
    ...databases.map(
      (d) =>
        `  database ${d.owner}${d.tenant ? ` tenant ${d.tenant}` : ''} ${d.qualifier}: ${d.dbms} ${d.schema}, ${d.bytes} bytes`,
    ),
    ...(manifest.components.databases?.shared ?? []).map(
      (s) =>
        `  database ${s.owner.name}${s.owner.tenant ? ` tenant ${s.owner.tenant}` : ''} ${s.qualifier}: the schema of ${s.sameAs} (dumped once)`,
    ),
    ...(keycloak ? [`  keycloak: ${describeKeycloak(keycloak)}`] : []),
    ...(keycloak ? describeTenantRealms(keycloak).map((l) => `  keycloak: ${l}`) : []),
    ...(bundles ? describeBundles(bundles).map((l) => `  bundles: ${l}`) : []),
    ...describeHandAddedEnv(manifest.components.resources?.handAddedEnv ?? []).map(
      (l) => `  hand-added env: ${l}`,
    ),
    `  entries: ${manifest.entries.length}, ${bytes} bytes`,
    ...(warnings ? [`  warnings: ${warnings}`] : []),
    `  ${figuresLine(figures)}`,
    `next: ${next}`,
  ];
  const json = {
    file: outcome.file,
    encryption: outcome.encryption,
    source: manifest.source,
    counts,
    databases,
    keycloak,
    bundles,
    entries: manifest.entries.length,
    bytes,
    warnings: results.warnings,
    seconds: figures.seconds,
    bytesPerSecond: Math.round(figures.bytesPerSecond),
    next,
  };
  return { text, json };
}

function databaseRows(manifest: Manifest) {
  return (manifest.components.databases?.datasources ?? []).map((d) => ({
    owner: d.owner.name,
    ...(d.owner.tenant ? { tenant: d.owner.tenant } : {}),
    qualifier: d.qualifier,
    dbms: d.dbms,
    schema: d.schema,
    bytes: d.bytes,
  }));
}
