/**
 * What an Entando install's versions are, from what it shows: its `entando-docker-image-info`
 * ConfigMap (what the operator deploys, per image) and the images of its pods. The tables are
 * from Entando's release manifests (v7.1.6, v7.3.0) and entando-keycloak's Dockerfiles.
 */
import type { VersionFact } from '../contract/manifest.js';
import { compareVersions, imageName, imageTag, versionNumbers } from '../util/version-tag.js';

/** One entry of the image info: `{"version":"7.3.0",...,"repository":"entando-de-app-eap"}`. */
export function imageInfoVersion(
  data: Record<string, string> | undefined,
  key: string,
): string | undefined {
  const raw = data?.[key];
  if (!raw) return undefined;
  try {
    return (JSON.parse(raw) as { version?: string }).version || undefined;
  } catch {
    // 7.1.6 and 7.3.0 ship a malformed rhel8-mysql-80 entry (",,"): not one to read.
    return undefined;
  }
}

/**
 * The app engine's entries name the release in every 7.x manifest (7.1.6: 7.1.6, 7.3.0: 7.3.0),
 * the operator's image too but it may live in another namespace; tomcat's lagged (7.1.5 in
 * 7.1.6), so it comes last. The app's own image says nothing with a customServerImage.
 */
const ENTANDO_KEYS = [
  'entando-de-app-wildfly-6-4',
  'entando-de-app-eap-6-4',
  'entando-de-app-tomcat-6-4',
];

/** The Entando release of an install, with the image info entry it was read from. */
export function entandoRelease(
  data: Record<string, string> | undefined,
): { version: string; key: string } | undefined {
  for (const key of ENTANDO_KEYS) {
    const version = imageInfoVersion(data, key);
    if (version) return { version, key };
  }
  return undefined;
}

/** The Entando version of an install, read from the app engine's entry in the image info. */
export function entandoVersion(imageInfo: Record<string, string> | undefined): string | undefined {
  return entandoRelease(imageInfo)?.version;
}

/** The image info entries of the DBMS images the operator deploys (centos7 names, rocky images). */
export const DBMS_IMAGE_KEYS: Record<'postgresql' | 'mysql', string[]> = {
  postgresql: ['postgresql-12-centos7', 'rhel8-postgresql-12'],
  mysql: ['mysql-80-centos7', 'rhel8-mysql-80'],
};

/** The image info entries of the Keycloak images, by EntandoKeycloakServer standardImage. */
export const KEYCLOAK_IMAGE_KEYS: Record<string, string> = {
  keycloak: 'entando-keycloak',
  'redhat-sso': 'entando-redhat-sso',
};

/**
 * The Keycloak an Entando Keycloak image runs, by its tag (KEYCLOAK.md §1): entando-keycloak
 * 7.0.x-7.1.x is jboss/keycloak 15.1.1, 7.2.x-7.3.x keycloak 18.0.2-legacy; entando-redhat-sso
 * the same releases are RH-SSO 7.5 (Keycloak 15.0.2) and 7.6 (Keycloak 18.0). Later tags are not
 * known (a Quarkus 24 image exists unreleased): undefined, never a guess.
 */
function keycloakOfEntandoTag(name: string, tag: string): string | undefined {
  const older = compareVersions(tag, '7.2', 2);
  const known = compareVersions(tag, '7.0', 1) === 0 && compareVersions(tag, '7.3', 2)! <= 0;
  if (!known || older === undefined) return undefined;
  if (name === 'entando-redhat-sso') return older < 0 ? '15.0.2' : '18.0';
  return older < 0 ? '15.1.1' : '18.0.2';
}

/** The Keycloak version an image runs, with how it is known; undefined when it is not. */
export function keycloakOfImage(image: string): { version: string; from: string } | undefined {
  const name = imageName(image);
  const tag = imageTag(image);
  if (!tag || !versionNumbers(tag)) return undefined;
  if (name === 'keycloak') return { version: tag, from: `image ${image}` };
  if (name === 'entando-keycloak' || name === 'entando-redhat-sso') {
    const version = keycloakOfEntandoTag(name, tag);
    return version
      ? { version, from: `image ${image} (Entando ${tag}'s ${name} runs Keycloak ${version})` }
      : undefined;
  }
  return undefined;
}

/** The first Entando release whose Keycloak has this major (15: 7.0, 18: 7.2), if one does. */
export function shippedSince(keycloakMajor: string): string | undefined {
  return ({ '15': '7.0', '18': '7.2' } as Record<string, string>)[keycloakMajor];
}

/**
 * A Keycloak server's own version as the Keycloak it is based on: RH-SSO reports its product
 * version (7.5.x, 7.6.x), which would order below any community Keycloak it succeeds.
 */
export function keycloakBasis(version: string): string {
  if (compareVersions(version, '7.5', 2) === 0) return '15.0.2';
  if (compareVersions(version, '7.6', 2) === 0) return '18.0';
  return version;
}

/** Product and version from `SELECT version()` (PostgreSQL) or `SELECT VERSION()` (MySQL). */
export function parseDbmsBanner(
  banner: string,
): { product: 'postgresql' | 'mysql' | 'mariadb'; version: string } | undefined {
  const text = banner.trim();
  const pg = /PostgreSQL (\d+(?:\.\d+)*)/.exec(text);
  if (pg) return { product: 'postgresql', version: pg[1] };
  const my = /^(\d+(?:\.\d+)*)/.exec(text);
  if (!my) return undefined;
  return { product: /mariadb/i.test(text) ? 'mariadb' : 'mysql', version: my[1] };
}

/**
 * The numbers of a DBMS version a data migration depends on: PostgreSQL's major is its first
 * number from 10 on (9.6 before), MySQL's the first two (8.0).
 */
export function dbmsMajorDepth(dbms: 'postgresql' | 'mysql', version: string): number {
  const first = versionNumbers(version)?.[0] ?? 0;
  return dbms === 'postgresql' && first >= 10 ? 1 : 2;
}

/** The source's Entando version fact from its image info (`where`: the ConfigMap read). */
export function entandoFact(data: Record<string, string> | undefined, where: string): VersionFact {
  if (!data) {
    return {
      version: 'unknown',
      why: `no ${where} (an operator installed in another namespace keeps it there)`,
    };
  }
  const release = entandoRelease(data);
  if (!release) {
    return { version: 'unknown', why: `${where} has no app engine entry (${ENTANDO_KEYS[0]})` };
  }
  return { version: release.version, from: `${where}, entry ${release.key}` };
}
