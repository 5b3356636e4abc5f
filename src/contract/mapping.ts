/** How names change between the source and the restored app. */
export interface RestoreMapping {
  sourceNamespace: string;
  targetNamespace: string;
  /**
   * Other namespaces the archived objects live in (bundles of componentRepositoryNamespaces),
   * renamed with --namespace-map SRC=DST; a namespace not listed keeps its name.
   */
  namespaceMap?: Record<string, string>;
  /** The app's ingressHostName in the archive. */
  sourceHost?: string;
  /** The host to serve the restored app on (--ingress-host), when it changes. */
  targetHost?: string;
  /** What happens to the app's Keycloak realm (--keycloak); absent: nothing to do. */
  keycloak?: KeycloakRestoreMode;
  /** --keycloak keep of an app whose Keycloak was in its namespace: that one, as external. */
  originalKeycloak?: { name: string; frontEndUrl: string; realm: string };
  /**
   * The public URL of the source's in-namespace Keycloak when the target's operator makes the
   * Keycloak anew: a tenant's `kcAuthUrl` on it follows the target's.
   */
  sourceKeycloakUrl?: string;
  /**
   * What happens to bundles (--bundles); absent: objects-only. With reinstall, `plugins` are the
   * EntandoPlugins the reinstall makes again (not restored as objects).
   */
  bundles?: { mode: BundlesRestoreMode; plugins: string[]; tenantPlugins?: string[] };
  /** --tenant-host CODE=HOST: a secondary tenant's new hosts (its `fqdns`), by tenant code. */
  tenantHosts?: Record<string, string[]>;
}

/** What the user chose for the parts a component maps (absent: the component's default). */
export interface RestoreChoices {
  /** --keycloak */
  keycloak?: KeycloakRestoreMode;
  /** --bundles */
  bundles?: BundlesRestoreMode;
  /** --tenant-host, parsed */
  tenantHosts?: Record<string, string[]>;
}

/** reinstall: through the component manager; objects-only: CRs as objects; skip: neither. */
export type BundlesRestoreMode = 'reinstall' | 'objects-only' | 'skip';

/**
 * Where the data steps (databases, files) of an EntandoPlugin go: after the reinstall of its
 * bundle when the reinstall makes it, nowhere with --bundles skip, else at their usual place.
 */
export interface PluginPlacement {
  /** Made by a bundle reinstall: its data goes after that. */
  afterReinstall: boolean;
  /** By a secondary tenant's reinstall (after app-env). */
  tenantReinstall?: boolean;
  skip?: string;
}

export function pluginDataPlacement(mapping: RestoreMapping, plugin: string): PluginPlacement {
  const b = mapping.bundles;
  if (b?.mode === 'skip') {
    return { afterReinstall: false, skip: 'plugins are not restored (--bundles skip)' };
  }
  const afterReinstall = b?.mode === 'reinstall' && b.plugins.includes(plugin);
  // A secondary tenant's plugin (7.3) is made by its tenant's reinstall, after app-env.
  if (afterReinstall && b.tenantPlugins?.includes(plugin)) {
    return { afterReinstall, tenantReinstall: true };
  }
  return { afterReinstall };
}

/** realm: the archive's realm replaces the target's; keep: the source's Keycloak stays in use; skip: fresh clients. */
export type KeycloakRestoreMode = 'realm' | 'keep' | 'skip';

/**
 * The namespace an object or reference moves to: the app's goes to the target namespace, one
 * named in --namespace-map to its mapped name, any other keeps its name.
 */
export function mapNamespace(mapping: RestoreMapping, ns: string | undefined): string | undefined {
  if (ns === undefined) return undefined;
  if (ns === mapping.sourceNamespace) return mapping.targetNamespace;
  return mapping.namespaceMap?.[ns] ?? ns;
}

export function hostChanges(mapping: RestoreMapping): boolean {
  return !!mapping.sourceHost && !!mapping.targetHost && mapping.sourceHost !== mapping.targetHost;
}
