import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { serviceOfHost } from '../kube/service-host.js';
import { dataMount } from '../components/files/discover.js';
import type { TenancyFacts, TenantConfig } from './tenants.js';

/**
 * The CDS servers (Content Delivery Server) of a multi-tenant app: where each tenant's files
 * live once CDS is on. Entando has no CR for them, and the admin names them (TENANTS.md §4), so
 * they are found from the URLs the app engine calls: the primary's `CDS_PRIVATE_URL` and each
 * tenant's `cdsPrivateUrl` (a tenant without one uses the primary's, as the app engine does),
 * URL host → Service → its selector → the Deployment whose pod template it matches → the PVC
 * that Deployment mounts at /entando-data.
 */

/** The tenant code of the primary tenant in CDS facts (never a secondary's: the app engine refuses it). */
export const PRIMARY = 'primary';

export interface CdsServer {
  /** Tenant codes served ('primary' for the app's own), in discovery order. */
  tenants: string[];
  /** The URL it was found from (the first tenant's). */
  url: string;
  namespace: string;
  service: string;
  deployment: string;
  container: string;
  claimName: string;
  mountPath: string;
  /** The Deployment's pod selector (matchLabels), to find its running pod. */
  selector: Record<string, string>;
}

/** A tenant whose CDS cannot be followed to a volume, and what is missing. */
export interface CdsProblem {
  tenant: string;
  message: string;
}

export interface CdsDiscovery {
  servers: CdsServer[];
  problems: CdsProblem[];
  /** Facts worth a line: tenants sharing one CDS, tenants without any. */
  notes: string[];
}

type Reader = Pick<KubeClient, 'get' | 'list'>;

interface PodTemplateOwner {
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> } };
  };
}

/** Where each tenant's CDS is, deduplicated by Deployment (several tenants may share one). */
export async function discoverCds(
  kube: Reader,
  app: KubeObject,
  facts: TenancyFacts,
  configs: TenantConfig[],
): Promise<CdsDiscovery> {
  const ns = app.metadata.namespace!;
  const primaryUrl = facts.cdsPrivateUrl?.value;
  const wanted: { tenant: string; url: string; from: string }[] = [];
  if (facts.cdsEnabled) {
    if (primaryUrl) wanted.push({ tenant: PRIMARY, url: primaryUrl, from: 'CDS_PRIVATE_URL' });
  }
  const problems: CdsProblem[] = [];
  const notes: string[] = [];
  if (facts.cdsEnabled && !primaryUrl) {
    problems.push({
      tenant: PRIMARY,
      message: `CDS_ENABLED=true (${facts.cdsEnabled}) but no CDS_PRIVATE_URL to find its CDS from`,
    });
  }
  const local: string[] = [];
  for (const t of configs) {
    const own = t.fields.cdsPrivateUrl?.trim();
    if (own) wanted.push({ tenant: t.code, url: own, from: 'cdsPrivateUrl' });
    else if (primaryUrl)
      wanted.push({
        tenant: t.code,
        url: primaryUrl,
        from: "the primary's CDS_PRIVATE_URL (no cdsPrivateUrl)",
      });
    else local.push(t.code);
  }
  if (local.length > 0) {
    notes.push(
      `tenant${local.length > 1 ? 's' : ''} ${local.join(', ')}: no cdsPrivateUrl and no CDS for the primary: ${local.length > 1 ? 'their' : 'its'} files are in the app engine's /entando-data`,
    );
  }

  const byDeployment = new Map<string, CdsServer>();
  for (const w of wanted) {
    const found = await follow(kube, ns, w.url).catch((err: Error) => err.message);
    if (typeof found === 'string') {
      problems.push({ tenant: w.tenant, message: `${w.from} ${w.url}: ${found}` });
      continue;
    }
    const key = `${found.namespace}/${found.deployment}`;
    const known = byDeployment.get(key);
    if (known) known.tenants.push(w.tenant);
    else byDeployment.set(key, { ...found, tenants: [w.tenant] });
  }
  const servers = [...byDeployment.values()];
  for (const s of servers.filter((x) => x.tenants.length > 1)) {
    notes.push(
      `tenants ${s.tenants.join(', ')} share CDS ${s.namespace}/${s.deployment} (volume ${s.claimName}): its files are carried once`,
    );
  }
  return { servers, problems, notes };
}

/** URL → Service → Deployment → PVC; throws a message naming the first piece missing. */
async function follow(
  kube: Reader,
  appNamespace: string,
  url: string,
): Promise<Omit<CdsServer, 'tenants'>> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new Error('not a URL');
  }
  const svc = serviceOfHost(host, appNamespace);
  if (!svc) throw new Error(`host ${host} is not an in-cluster Service name`);
  const service = await kube.get({ apiVersion: 'v1', kind: 'Service', ...svc });
  if (!service) throw new Error(`Service ${svc.namespace}/${svc.name} not found`);
  const selector = (service.spec as { selector?: Record<string, string> } | undefined)?.selector;
  if (!selector || Object.keys(selector).length === 0) {
    throw new Error(
      `Service ${svc.namespace}/${svc.name} has no selector to find its Deployment by`,
    );
  }
  const deployments = (await kube.list('apps/v1', 'Deployment', svc.namespace)).filter((d) => {
    const labels = (d as PodTemplateOwner).spec?.template?.metadata?.labels ?? {};
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  });
  const shown = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (deployments.length === 0) {
    throw new Error(
      `no Deployment in ${svc.namespace} runs pods that Service ${svc.name} selects (${shown})`,
    );
  }
  if (deployments.length > 1) {
    throw new Error(
      `Service ${svc.name} selects the pods of several Deployments (${deployments.map((d) => d.metadata.name).join(', ')}): which holds the files is ambiguous`,
    );
  }
  const d = deployments[0];
  const mount = dataMount(d);
  if (!mount) {
    throw new Error(
      `Deployment ${svc.namespace}/${d.metadata.name} mounts no PVC at /entando-data`,
    );
  }
  const pvc = await kube.get({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: svc.namespace,
    name: mount.claimName,
  });
  if (!pvc) {
    throw new Error(
      `PersistentVolumeClaim ${svc.namespace}/${mount.claimName} (mounted by Deployment ${d.metadata.name}) not found`,
    );
  }
  const podSelector =
    (d as PodTemplateOwner).spec?.selector?.matchLabels ??
    (d as PodTemplateOwner).spec?.template?.metadata?.labels ??
    selector;
  return {
    url,
    namespace: svc.namespace,
    service: svc.name,
    deployment: d.metadata.name,
    ...mount,
    selector: podSelector,
  };
}

/** `public/` and `protected/` are the CDS's content; `archives/` is its tar.gz staging (not carried). */
export const CDS_DIRS = ['public', 'protected'] as const;

/** What the CDS init container writes once it seeded a volume (sandbox/cds/README.md). */
export const SEED_MARKER = '.seeded-by-init';

/** A PVC's size: status.capacity (what was provisioned), else what it requests. */
export function claimCapacity(pvc: KubeObject): string | undefined {
  const status = pvc.status as { capacity?: { storage?: string } } | undefined;
  const spec = pvc.spec as { resources?: { requests?: { storage?: string } } } | undefined;
  return status?.capacity?.storage ?? spec?.resources?.requests?.storage;
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity of bytes ("1Gi", "500M", "1e9"); undefined when unreadable. */
export function quantityBytes(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:([eE][0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?$/.exec(
    q.trim(),
  );
  if (!m) return undefined;
  const n = Number(m[1] + (m[2] ?? ''));
  return n * UNITS[m[3] ?? ''];
}
