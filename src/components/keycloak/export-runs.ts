/**
 * How the realms a backup needs are split into side-server runs. One realm: a run naming it
 * (`keycloak.migration.realmName`). Several: Keycloak names one realm or exports all of them,
 * so one run exports every realm of the server and the unneeded ones are dropped in the pod;
 * that pays off while those hold fewer users than the boots it saves could export (a side
 * server's boot costs about 20 s; the 10,000-user `dir` import of side-server-scripts.ts took
 * 52 s, about 4,000 users in 20 s). Else one run per realm, each exporting its realm only.
 */
export const SPARE_USERS_PER_BOOT = 4000;

/** `needed` in order, grouped into runs; `others` are the server's other realms (master too). */
export function exportRuns(
  needed: string[],
  others: { realm: string; users: number }[],
): string[][] {
  if (needed.length <= 1) return [needed];
  const spare = others
    .filter((o) => !needed.includes(o.realm))
    .reduce((n, o) => n + Math.max(0, o.users), 0);
  if (spare <= SPARE_USERS_PER_BOOT * (needed.length - 1)) return [needed];
  return needed.map((r) => [r]);
}
