/**
 * The archive's versions (recorded at backup) against the target's, before any change: the
 * same is nothing to say; a newer target migrates forward (a note in the plan); an older
 * Entando, Keycloak major or DBMS major is refused (a preflight problem: an older server
 * cannot read what a newer one wrote); a version not known on either side is shown, not judged.
 */
import type { LoadedArchive } from '../contract/component.js';
import type { DbmsVersionFact, VersionFact } from '../contract/manifest.js';
import type { RestoreMapping } from '../contract/mapping.js';
import { dbmsMajorDepth, keycloakBasis, shippedSince } from '../entando/release-versions.js';
import type { KubeClient } from '../kube/client.js';
import { compareVersions, imageTag, versionNumbers, versionPrefix } from '../util/version-tag.js';
import { readTargetVersions, type TargetVersions } from './target-versions.js';

export type Verdict = 'same' | 'upgrade' | 'downgrade' | 'unknown' | 'not-compared';

/** One comparison, as the plan shows it (text and `-o json`). */
export interface VersionCheck {
  /** entando, keycloak, or the DBMS server (`postgresql host:port`). */
  what: string;
  source: string;
  target: string;
  /** Where each side was read, or why it is not known. */
  sourceFrom: string;
  targetFrom: string;
  verdict: Verdict;
  /** What it means for this restore. */
  note: string;
}

export interface VersionsOutcome {
  checks: VersionCheck[];
  /** Refusals, one line each: the reason and what to do. */
  problems: string[];
  warnings: string[];
}

const fromOf = (f: VersionFact) => f.from ?? f.why ?? '';
const known = (f: VersionFact | undefined): f is VersionFact =>
  !!f && f.version !== 'unknown' && versionNumbers(f.version) !== undefined;

export async function checkVersions(
  target: Pick<KubeClient, 'get' | 'list'>,
  archive: LoadedArchive,
  mapping: RestoreMapping,
): Promise<VersionsOutcome> {
  const out: VersionsOutcome = { checks: [], problems: [], warnings: [] };
  const recorded = archive.manifest.versions;
  if (!recorded) {
    out.warnings.push(
      "the archive records no versions (made by an older kubectl-entando): the target's Entando, Keycloak and DBMS versions are not compared with the source's",
    );
    return out;
  }
  return compareAll(recorded, await readTargetVersions(target, archive, mapping), mapping);
}

/** The comparisons of the recorded versions with the target's (no cluster: testable as data). */
export function compareAll(
  recorded: NonNullable<LoadedArchive['manifest']['versions']>,
  target: TargetVersions,
  mapping: Pick<RestoreMapping, 'keycloak'>,
): VersionsOutcome {
  const out: VersionsOutcome = { checks: [], problems: [], warnings: [] };
  const missing = { version: 'unknown', why: 'not recorded in the archive' };
  compareEntando(out, recorded.entando ?? missing, target.entando);
  if (mapping.keycloak === 'realm') {
    compareKeycloak(out, recorded.keycloak ?? missing, target.keycloak);
  } else {
    const source = recorded.keycloak ?? missing;
    out.checks.push({
      what: 'keycloak',
      source: source.version,
      target: target.keycloak.version,
      sourceFrom: fromOf(source),
      targetFrom: fromOf(target.keycloak),
      verdict: 'not-compared',
      note: mapping.keycloak
        ? `the realm is not imported (--keycloak ${mapping.keycloak})`
        : 'the archive holds no realm',
    });
  }
  for (const server of recorded.dbms ?? []) {
    compareDbms(
      out,
      server,
      target.dbms.get(server.server) ?? { version: 'unknown', why: 'not read in the target' },
    );
  }
  return out;
}

/**
 * Unknown on a side: a check the plan shows with its note, never a refusal. Not a warning: a
 * target namespace without the operator's image info (a cluster-wide operator, a new
 * namespace) is the common case, and a warning on every such restore would be noise.
 */
function unknownCheck(
  out: VersionsOutcome,
  what: string,
  label: string,
  source: VersionFact,
  target: VersionFact,
): boolean {
  if (known(source) && known(target)) return false;
  const [side, fact] = known(source) ? ["the target's", target] : ["the source's", source];
  const note = `not compared: ${side} ${label} version is not known (${fromOf(fact)}); check it yourself`;
  out.checks.push({
    what,
    source: source.version,
    target: target.version,
    sourceFrom: fromOf(source),
    targetFrom: fromOf(target),
    verdict: 'unknown',
    note,
  });
  return true;
}

function compareEntando(out: VersionsOutcome, source: VersionFact, target: VersionFact): void {
  if (unknownCheck(out, 'entando', 'Entando', source, target)) return;
  const order = compareVersions(target.version, source.version)!;
  const base = {
    what: 'entando',
    source: source.version,
    target: target.version,
    sourceFrom: fromOf(source),
    targetFrom: fromOf(target),
  };
  if (order === 0) {
    out.checks.push({ ...base, verdict: 'same', note: 'same release' });
  } else if (order > 0) {
    out.checks.push({
      ...base,
      verdict: 'upgrade',
      note: `will be migrated forward: Entando ${source.version} -> ${target.version} (the target's operator deploys its own images; the app engine's and component manager's Liquibase changelogs update the restored schemas at their start)`,
    });
  } else {
    out.checks.push({ ...base, verdict: 'downgrade', note: 'refused: the target is older' });
    out.problems.push(
      `Entando: the archive is of Entando ${source.version} and the target runs ${target.version} (${fromOf(target)}): an older release would run on schemas and a realm written by a newer one; restore into a cluster running Entando >= ${source.version}`,
    );
  }
}

function compareKeycloak(out: VersionsOutcome, source: VersionFact, target: VersionFact): void {
  if (unknownCheck(out, 'keycloak', 'Keycloak', source, target)) return;
  const from = keycloakBasis(source.version);
  const to = keycloakBasis(target.version);
  const order = compareVersions(to, from, 1)!;
  const base = {
    what: 'keycloak',
    source: source.version,
    target: target.version,
    sourceFrom: fromOf(source),
    targetFrom: fromOf(target),
  };
  if (order === 0) {
    out.checks.push({ ...base, verdict: 'same', note: `same major (${versionPrefix(to, 1)})` });
  } else if (order > 0) {
    out.checks.push({
      ...base,
      verdict: 'upgrade',
      note: `will be migrated forward: Keycloak ${source.version} -> ${target.version} (Keycloak migrates the realm at import)`,
    });
  } else {
    const major = versionPrefix(from, 1)!;
    const entando = shippedSince(major);
    out.checks.push({ ...base, verdict: 'downgrade', note: 'refused: the target is older' });
    out.problems.push(
      `Keycloak: the archived realm was exported by Keycloak ${source.version} and the target's Keycloak is ${target.version} (${fromOf(target)}): Keycloak imports realms of its own or an older version only; upgrade the target's Keycloak to >= ${major}${entando ? ` or restore into a cluster running Entando >= ${entando}` : ''}, or restore without the realm (--keycloak skip)`,
    );
  }
}

const PRODUCT: Record<string, string> = {
  postgresql: 'PostgreSQL',
  mysql: 'MySQL',
  mariadb: 'MariaDB',
};

/**
 * A DBMS is compared by its image tag when both sides have one (what the target's operator
 * deploys is known only that way before it runs), else by what the server answered.
 */
function compareDbms(out: VersionsOutcome, server: DbmsVersionFact, target: VersionFact): void {
  const what = `${server.dbms} ${server.server}`;
  const tag = server.image ? imageTag(server.image) : undefined;
  const source: VersionFact =
    tag && versionNumbers(tag)
      ? { version: tag.replace(/^[vV]/, ''), from: `image ${server.image}` }
      : server;
  if (unknownCheck(out, what, PRODUCT[server.dbms], source, target)) return;
  const depth = dbmsMajorDepth(server.dbms, source.version);
  const order = compareVersions(target.version, source.version, depth)!;
  const name = PRODUCT[server.dbms];
  const major = (v: string) => versionPrefix(v, depth)!;
  const base = {
    what,
    source: source.version,
    target: target.version,
    sourceFrom: fromOf(source),
    targetFrom: fromOf(target),
  };
  if (order === 0) {
    out.checks.push({ ...base, verdict: 'same', note: `same major (${major(source.version)})` });
  } else if (order > 0) {
    out.checks.push({
      ...base,
      verdict: 'upgrade',
      note: `will be migrated forward: ${name} ${major(source.version)} -> ${major(target.version)} (the dumps are SQL text, loaded by the newer server)`,
    });
  } else {
    out.checks.push({ ...base, verdict: 'downgrade', note: 'refused: the target is older' });
    out.problems.push(
      `${name} ${server.server}: the archived dumps come from ${name} ${major(source.version)} and the target's is ${target.version} (${fromOf(target)}): a dump of a newer server may use what an older one cannot load; restore into a target whose ${name} is >= ${major(source.version)}`,
    );
  }
}
