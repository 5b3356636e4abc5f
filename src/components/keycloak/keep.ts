import { ENTANDO_API, EntandoKind } from '../../entando/kinds.js';
import { OperationError } from '../../errors.js';
import type { ObjectRef } from '../../kube/object.js';
import type { PlanStep } from '../../contract/plan.js';
import { hostChanges } from '../../contract/mapping.js';
import { phase } from '../../contract/order.js';
import type { PlanContext } from '../component.js';
import { KeycloakAdmin } from './admin.js';
import { COMPONENT, type KeycloakSummary } from './backup.js';
import { addHostToClients, type RealmClient } from './host-rewrite.js';
import { readEntry } from './read-entry.js';

/**
 * --keycloak keep of an app whose Keycloak was in its namespace: that Keycloak, declared in the
 * target as an external EntandoKeycloakServer (with the source's admin credentials, from the
 * archive), and the new host added to its clients: Entando's operator does not add hosts to
 * an external Keycloak's clients.
 */
export function keepSteps(
  ctx: PlanContext,
  summary: KeycloakSummary,
  original: NonNullable<PlanContext['mapping']['originalKeycloak']>,
  base: Pick<PlanStep, 'priority' | 'phase' | 'component' | 'object'>,
): PlanStep[] {
  const ns = ctx.mapping.targetNamespace;
  const server: ObjectRef = {
    apiVersion: ENTANDO_API,
    kind: EntandoKind.KeycloakServer,
    namespace: ns,
    name: original.name,
  };
  const adminSecret = `${original.name}-admin-secret`;
  const steps: PlanStep[] = [
    {
      priority: phase('external-services').priority,
      phase: 'external-services',
      component: COMPONENT,
      object: server,
      action: 'run',
      reason: `the source's Keycloak ${original.frontEndUrl} is declared as external before the app that uses it (server-side apply: converges)`,
      changes: [
        `EntandoKeycloakServer ${original.name} (UseExternal, frontEndUrl ${original.frontEndUrl}) and Secret ${adminSecret}`,
      ],
      run: async (s) => {
        const admin = JSON.parse((await readEntry(ctx, summary.adminEntry!)).toString('utf8')) as {
          username: string;
          password: string;
        };
        await s.target.apply({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: adminSecret, namespace: ns },
          type: 'Opaque',
          data: Object.fromEntries(
            Object.entries({ ...admin, url: original.frontEndUrl }).map(([k, v]) => [
              k,
              Buffer.from(v).toString('base64'),
            ]),
          ),
        });
        await s.target.apply({
          apiVersion: ENTANDO_API,
          kind: EntandoKind.KeycloakServer,
          metadata: { name: original.name, namespace: ns },
          spec: {
            provisioningStrategy: 'UseExternal',
            frontEndUrl: original.frontEndUrl,
            adminSecretName: adminSecret,
            defaultRealm: original.realm,
          },
        });
      },
    },
  ];
  if (hostChanges(ctx.mapping)) {
    const url = ctx.keycloakUrl ?? original.frontEndUrl;
    steps.push({
      ...base,
      action: 'run',
      reason: `the source's Keycloak (${url}) gets the new host beside the old one in its clients' redirect URIs and web origins (nothing else in it changes)`,
      changes: [
        `clients of realm ${original.realm}: ${ctx.mapping.targetHost} beside ${ctx.mapping.sourceHost}`,
      ],
      run: async (s) => {
        const creds = JSON.parse((await readEntry(ctx, summary.adminEntry!)).toString('utf8')) as {
          username: string;
          password: string;
        };
        const admin = new KeycloakAdmin(url, creds);
        const r = `/realms/${encodeURIComponent(original.realm)}`;
        let clients: (RealmClient & { id: string })[];
        try {
          clients = await admin.get<(RealmClient & { id: string })[]>(`${r}/clients?max=100000`);
        } catch (err) {
          throw new OperationError(
            `the source's Keycloak at ${url} cannot be reached (${(err as Error).message}): pass --keycloak-url with an address this machine reaches, and run the same restore with --existing update`,
          );
        }
        for (const client of clients) {
          if (
            addHostToClients([client], ctx.mapping.sourceHost!, ctx.mapping.targetHost!).length ===
            0
          )
            continue;
          await admin.call('PUT', `${r}/clients/${client.id}`, client);
          s.progress(`keycloak: ${client.clientId} also serves ${ctx.mapping.targetHost}`);
        }
      },
    });
  }
  return steps;
}
