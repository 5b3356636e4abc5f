// The real operator rewrites a Deployment with fabric8 `patch(item)` (OPCOMMON
// DefaultDeploymentClient.createOrPatchDeployment): a JSON patch from the live object to the one
// it built, which removes env entries it did not build (hand-added `ENTANDO_TENANTS`, `CDS_*`).
// Server-side apply keeps another manager's entries, so the stand-in removes them itself.
import type { K8sObject } from './resources.js';

interface Container {
  name: string;
  env?: { name: string }[];
  envFrom?: unknown[];
}

const containersOf = (o: unknown): Container[] =>
  ((o as { spec?: { template?: { spec?: { containers?: Container[] } } } })?.spec?.template?.spec
    ?.containers ?? []) as Container[];

/** JSON-patch operations that make each live container's env the generated one; [] if equal. */
export function foreignEnvPatch(generated: K8sObject, live: unknown): object[] {
  const built = new Map(containersOf(generated).map((c) => [c.name, c]));
  const ops: object[] = [];
  containersOf(live).forEach((c, i) => {
    const mine = built.get(c.name);
    if (!mine) return;
    const path = `/spec/template/spec/containers/${i}`;
    const names = new Set((mine.env ?? []).map((e) => e.name));
    if ((c.env ?? []).some((e) => !names.has(e.name))) {
      ops.push({ op: 'replace', path: `${path}/env`, value: mine.env ?? [] });
    }
    if (c.envFrom && !mine.envFrom) ops.push({ op: 'remove', path: `${path}/envFrom` });
  });
  return ops;
}
