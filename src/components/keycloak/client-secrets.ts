import { restartReaders } from '../../kube/restart-readers.js';
import type { StepContext } from '../../contract/plan.js';
import type { KeycloakAdmin } from './admin.js';
import type { RealmClient } from './host-rewrite.js';

/**
 * Every `<clientId>-secret` of the target namespace must equal its client's secret in the
 * restored realm: one that differs (not restored, or --existing skip kept an older one) is set
 * from the realm, and the deployments whose env reads it are restarted (env is read at start).
 */
export async function syncSecrets(
  s: StepContext,
  admin: KeycloakAdmin,
  ns: string,
  realm: string,
  clients: (RealmClient & { id: string; secret?: string; publicClient?: boolean })[],
): Promise<void> {
  const changed: string[] = [];
  for (const client of clients) {
    if (client.publicClient) continue;
    const name = `${client.clientId}-secret`;
    const secret = await s.target.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
    if (!secret) continue;
    const data = (secret.data ?? {}) as Record<string, string>;
    if (data.clientSecret === undefined) continue;
    const value = (await admin.clientSecret(realm, client.id)) ?? client.secret;
    if (!value || Buffer.from(data.clientSecret, 'base64').toString('utf8') === value) continue;
    await s.target.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns, name },
      { data: { clientSecret: Buffer.from(value).toString('base64') } },
    );
    changed.push(name);
  }
  if (changed.length === 0) return;
  s.results.warn(
    'keycloak',
    `${changed.join(', ')} did not match the restored realm: set from it, and the deployments that read ${changed.length === 1 ? 'it' : 'them'} restarted`,
  );
  await restartReaders(s.target, ns, new Set(changed));
}
