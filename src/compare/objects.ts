import { describeRef, refOf, type KubeObject } from '../kube/object.js';
import { prepareObject } from '../components/resources/transforms/index.js';
import { tenantsSecretSetForTarget } from './tenants-secret.js';
import type { RestoreMapping } from '../contract/mapping.js';
import { ABSENT, canonical, digest, type CompareRow } from './rows.js';

/** One side's objects as a restore would apply them, by "Kind namespace/name" in the target. */
export interface ObjectSnapshot {
  key: string;
  object: KubeObject;
  /** What the restore transforms changed on the way (the intended differences). */
  changes: string[];
  /** Set when a restore leaves the object out, with the reason. */
  skip?: string;
}

/**
 * Objects of the source (or of an archive) normalised the way a restore writes them: cleaned of
 * what the source cluster added (status, UIDs, owners, bookkeeping) and passed through the
 * restore transforms for `mapping` (namespace, ingress host, Keycloak mode). Keyed by where
 * they land in the target.
 */
export function sourceSnapshot(
  objects: readonly KubeObject[],
  mapping: RestoreMapping,
): Map<string, ObjectSnapshot> {
  const out = new Map<string, ObjectSnapshot>();
  for (const obj of objects) {
    const prepared = prepareObject(obj, mapping);
    const key = describeRef(refOf(prepared.object));
    out.set(key, {
      key,
      object: prepared.object,
      // The move into the target namespace is the comparison itself; a --namespace-map move is
      // an intended difference worth naming.
      changes: prepared.changes.filter(
        (c) => !c.startsWith(`metadata.namespace: ${mapping.sourceNamespace} -> `),
      ),
      ...(prepared.skip ? { skip: prepared.skip } : {}),
    });
  }
  return out;
}

/** The target's objects cleaned the same way, with no mapping (they are where they belong). */
export function targetSnapshot(
  objects: readonly KubeObject[],
  namespace: string,
): Map<string, ObjectSnapshot> {
  return sourceSnapshot(objects, { sourceNamespace: namespace, targetNamespace: namespace });
}

/**
 * Objects of the target that its own operator (re)generates with content of its own: the
 * in-namespace DBMS's admin secret and the namespace's Keycloak's admin and database secrets
 * are made fresh by the target's operator, never restored.
 */
const TARGET_OWN: { pattern: RegExp; why: string }[] = [
  {
    pattern: /^Secret .*\/default-(postgresql|mysql)-dbms-in-namespace-admin-secret$/,
    why: "the in-namespace DBMS's admin secret: the target's operator makes its own",
  },
  {
    pattern: /^Secret .*\/default-sso-in-namespace-(admin|db)-secret$/,
    why: "the namespace Keycloak's own secret: the target's operator makes its own",
  },
];

/** Leaf paths where two JSON values differ (at most `limit`), e.g. `data.password`. */
export function differingPaths(a: unknown, b: unknown, limit = 5, at = ''): string[] {
  if (canonical(a) === canonical(b)) return [];
  const bothObjects =
    a &&
    b &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return [at || '(root)'];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort();
  const out: string[] = [];
  for (const k of keys) {
    if (out.length >= limit) break;
    const path = Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    out.push(...differingPaths(ra[k], rb[k], limit - out.length, path));
  }
  return out;
}

/** One row per object of either side. */
export function compareObjects(
  source: Map<string, ObjectSnapshot>,
  target: Map<string, ObjectSnapshot>,
): CompareRow[] {
  const rows: CompareRow[] = [];
  const keys = [...new Set([...source.keys(), ...target.keys()])].sort();
  for (const key of keys) {
    const s = source.get(key);
    const t = target.get(key);
    const sd = s ? digest(canonical(s.object)) : ABSENT;
    const td = t ? digest(canonical(t.object)) : ABSENT;
    const base = { section: 'object' as const, name: key, source: sd, target: td };
    const own = TARGET_OWN.find((o) => o.pattern.test(key));
    if (s?.skip) {
      rows.push({ ...base, verdict: 'expected', why: `not restored: ${s.skip}` });
    } else if (!s && t?.skip) {
      rows.push({ ...base, verdict: 'expected', why: `not compared: ${t.skip}` });
    } else if (!s || !t) {
      rows.push({
        ...base,
        ...(own && t
          ? { verdict: 'expected' as const, why: own.why }
          : { verdict: 'missing' as const, why: s ? 'not in the target' : 'only in the target' }),
      });
    } else if (sd === td) {
      rows.push(
        s.changes.length > 0
          ? { ...base, verdict: 'expected', why: s.changes.join('; ') }
          : { ...base, verdict: 'same' },
      );
    } else if (own) {
      rows.push({ ...base, verdict: 'expected', why: own.why });
    } else {
      const paths = differingPaths(s.object, t.object);
      const setForTarget = tenantsSecretSetForTarget(s.object, t.object);
      rows.push(
        setForTarget
          ? { ...base, verdict: 'expected', why: setForTarget }
          : onlyInstallStamp(s.object, t.object, paths)
            ? { ...base, verdict: 'expected', why: INSTALL_STAMP_WHY }
            : {
                ...base,
                verdict: 'differs',
                why: `differs at ${paths.join(', ')}${mapHint(key, paths)}`,
              },
      );
    }
  }
  return rows;
}

/** A restore with --namespace-map changes the app's repository namespaces: say how to follow it. */
function mapHint(key: string, paths: string[]): string {
  return key.startsWith('EntandoApp ') &&
    paths.some((p) => p.startsWith('spec.componentRepositoryNamespaces'))
    ? ' (restored with --namespace-map? pass compare the same --namespace-map)'
    : '';
}

const INSTALL_STAMP_WHY =
  'ENTANDO_TIMESTAMP: set by k8s-service at each install of its bundle (restore --bundles reinstall)';

/**
 * Whether two EntandoPlugins differ only in the value of their ENTANDO_TIMESTAMP variable, which
 * Entando's k8s-service sets at every (re)install (EntandoPluginService) to force a redeploy.
 */
function onlyInstallStamp(a: KubeObject, b: KubeObject, paths: string[]): boolean {
  if (a.kind !== 'EntandoPlugin' || paths.length === 0) return false;
  const env = (o: KubeObject) =>
    ((o.spec as { environmentVariables?: { name?: string }[] } | undefined)?.environmentVariables ??
      []) as { name?: string }[];
  return paths.every((p) => {
    const m = /^spec\.environmentVariables\[(\d+)\]\.value$/.exec(p);
    if (!m) return false;
    const i = Number(m[1]);
    return env(a)[i]?.name === 'ENTANDO_TIMESTAMP' && env(b)[i]?.name === 'ENTANDO_TIMESTAMP';
  });
}
