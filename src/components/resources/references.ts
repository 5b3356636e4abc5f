import type { KubeObject } from '../../kube/object.js';
import { spec } from '../../kube/object.js';
import {
  CA_SECRET_KEY,
  EntandoKind,
  PULL_SECRETS_KEY,
  serverStatuses,
  TENANTS_SECRET,
  TLS_SECRET_KEY,
} from '../../entando/kinds.js';

/** Why an object is needed; "expected" names are probed quietly, "referenced" ones warn if absent. */
export interface Reference {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  why: string;
  /** True for names something points at: a missing one is a warning. */
  referenced: boolean;
}

const secret = (name: string, why: string, referenced = true): Reference => ({
  kind: 'Secret',
  name,
  why,
  referenced,
});
const configMap = (name: string, why: string, referenced = true): Reference => ({
  kind: 'ConfigMap',
  name,
  why,
  referenced,
});

/** Secrets and ConfigMaps named by `env`/`envFrom` entries (k8s EnvVar / EnvFromSource). */
export function envReferences(env: unknown, owner: string): Reference[] {
  const out: Reference[] = [];
  if (!Array.isArray(env)) return out;
  for (const entry of env as Record<string, unknown>[]) {
    const from = entry?.valueFrom as Record<string, { name?: string }> | undefined;
    if (from?.secretKeyRef?.name) out.push(secret(from.secretKeyRef.name, `env of ${owner}`));
    if (from?.configMapKeyRef?.name) {
      out.push(configMap(from.configMapKeyRef.name, `env of ${owner}`));
    }
    const secretRef = (entry as { secretRef?: { name?: string } }).secretRef;
    const configMapRef = (entry as { configMapRef?: { name?: string } }).configMapRef;
    if (secretRef?.name) out.push(secret(secretRef.name, `envFrom of ${owner}`));
    if (configMapRef?.name) out.push(configMap(configMapRef.name, `envFrom of ${owner}`));
  }
  return out;
}

/** What an EntandoApp points at, plus the names the operator gives its DB and SSO secrets. */
export function appReferences(app: KubeObject): Reference[] {
  const name = app.metadata.name;
  const s = spec(app);
  const out: Reference[] = [
    ...['portdb', 'servdb', 'dedb'].map((q) =>
      secret(`${name}-${q}-secret`, 'database credentials', false),
    ),
    secret(`${name}-secret`, 'SSO client credentials', false),
    secret(`${name}-de-secret`, 'SSO client credentials (component manager)', false),
    ...envReferences(s.environmentVariables, `${EntandoKind.App} ${name}`),
  ];
  if (typeof s.tlsSecretName === 'string') out.push(secret(s.tlsSecretName, 'spec.tlsSecretName'));
  if (typeof s.ecrGitSshSecretName === 'string') {
    out.push(secret(s.ecrGitSshSecretName, 'spec.ecrGitSshSecretName (private git bundles)'));
  }
  out.push(...statusSecretReferences(app));
  return out;
}

export function pluginReferences(plugin: KubeObject): Reference[] {
  const name = plugin.metadata.name;
  const s = spec(plugin);
  const out: Reference[] = [
    secret(`${name}-plugindb-secret`, 'plugin database credentials', false),
    secret(`${name}-server-secret`, 'plugin SSO client credentials', false),
    ...envReferences(s.environmentVariables, `${EntandoKind.Plugin} ${name}`),
  ];
  if (typeof s.tlsSecretName === 'string') out.push(secret(s.tlsSecretName, 'spec.tlsSecretName'));
  out.push(...statusSecretReferences(plugin));
  return out;
}

/** Admin secrets of user-written EntandoDatabaseService / EntandoKeycloakServer objects. */
export function serviceReferences(obj: KubeObject): Reference[] {
  const s = spec(obj);
  const out: Reference[] = [];
  for (const field of ['secretName', 'adminSecretName', 'tlsSecretName']) {
    const value = s[field];
    if (typeof value === 'string')
      out.push(secret(value, `${obj.kind} ${obj.metadata.name} spec.${field}`));
  }
  return out;
}

/** The SSO admin secret the operator recorded in status (not the DBMS's, which is regenerated). */
function statusSecretReferences(obj: KubeObject): Reference[] {
  const out: Reference[] = [];
  for (const [qualifier, status] of Object.entries(serverStatuses(obj))) {
    if (qualifier === 'db' || !status.adminSecretName) continue;
    out.push(secret(status.adminSecretName, `status.serverStatuses.${qualifier}.adminSecretName`));
  }
  return out;
}

/** Secrets named in entando-operator-config: pull secrets, the CA and TLS secrets. */
export function operatorConfigReferences(config: KubeObject | undefined): Reference[] {
  const data = (config?.data as Record<string, string> | undefined) ?? {};
  const out: Reference[] = [];
  for (const name of (data[PULL_SECRETS_KEY] ?? '').split(',').map((s) => s.trim())) {
    if (name) out.push(secret(name, `image pull secret in ${PULL_SECRETS_KEY}`));
  }
  if (data[CA_SECRET_KEY]) out.push(secret(data[CA_SECRET_KEY], CA_SECRET_KEY));
  if (data[TLS_SECRET_KEY]) out.push(secret(data[TLS_SECRET_KEY], TLS_SECRET_KEY));
  out.push(secret(TENANTS_SECRET, 'multitenancy (7.2+)', false));
  return out;
}

/** Image pull secrets of a ServiceAccount (entando-plugin). */
export function serviceAccountReferences(sa: KubeObject | undefined): Reference[] {
  const pulls = (sa?.imagePullSecrets as { name?: string }[] | undefined) ?? [];
  return pulls
    .filter((p) => p.name)
    .map((p) => secret(p.name!, `imagePullSecrets of ServiceAccount ${sa!.metadata.name}`));
}

/** Secrets and ConfigMaps used by the containers of generated deployments (their real names). */
export function deploymentReferences(deployment: KubeObject): Reference[] {
  const template = (deployment.spec as { template?: { spec?: Record<string, unknown> } })?.template;
  const podSpec = template?.spec ?? {};
  const out: Reference[] = [];
  const containers = [
    ...((podSpec.containers as Record<string, unknown>[]) ?? []),
    ...((podSpec.initContainers as Record<string, unknown>[]) ?? []),
  ];
  const owner = `Deployment ${deployment.metadata.name}`;
  for (const c of containers) {
    out.push(...envReferences(c.env, owner));
    out.push(...envReferences(c.envFrom, owner));
  }
  return out;
}

/** Merges references by kind/name, keeping the first reason and "referenced" if any says so. */
export function dedupeReferences(refs: Reference[]): Reference[] {
  const byKey = new Map<string, Reference>();
  for (const ref of refs) {
    const key = `${ref.kind}/${ref.name}`;
    const known = byKey.get(key);
    if (!known) byKey.set(key, { ...ref });
    else known.referenced ||= ref.referenced;
  }
  return [...byKey.values()];
}
