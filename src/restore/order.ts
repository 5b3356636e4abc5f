/**
 * The restore order, as data (Velero's priority list): every phase a restore step can be placed
 * in, in order, each with its reason. Components place their steps by phase name
 * (`phase('app-files')`); the priorities live here only (docs/restore-order.md shows the table,
 * kept equal to it by a unit test). A step's `phase` label (what a failure stops after, what
 * the plan groups by) is the phase's name, except for the data steps, labelled `databases` and
 * `files` wherever they go.
 */
export interface Phase {
  name: string;
  priority: number;
  /** The kinds of the archived objects restored in this phase (resources component). */
  kinds?: readonly string[];
  /** The kinds of Entando owners whose owned objects are re-owned in this phase. */
  owners?: readonly string[];
  reason: string;
}

const TABLE = [
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
    name: 'cds-volumes',
    priority: 42,
    kinds: ['PersistentVolumeClaim'],
    reason:
      'the CDS volumes (made by hand, owned by no CR), empty, so their files go in before any CDS pod starts: its init container downloads a seed from the Internet into a volume without public/',
  },
  {
    name: 'cds-files',
    priority: 43,
    reason:
      "each CDS volume's public/ and protected/, through a short-lived pod while the CDS deployment is absent or scaled to 0 (the CDS image has no shell), after a check that the volume can hold them",
  },
  {
    name: 'cds-servers',
    priority: 44,
    kinds: ['Deployment', 'Service', 'Ingress'],
    reason:
      'the CDS deployments, services and ingresses, once their volumes are filled: the init container finds public/ and seeds nothing; before the app engine that calls them',
  },
  {
    name: 'external-services',
    priority: 50,
    kinds: ['EntandoDatabaseService', 'EntandoKeycloakServer'],
    reason: 'an external DBMS or Keycloak must be declared before the app that uses it',
  },
  {
    name: 'external-services-adopt',
    priority: 51,
    owners: ['EntandoDatabaseService', 'EntandoKeycloakServer'],
    reason:
      'objects an external service owned in the source get an ownerReference to the restored one, once it exists',
  },
  {
    name: 'app',
    priority: 60,
    kinds: ['EntandoApp'],
    reason: 'the operator deploys the app and creates its database roles from the restored secrets',
  },
  {
    name: 'app-adopt',
    priority: 61,
    owners: ['EntandoApp'],
    reason:
      'objects the app owned in the source (its DB and SSO secrets) get an ownerReference to the restored app, once it exists',
  },
  {
    name: 'app-databases',
    priority: 70,
    reason:
      "the app's and its Keycloak's databases, once the operator has made the roles and schemas from the restored secrets",
  },
  {
    name: 'app-files',
    priority: 72,
    reason: "the app's files, after its databases, once the operator deployed it",
  },
  {
    name: 'tenants-credentials',
    priority: 75,
    reason:
      "the admin credentials entando-tenants-secret holds of the Keycloak and in-namespace DBMS the target's operator made anew (with new generated admin secrets, which exist once the app is processed), set before the plugins, whose 7.3 controllers read the Keycloak admin from it",
  },
  {
    name: 'plugins',
    priority: 80,
    kinds: ['EntandoPlugin'],
    reason: 'plugins run beside the app and reuse their restored credential secrets',
  },
  {
    name: 'plugins-adopt',
    priority: 81,
    owners: ['EntandoPlugin'],
    reason:
      'objects a plugin owned in the source get an ownerReference to the restored plugin, once it exists',
  },
  {
    name: 'plugin-databases',
    priority: 85,
    reason:
      "a plugin's databases, after the plugins, once the operator has made its roles and schemas",
  },
  {
    name: 'plugin-files',
    priority: 86,
    reason: "a plugin's files, after its databases, before the links",
  },
  {
    name: 'tenant-databases',
    priority: 87,
    reason:
      "the secondary tenants' schemas (made by hand in the source, not by the operator: their users and schemas are made when missing in the in-namespace DBMS), once every in-namespace DBMS exists (a tenant may use the one a plugin brought), with the app engine down, and before the app-env phase gives it ENTANDO_TENANTS: a tenant is served only from a loaded schema",
  },
  {
    name: 'links',
    priority: 90,
    kinds: ['EntandoAppPluginLink'],
    reason: 'a link joins an app and a plugin that must both exist',
  },
  {
    name: 'links-adopt',
    priority: 91,
    owners: ['EntandoAppPluginLink'],
    reason:
      'objects a link owned in the source get an ownerReference to the restored link, once it exists',
  },
  {
    name: 'keycloak',
    priority: 95,
    reason:
      "after the links: the operator has processed the app and every plugin, so its client updates (which delete client roles it does not know) ran against the fresh realm, not the restored one; the secondary tenants' realms are imported in the same side-server run",
  },
  {
    name: 'bundles',
    priority: 100,
    kinds: ['EntandoDeBundle'],
    reason: 'bundles are offered by the component manager of a running app',
  },
  {
    name: 'bundles-adopt',
    priority: 101,
    owners: ['EntandoDeBundle'],
    reason:
      'objects a bundle owned in the source get an ownerReference to the restored bundle, once it exists',
  },
  {
    name: 'component-manager',
    priority: 104,
    reason:
      "--bundles reinstall: after the realm (clients keep their secrets) and the EntandoDeBundles (the component manager offers what it finds), the component manager is waited for: post-init over, as it holds the CM's global lock meanwhile",
  },
  {
    name: 'bundles-reinstall',
    priority: 105,
    reason:
      '--bundles reinstall: each bundle reinstalled through the component manager, one at a time',
  },
  {
    name: 'reinstalled-plugin-databases',
    priority: 110,
    reason:
      'the databases of the plugins a bundle reinstall made, once the reinstall provisioned them',
  },
  {
    name: 'reinstalled-plugin-files',
    priority: 111,
    reason: 'the files of the plugins a bundle reinstall made, after their databases',
  },
  {
    name: 'app-env',
    priority: 120,
    reason:
      'the env added by hand to the app engine and component manager (tenants, CDS, Solr, Redis), once the operator has processed the app and made its deployments (it drops such env when it rewrites them), and last, so that the restart it causes comes once, with every restored part in place',
  },
  {
    name: 'tenant-bundles-reinstall',
    priority: 125,
    reason:
      "--bundles reinstall, Entando 7.3 tenants: each secondary tenant's bundles reinstalled through the component manager (X-ENTANDO-TENANTCODE, a token of the tenant's realm), once app-env has given the component manager ENTANDO_TENANTS and it is up again",
  },
  {
    name: 'reinstalled-tenant-plugin-databases',
    priority: 126,
    reason: "the databases of the plugins a tenant's bundle reinstall made",
  },
  {
    name: 'reinstalled-tenant-plugin-files',
    priority: 127,
    reason: "the files of the plugins a tenant's bundle reinstall made, after their databases",
  },
  {
    name: 'left-to-you',
    priority: 130,
    reason:
      'nothing runs: what is derived from the restored data and not carried (Solr collections and indexes, Redis caches), for you to do once the app engine serves every tenant; the summary and the JSON (leftToYou) repeat it',
  },
] as const satisfies readonly Phase[];

/** The name of a phase of the table. */
export type PhaseName = (typeof TABLE)[number]['name'];

/** Every phase, in restore order (strictly increasing priorities, unique names). */
export const PHASES: readonly Phase[] = TABLE;

/** The phase of that name; an unknown name is a programming error. */
export function phase(name: PhaseName): Phase {
  const found = PHASES.find((p) => p.name === name);
  if (!found) throw new Error(`restore order: no phase named ${String(name)}`);
  return found;
}

/** The phase a step of that priority is placed in (the plan listing names it). */
export function phaseAt(priority: number): Phase | undefined {
  return PHASES.find((p) => p.priority === priority);
}

/** The phase that restores the archived objects of a kind. */
export function phaseOfKind(kind: string): Phase | undefined {
  return PHASES.find((p) => p.kinds?.includes(kind));
}

/** The phase in which the objects an owner of that kind owned are re-owned. */
export function adoptPhaseOf(ownerKind: string): Phase | undefined {
  return PHASES.find((p) => p.owners?.includes(ownerKind));
}
