import { UserError } from '../../errors.js';
import type { LoadedArchive } from '../../contract/component.js';
import type { KeycloakRestoreMode, RestoreMapping } from '../../contract/mapping.js';

/** The realm's fate: as asked, else realm when the archive carries it, keep when external. */
export function keycloakModeFor(
  archive: LoadedArchive,
  asked: KeycloakRestoreMode | undefined,
): KeycloakRestoreMode | undefined {
  const summary = archive.manifest.components.keycloak;
  if (asked === 'realm' && summary?.mode !== 'realm') {
    throw new UserError(
      `--keycloak realm: this archive holds no realm (${summary ? `${summary.mode}${summary.reason ? `: ${summary.reason}` : ''}` : 'made before realms were carried'}); use --keycloak keep or --keycloak skip`,
    );
  }
  if (
    asked === 'keep' &&
    summary?.mode === 'realm' &&
    (!summary.frontEndUrl || !summary.adminEntry)
  ) {
    throw new UserError(
      "--keycloak keep: the archive does not record the source Keycloak's public URL and admin credentials (an older archive, or a Keycloak without ingress): use --keycloak realm or --keycloak skip",
    );
  }
  if (asked) return asked;
  if (summary?.mode === 'realm') return 'realm';
  if (summary?.mode === 'external') return 'keep';
  return undefined;
}

/** The keycloak component's part of the restore mapping (Component.restoreMapping). */
export function keycloakMapping(
  archive: LoadedArchive,
  asked: KeycloakRestoreMode | undefined,
): Pick<RestoreMapping, 'keycloak' | 'originalKeycloak' | 'sourceKeycloakUrl'> {
  const mode = keycloakModeFor(archive, asked);
  const summary = archive.manifest.components.keycloak;
  const source = archive.manifest.source;
  return {
    keycloak: mode,
    originalKeycloak:
      mode === 'keep' && summary?.mode === 'realm'
        ? {
            name: `${source.app}-original-sso`,
            frontEndUrl: summary.frontEndUrl!,
            realm: summary.realm,
          }
        : undefined,
    sourceKeycloakUrl:
      mode !== 'keep' && summary?.mode === 'realm' ? summary.frontEndUrl : undefined,
  };
}
