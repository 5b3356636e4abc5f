/**
 * Names Entando 7.3 derives for the plugins of a tenant's bundle (TENANTS.md §6): the tenant id
 * `sha256(tenantCode)[:8]` (CM BundleUtilities.calculateTenantId) that PluginProcessor puts in a
 * secondary tenant's plugin names, `pn-<bundleId>-<tenantId>-<sha8>-<name>` (none for primary),
 * and the EntandoAppPluginLink k8s-service names after app and plugin
 * (K8SSVC EntandoLinkService.createAppPluginLinkName).
 */
import { createHash } from 'node:crypto';

export const PRIMARY_TENANT = 'primary';

/** BundleUtilities.calculateTenantId: the first 8 hex chars of sha256(tenant code). */
export function tenantId(tenantCode: string): string {
  return createHash('sha256').update(tenantCode).digest('hex').slice(0, 8);
}

/** The `<tenantId>-` part of a plugin name: empty for the primary tenant. */
export function tenantPart(tenantCode: string | undefined): string {
  return !tenantCode || tenantCode === PRIMARY_TENANT ? '' : `${tenantId(tenantCode)}-`;
}

/** `<app>-<plugin>` cut to 58 characters, plus `-link`. */
export function pluginLinkName(app: string, plugin: string): string {
  return `${`${app}-${plugin}`.slice(0, 63 - '-link'.length)}-link`;
}
