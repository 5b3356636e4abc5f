/**
 * The restore order, as data (Velero's priority list). Each phase has a priority; later
 * components (databases, files, Keycloak, bundles) add steps at the priorities noted here.
 */
export interface Phase {
  name: string;
  priority: number;
  kinds: string[];
  reason: string;
}

export const PHASES: readonly Phase[] = [
  {
    name: 'namespace',
    priority: 10,
    kinds: ['Namespace'],
    reason: 'every restored object lives in it',
  },
  {
    name: 'secrets',
    priority: 20,
    kinds: ['Secret'],
    reason:
      'the operator creates DB and SSO secrets only when absent: restored first, they are reused, so restored data and realm clients keep matching credentials',
  },
  {
    name: 'configmaps',
    priority: 30,
    kinds: ['ConfigMap'],
    reason:
      'entando-operator-config and env references are read when the operator processes the app',
  },
  {
    name: 'service-accounts',
    priority: 40,
    kinds: ['ServiceAccount'],
    reason: 'entando-plugin carries the image pull secrets that plugin pods are started with',
  },
  {
    name: 'external-services',
    priority: 50,
    kinds: ['EntandoDatabaseService', 'EntandoKeycloakServer'],
    reason: 'an external DBMS or Keycloak must be declared before the app that uses it',
  },
  {
    name: 'app',
    priority: 60,
    kinds: ['EntandoApp'],
    reason: 'the operator deploys the app and creates its database roles from the restored secrets',
  },
  // 70: data (databases, then files) once the operator made the roles and volumes.
  {
    name: 'plugins',
    priority: 80,
    kinds: ['EntandoPlugin'],
    reason: 'plugins run beside the app and reuse their restored credential secrets',
  },
  {
    name: 'links',
    priority: 90,
    kinds: ['EntandoAppPluginLink'],
    reason: 'a link joins an app and a plugin that must both exist',
  },
  {
    name: 'bundles',
    priority: 100,
    kinds: ['EntandoDeBundle'],
    reason: 'bundles are offered by the component manager of a running app',
  },
];

/**
 * --bundles reinstall (src/components/bundles): after the realm (95: clients keep their
 * secrets) and the EntandoDeBundles (100: the component manager offers what it finds), the CM
 * is waited for (post-init over: it holds the CM's global lock meanwhile), then each bundle is
 * reinstalled, one at a time; the databases and files of the plugins it makes follow, once the
 * plugin is provisioned.
 */
export const CM_READY_PRIORITY = 104;
export const REINSTALL_PRIORITY = 105;
export const PLUGIN_DATA_AFTER_REINSTALL = { databases: 110, files: 111 };

export function phaseOfKind(kind: string): Phase | undefined {
  return PHASES.find((p) => p.kinds.includes(kind));
}
