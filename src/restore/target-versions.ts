/**
 * The target's Entando, Keycloak and DBMS versions, read before any change. Before a restore
 * the target's operator has usually deployed neither the app's Keycloak nor its DBMS: what runs
 * is read from its deployment or pod when there is one, else what the operator will deploy
 * from its image info (`entando-docker-image-info`, which it reads in its own namespace: the
 * app's, for the namespace-scoped install of Entando's release manifests).
 */
import type { LoadedArchive } from '../contract/component.js';
import type { DbmsVersionFact, VersionFact } from '../contract/manifest.js';
import { mapNamespace, type RestoreMapping } from '../contract/mapping.js';
import { serviceOfHost } from '../kube/service-host.js';
import {
  DEFAULT_SSO,
  ENTANDO_API,
  EntandoKind,
  IMAGE_INFO,
  serverStatuses,
} from '../entando/kinds.js';
import {
  DBMS_IMAGE_KEYS,
  entandoFact,
  imageInfoVersion,
  KEYCLOAK_IMAGE_KEYS,
  keycloakOfImage,
} from '../entando/release-versions.js';
import { apiErrorMessage, type KubeClient } from '../kube/client.js';
import { spec, type KubeObject } from '../kube/object.js';
import { imageTag, versionNumbers } from '../util/version-tag.js';

type Reader = Pick<KubeClient, 'get' | 'list'>;

/** What the target runs or will run; each part `unknown` with why when it cannot be told. */
export interface TargetVersions {
  entando: VersionFact;
  keycloak: VersionFact;
  /** By the archived server (host:port) it stands for. */
  dbms: Map<string, VersionFact>;
}

const unknown = (why: string): VersionFact => ({ version: 'unknown', why });

export async function readTargetVersions(
  target: Reader,
  archive: LoadedArchive,
  mapping: RestoreMapping,
): Promise<TargetVersions> {
  const ns = mapping.targetNamespace;
  const where = `ConfigMap ${ns}/${IMAGE_INFO} of the target`;
  let info: Record<string, string> | undefined;
  let infoWhy = `no ${where}`;
  try {
    const cm = await target.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: IMAGE_INFO,
    });
    info = cm?.data as Record<string, string> | undefined;
  } catch (err) {
    infoWhy = `cannot read ${where}: ${apiErrorMessage(err)}`;
  }
  const fromInfo = { data: info, where, why: infoWhy };
  const dbms = new Map<string, VersionFact>();
  for (const server of archive.manifest.versions?.dbms ?? []) {
    dbms.set(server.server, await targetDbms(target, server, mapping, fromInfo));
  }
  return {
    entando: info ? entandoFact(info, where) : unknown(infoWhy),
    keycloak: await targetKeycloak(target, archive, mapping, fromInfo),
    dbms,
  };
}

interface ImageInfo {
  data?: Record<string, string>;
  where: string;
  why: string;
}

/** The Keycloak the restored app will use: the one there already, else the operator's image. */
async function targetKeycloak(
  target: Reader,
  archive: LoadedArchive,
  mapping: RestoreMapping,
  info: ImageInfo,
): Promise<VersionFact> {
  const app = archive.objects.find(
    (o) => o.kind === EntandoKind.App && o.metadata.name === archive.manifest.source.app,
  );
  const ref = (app ? spec(app).keycloakToUse : undefined) as
    { name?: string; namespace?: string } | undefined;
  const name = ref?.name || DEFAULT_SSO;
  const namespace = mapNamespace(mapping, ref?.namespace) ?? mapping.targetNamespace;
  try {
    const server = await target.get({
      apiVersion: ENTANDO_API,
      kind: EntandoKind.KeycloakServer,
      namespace,
      name,
    });
    const statuses = server ? serverStatuses(server) : {};
    const deployment = (statuses.server ?? statuses.main)?.deploymentName ?? `${name}-deployment`;
    const d = server
      ? await target.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: deployment })
      : undefined;
    const running = d ? firstImage(d) : undefined;
    if (running) {
      return (
        keycloakOfImage(running) ??
        unknown(
          `Deployment ${namespace}/${deployment} runs ${running}, not an image whose Keycloak version is known`,
        )
      );
    }
    // Not deployed yet: the operator makes it from its image info, by the server's flavour.
    const archived = archive.objects.find(
      (o) => o.kind === EntandoKind.KeycloakServer && o.metadata.name === name,
    );
    const chosen = server ?? archived;
    const flavour = String((chosen ? spec(chosen).standardImage : undefined) ?? 'keycloak');
    const key = KEYCLOAK_IMAGE_KEYS[flavour] ?? KEYCLOAK_IMAGE_KEYS.keycloak;
    const tag = imageInfoVersion(info.data, key);
    if (!tag) return unknown(info.data ? `${info.where} has no ${key} entry` : info.why);
    const image = `entando/${key}:${tag}`;
    const found = keycloakOfImage(image);
    if (!found) return unknown(`${info.where} names ${image}, whose Keycloak version is not known`);
    return { version: found.version, from: `${info.where}, entry ${key}: ${found.from}` };
  } catch (err) {
    return unknown(
      `cannot read Keycloak ${namespace}/${name} of the target: ${apiErrorMessage(err)}`,
    );
  }
}

/**
 * The target's counterpart of an archived server. An in-namespace DBMS is made again by the
 * target's operator: the pods behind the same Service name, else its image info's DBMS image.
 * An external server is the user's: the restored datasources name it, its version is not read.
 */
async function targetDbms(
  target: Reader,
  server: DbmsVersionFact,
  mapping: RestoreMapping,
  info: ImageInfo,
): Promise<VersionFact> {
  if (server.location !== 'dbms-pod') {
    return unknown(`external server: the restored datasources name it; its version is not read`);
  }
  const host = server.server.replace(/:\d+$/, '');
  const svc = serviceOfHost(host, mapping.sourceNamespace);
  const namespace = mapNamespace(mapping, svc?.namespace) ?? mapping.targetNamespace;
  try {
    const service = svc
      ? await target.get({ apiVersion: 'v1', kind: 'Service', namespace, name: svc.name })
      : undefined;
    const selector = (service?.spec as { selector?: Record<string, string> } | undefined)?.selector;
    if (selector && Object.keys(selector).length > 0) {
      const labels = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const pods = await target.list('v1', 'Pod', namespace, labels);
      const image = pods.length > 0 ? firstImage(pods[0], 'db-container') : undefined;
      if (image) return dbmsOfImage(image, `pod ${namespace}/${pods[0].metadata.name}`);
    }
    for (const key of DBMS_IMAGE_KEYS[server.dbms]) {
      const tag = imageInfoVersion(info.data, key);
      if (tag)
        return dbmsOfImage(
          `entando/${repositoryOf(info.data!, key)}:${tag}`,
          `${info.where}, entry ${key}`,
        );
    }
    return unknown(
      info.data ? `${info.where} has no ${DBMS_IMAGE_KEYS[server.dbms][0]} entry` : info.why,
    );
  } catch (err) {
    return unknown(
      `cannot read the DBMS of namespace ${namespace} of the target: ${apiErrorMessage(err)}`,
    );
  }
}

/** Entando's DBMS images are tagged with the version they run (entando-postgres-rocky:v14.8). */
function dbmsOfImage(image: string, where: string): VersionFact {
  const tag = imageTag(image);
  if (!tag || !versionNumbers(tag)) return unknown(`${where}: image ${image} has no version tag`);
  return { version: tag.replace(/^[vV]/, ''), from: `${where}: image ${image}` };
}

function repositoryOf(data: Record<string, string>, key: string): string {
  try {
    return (JSON.parse(data[key]) as { repository?: string }).repository ?? key;
  } catch {
    return key;
  }
}

/** The image of a deployment's or pod's container (the one named, else the first). */
function firstImage(o: KubeObject, container?: string): string | undefined {
  const podSpec = (
    o.kind === 'Pod'
      ? o.spec
      : (o.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec
  ) as { containers?: { name: string; image?: string }[] } | undefined;
  const containers = podSpec?.containers ?? [];
  return (containers.find((c) => c.name === container) ?? containers[0])?.image;
}
