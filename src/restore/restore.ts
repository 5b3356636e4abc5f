import type { DecryptionKeys } from '../archive/encryption.js';
import { isResourcePath } from '../archive/layout.js';
import { verifyArchive } from '../archive/verify.js';
import type { ArchiveRef } from '../storage/location.js';
import type { ExistingPolicy, LoadedArchive } from '../components/component.js';
import { COMPONENTS } from '../components/index.js';
import { EntandoKind } from '../entando/kinds.js';
import { OperationError, UserError } from '../errors.js';
import type { KeycloakSummary } from '../components/keycloak/backup.js';
import { apiErrorMessage, KubeClient } from '../kube/client.js';
import { describeRef, spec, type KubeObject } from '../kube/object.js';
import type { Output } from '../report/output.js';
import { Results } from '../report/results.js';
import type { KeycloakRestoreMode, RestoreMapping } from './mapping.js';
import { orderSteps, type Plan, type PlanStep } from './plan.js';
import { checkReachable, preflight } from './preflight.js';

/** Reads, decrypts and verifies the archive, keeping the captured objects in memory. */
export async function loadArchive(file: ArchiveRef, keys: DecryptionKeys): Promise<LoadedArchive> {
  const objects: KubeObject[] = [];
  const { manifest, locations } = await verifyArchive(file, keys, async (path, _part, body) => {
    if (!isResourcePath(path)) return;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    objects.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject);
  });
  return { file, keys, manifest, objects, locations };
}

export interface PlanRequest {
  archive: LoadedArchive;
  target: KubeClient;
  targetContext: string;
  targetNamespace?: string;
  ingressHost?: string;
  existing: ExistingPolicy;
  parallel?: number;
  /** Image of the pod that loads an external database (--db-client-image). */
  dbClientImage?: string;
  /** Image of the pod that writes a volume of a server scaled to 0 (--volume-pod-image). */
  volumePodImage?: string;
  /** --keycloak: what happens to the realm (default from the archive). */
  keycloak?: KeycloakRestoreMode;
  /** Where this machine reaches the source's Keycloak for --keycloak keep (default its public URL). */
  keycloakUrl?: string;
  waitTimeoutMs?: number;
}

/** The realm's fate: as asked, else realm when the archive carries it, keep when external. */
export function keycloakModeFor(
  archive: LoadedArchive,
  asked: KeycloakRestoreMode | undefined,
): KeycloakRestoreMode | undefined {
  const summary = archive.manifest.components.keycloak as KeycloakSummary | undefined;
  if (asked === 'realm' && summary?.mode !== 'realm') {
    throw new UserError(
      `--keycloak realm: this archive holds no realm (${summary ? `${summary.mode}${summary.reason ? `: ${summary.reason}` : ''}` : 'made before realms were carried'}); use --keycloak keep or --keycloak skip`,
    );
  }
  if (
    asked === 'keep' &&
    summary?.mode === 'realm' &&
    (!summary.frontEndUrl || !summary.adminEntry)
  ) {
    throw new UserError(
      "--keycloak keep: the archive does not record the source Keycloak's public URL and admin credentials (an older archive, or a Keycloak without ingress): use --keycloak realm or --keycloak skip",
    );
  }
  if (asked) return asked;
  if (summary?.mode === 'realm') return 'realm';
  if (summary?.mode === 'external') return 'keep';
  return undefined;
}

export function mappingFor(
  archive: LoadedArchive,
  targetNamespace?: string,
  ingressHost?: string,
  keycloak?: KeycloakRestoreMode,
): RestoreMapping {
  const source = archive.manifest.source;
  const app = archive.objects.find(
    (o) => o.kind === EntandoKind.App && o.metadata.name === source.app,
  );
  const sourceHost = app ? (spec(app).ingressHostName as string | undefined) : undefined;
  const mode = keycloakModeFor(archive, keycloak);
  const summary = archive.manifest.components.keycloak as KeycloakSummary | undefined;
  return {
    sourceNamespace: source.namespace,
    targetNamespace: targetNamespace ?? source.namespace,
    sourceHost,
    targetHost: ingressHost ?? sourceHost,
    keycloak: mode,
    originalKeycloak:
      mode === 'keep' && summary?.mode === 'realm'
        ? {
            name: `${source.app}-original-sso`,
            frontEndUrl: summary.frontEndUrl!,
            realm: summary.realm,
          }
        : undefined,
  };
}

/** Builds the ordered plan and runs the preflight; changes nothing. */
export async function planRestore(
  req: PlanRequest,
): Promise<{ plan: Plan; mapping: RestoreMapping; results: Results }> {
  const mapping = mappingFor(req.archive, req.targetNamespace, req.ingressHost, req.keycloak);
  const results = new Results();
  const unreachable = await checkReachable(req.target, req.targetContext);
  if (unreachable) return { plan: { steps: [], problems: [unreachable] }, mapping, results };
  const steps: PlanStep[] = [];
  for (const component of COMPONENTS) {
    steps.push(
      ...(await component.plan({
        archive: req.archive,
        existing: req.existing,
        parallel: req.parallel ?? 4,
        mapping,
        target: req.target,
        results,
        dbClientImage: req.dbClientImage,
        volumePodImage: req.volumePodImage,
        waitTimeoutMs: req.waitTimeoutMs,
        keycloakUrl: req.keycloakUrl,
      })),
    );
  }
  const ordered = orderSteps(steps);
  const owners = {
    app: req.archive.manifest.source.app,
    plugins: req.archive.objects
      .filter((o) => o.kind === EntandoKind.Plugin)
      .map((o) => o.metadata.name),
  };
  const problems = await preflight(req.target, ordered, mapping, owners);
  problems.push(...results.errors.map((e) => `${e.where}: ${e.message}`));
  results.errors.length = 0;
  return { plan: { steps: ordered, problems }, mapping, results };
}

/**
 * Runs the steps in order. A failed step stops the restore after its phase: what follows may
 * depend on it (an app restored without its secrets would get new credentials).
 */
export async function executePlan(
  plan: Plan,
  target: KubeClient,
  output: Output,
  signal: AbortSignal,
  results: Results,
): Promise<Results> {
  let failedPhase: string | undefined;
  for (const step of plan.steps) {
    if (failedPhase && step.phase !== failedPhase) break;
    if (!step.run) continue;
    if (signal.aborted)
      throw new OperationError(
        'restore interrupted: run the same restore with --existing update to finish',
      );
    const what = step.object ? describeRef(step.object) : step.phase;
    output.progress(`${step.action} ${what}`);
    try {
      await step.run({ target, results, signal, progress: (m) => output.progress(m) });
    } catch (err) {
      results.error(what, apiErrorMessage(err));
      failedPhase = step.phase;
    }
  }
  return results;
}
