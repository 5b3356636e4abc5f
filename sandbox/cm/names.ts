// Names the CM derives (CM service/digitalexchange/BundleUtilities.java, model/bundle/processor/
// PluginProcessor.java signPluginDeploymentName + generateFullDeploymentName; K8SSVC
// service/EntandoLinkService.java createAppPluginLinkName).
import { createHash } from 'node:crypto';
import { pluginLinkName, tenantPart } from '../../src/entando/plugin-names.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** BundleUtilities.removeProtocolFromUrl, for docker:// and http(s) git URLs. */
export function removeProtocol(url: string): string {
  const docker = /^docker:\/\/([^@]+?)(?::[\w][\w.-]*)?(?:@sha256:[0-9a-f]+)?$/.exec(url);
  if (docker) return docker[1];
  const u = new URL(url.replace(/^git@([^:]+):/, 'https://$1/'));
  const s = u.toString();
  return s.slice(s.indexOf(u.host));
}

/** BundleUtilities.getBundleId: the first 8 hex chars of sha256(url without protocol). */
export function bundleId(url: string): string {
  return sha256(removeProtocol(url)).slice(0, 8);
}

/** BundleUtilities.makeKubernetesCompatible. */
export function k8sCompatible(s: string): string {
  return s.toLowerCase().replace(/[/.:_]/g, '-');
}

/** composeDescriptorCode for v5 descriptors: `<name>-<bundleId>`. */
export function bundleCode(name: string, url: string): string {
  return `${name}-${bundleId(url)}`;
}

export interface DockerImage {
  registry?: string;
  organization: string;
  name: string;
  tag: string;
}

export function parseImage(image: string): DockerImage {
  const parts = image.split('/');
  const last = parts.pop() ?? '';
  const [name, tag = 'latest'] = last.split(':');
  const registry = parts.length > 1 && /[.:]/.test(parts[0]) ? parts.shift() : undefined;
  return { registry, organization: parts.join('/'), name, tag };
}

/** PluginProcessor.signPluginDeploymentName: `<sha8(base or org/name)>-<k8s base or org-name>`. */
export function signedPluginName(p: { image: string; deploymentBaseName?: string }): string {
  if (p.deploymentBaseName) {
    return `${sha256(p.deploymentBaseName).slice(0, 8)}-${k8sCompatible(p.deploymentBaseName)}`;
  }
  const img = parseImage(p.image);
  return `${sha256(`${img.organization}/${img.name}`).slice(0, 8)}-${k8sCompatible(img.organization)}-${k8sCompatible(img.name)}`;
}

/**
 * generateFullDeploymentName: `pn-<bundleId>-<signed name>` for the primary tenant,
 * `pn-<bundleId>-<sha256(tenantCode)[0:8]>-<signed name>` for a secondary one (TENANTS.md §6,
 * BundleUtilities.calculateTenantId); max 200.
 */
export function pluginCode(
  bundleUrl: string,
  p: { image: string; deploymentBaseName?: string },
  tenantCode?: string,
) {
  const name = `pn-${k8sCompatible(bundleId(bundleUrl))}-${tenantPart(tenantCode)}${signedPluginName(p)}`;
  if (name.length > 200) {
    throw new Error(
      `The resulting plugin full deployment name "${name}" exceeds the max allowed length 200`,
    );
  }
  return name;
}

/** EntandoLinkService.createAppPluginLinkName: `<app>-<plugin>` cut to 58, plus `-link`. */
export const linkName = pluginLinkName;
