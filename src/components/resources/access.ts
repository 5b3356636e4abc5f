import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { needs, type AccessNeed } from '../../kube/access.js';
import { spec } from '../../kube/object.js';
import { isTenantsSecret } from './transforms/tenants-secret.js';
import { prepareObject } from './transforms/index.js';
import type { BackupAccessContext, PlanContext } from '../component.js';

/** Capture reads the app's CRs, the bundles of every repository namespace, and what they name. */
export function resourcesBackupAccess(ctx: BackupAccessContext): AccessNeed[] {
  const ns = ctx.namespace;
  const repos = (spec(ctx.app).componentRepositoryNamespaces as string[] | undefined) ?? [];
  const keycloak = spec(ctx.app).keycloakToUse as { namespace?: string } | undefined;
  return [
    ...needs(EntandoKind.App, ['get', 'list'], ns),
    ...needs(EntandoKind.Link, ['list'], ns),
    ...needs(EntandoKind.Plugin, ['get'], ns),
    ...needs(EntandoKind.DatabaseService, ['list', 'get'], ns),
    ...needs(EntandoKind.KeycloakServer, ['list', 'get'], ns),
    ...[ns, ...repos].flatMap((n) => needs(EntandoKind.Bundle, ['list'], n)),
    ...(keycloak?.namespace && keycloak.namespace !== ns
      ? needs(EntandoKind.KeycloakServer, ['get'], keycloak.namespace)
      : []),
    ...needs('Secret', ['get'], ns),
    ...needs('ConfigMap', ['get'], ns),
    ...needs('ServiceAccount', ['get'], ns),
    // get: the tenants' discovery reads <app>-deployment's env (Solr, Redis: tenancy record).
    ...needs('Deployment', ['get', 'list'], ns),
    // The CDS objects (cds-objects.ts).
    ...needs('Service', ['get'], ns),
    ...needs('PersistentVolumeClaim', ['get'], ns),
    ...needs('Ingress', ['list'], ns),
    ...(ctx.options.quiesce ? needs('Deployment', ['get', 'patch'], ns) : []),
  ];
}

/**
 * Each restored object is read (does it exist?) and created, or patched with --existing
 * update, in the namespace it lands in; each namespace is read and maybe created; the CRDs and
 * every Ingress are read by the preflight (host collisions).
 */
export function resourcesRestoreAccess(
  ctx: Pick<PlanContext, 'archive' | 'mapping' | 'existing'>,
): AccessNeed[] {
  const out: AccessNeed[] = [
    { verb: 'get', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    ...needs('Ingress', ['list']),
    ...needs('Namespace', ['get', 'create']),
    // Another app in the target namespace refuses the restore (preflight).
    ...needs(EntandoKind.App, ['list'], ctx.mapping.targetNamespace),
  ];
  // With --existing skip, what exists is left alone: the creates are checked once the plan
  // knows what is missing (preflight).
  const verbs = {
    update: ['get', 'create', 'patch'],
    fail: ['get', 'create'],
    skip: ['get'],
  }[ctx.existing];
  for (const archived of ctx.archive.objects) {
    const prepared = prepareObject(archived, ctx.mapping);
    if (prepared.skip) continue;
    const ns = prepared.object.metadata.namespace;
    out.push(...needs(prepared.object.kind, verbs, ns));
    const owned = archived.metadata.ownerReferences?.some((r) => r.apiVersion === ENTANDO_API);
    if (owned) out.push(...needs(prepared.object.kind, ['patch'], ns));
  }
  // The hand-added env is merged into the Deployments the operator made.
  if (ctx.archive.manifest.components.resources?.handAddedEnv?.length) {
    out.push(...needs('Deployment', ['get', 'patch'], ctx.mapping.targetNamespace));
  }
  // The tenants' credentials: the admin secrets read, the Secret patched, its readers restarted.
  if (ctx.archive.objects.some(isTenantsSecret)) {
    const ns = ctx.mapping.targetNamespace;
    out.push(
      ...needs('Secret', ['get', 'patch'], ns),
      ...needs(EntandoKind.App, ['get'], ns),
      ...needs(EntandoKind.KeycloakServer, ['get'], ns),
      ...needs('Deployment', ['list', 'patch'], ns),
    );
  }
  return out;
}
