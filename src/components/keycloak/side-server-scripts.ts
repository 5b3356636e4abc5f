/**
 * Shell scripts that run Keycloak's migration export or import inside the Keycloak pod, with a
 * second WildFly server started beside the running one (its own port offset, log and temp dirs,
 * bound to loopback, `-Xmx` of its own; standalone.xml, never the HA config), provider `dir`:
 * users in pages, each page one transaction. One transaction for a whole realm is what fails at
 * scale on this machine: a `singleFile` export of 10,000 users ran past WildFly's 300 s
 * transaction reaper, and a `POST /admin/realms` of them past 5 minutes; the `dir` import of the
 * same realm took 52 s. The management blocking timeout is raised to the time limit, since both
 * run inside the server's boot. Files live in a fresh 0700 directory under /tmp, removed when the
 * script ends, whatever the outcome; the server is always stopped (TERM, relayed to java by
 * standalone.sh with LAUNCH_JBOSS_IN_BACKGROUND) and, when the script is told to stop (TERM), too.
 * Success is Keycloak's log line (KC-SERVICES0035 export, KC-SERVICES0032 import); `Error during
 * startup`, the JVM ending or the time limit are failures: exit 1, the log's last errors on
 * stderr. Sources: KEYCLOAK.md §2.1-2.3 (ExportImportConfig, DirExportProvider,
 * DirImportProvider, KeycloakApplication.startup, ServicesLogger).
 *
 * Several realms (the app's and its secondary tenants'): `keycloak.migration.realmName` takes
 * one name, and without it Keycloak exports every realm (master too), each in its own
 * transactions exactly as when named (MultipleStepsExportProvider.exportModel), and imports
 * every `<realm>-realm.json` of the directory (DirImportProvider.importModel). One server then
 * serves them all: a boot costs about 20 s, a run per realm would pay it per realm. An export
 * emits only the realms asked for; the others' files stay in the run's directory, removed with it.
 */

export const SIDE_DIR_PREFIX = '/tmp/kubectl-entando-kc';
/**
 * Users per page of an export, at least. Keycloak's default is 50, but each page re-reads every
 * user before it (offset paging), so the number of pages is what costs as the realm grows: at
 * 20,000 users the realm's share was 93 s with pages of 50, 53 s with 500, 42 s with 2,000; at
 * 100,000 users pages of 2,000 still grew with the offset (docs/keycloak-scale.md). So a large
 * realm is cut into EXPORT_PAGES pages (users re-read: ~EXPORT_PAGES/2 times the realm, linear),
 * up to EXPORT_PAGE_MAX users a page (the side JVM holds a page's users at once).
 */
export const EXPORT_USERS_PER_FILE = 2000;
export const EXPORT_PAGES = 10;
export const EXPORT_PAGE_MAX = 20_000;

/** Users per page of an import (ours to cut: docs/keycloak-scale.md measures the sizes). */
export const IMPORT_USERS_PER_FILE = 50;

export interface SideServerParams {
  /** One realm, or several: all exported (imported) by one server. */
  realms: string[];
  /** jboss.socket.binding.port-offset of the side server (away from the running one). */
  portOffset: number;
  /** -Xmx of the side JVM (the pod's limit holds two JVMs). */
  heap: string;
  timeoutSeconds: number;
  /** Names this run's directory, so a cleanup stops only this run. */
  runId: string;
}

const PRELUDE = String.raw`
set -u
offset=$1 heap=$2 limit=$3 run=$4 per=$5
shift 5
# The realms are the remaining arguments. One is named to Keycloak; several leave it to do all.
only=
if [ "$#" -eq 1 ]; then only="-Dkeycloak.migration.realmName=$1"; fi
kc=
for h in /opt/jboss/keycloak /opt/eap; do
  if [ -x "$h/bin/standalone.sh" ]; then kc=$h; break; fi
done
if [ -z "$kc" ]; then
  echo "no bin/standalone.sh in /opt/jboss/keycloak or /opt/eap: not a WildFly-based Keycloak (Keycloak.X uses kc.sh, not supported)" >&2
  exit 64
fi
d=$(mktemp -d "${SIDE_DIR_PREFIX}-$run.XXXXXX") || exit 70
chmod 700 "$d"
mkdir "$d/log" "$d/tmp" "$d/data"
pid=
# shellcheck disable=SC2317 # run by the EXIT trap
stop() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    # Until the wrapper and its java are gone (pgrep may be missing: then the wrapper only).
    i=0
    while { kill -0 "$pid" 2>/dev/null || pgrep -f "keycloak.migration.dir=$d/" >/dev/null 2>&1; } && [ "$i" -lt 150 ]; do
      sleep 0.2
      i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null
    pkill -KILL -f "keycloak.migration.dir=$d/" 2>/dev/null && sleep 1
  fi
  rm -rf "$d"
}
trap stop EXIT
trap 'exit 143' TERM INT HUP
echo $$ > "$d/pid"
server() {
  if [ -n "$only" ]; then set -- "$@" "$only"; fi
  LAUNCH_JBOSS_IN_BACKGROUND=1 JBOSS_JAVA_SIZING="-Xms64m -Xmx$heap -XX:MetaspaceSize=96M -XX:MaxMetaspaceSize=256m" \
    "$kc/bin/standalone.sh" -b 127.0.0.1 -bmanagement 127.0.0.1 \
    -Djboss.socket.binding.port-offset="$offset" \
    -Djboss.server.log.dir="$d/log" -Djboss.server.temp.dir="$d/tmp" \
    -Djboss.as.management.blocking.timeout="$limit" \
    -Dkeycloak.migration.provider=dir -Dkeycloak.migration.dir="$d/data/" \
    "$@" \
    > "$d/out" 2>&1 < /dev/null &
  pid=$!
}
# $1: the line that ends the run; $2: the line of each page done, counted as KCPROGRESS <users>
# on stdout as they grow (the export's files follow only at the end, so stdout is free before).
await_log() {
  started=$(date +%s) pages=0
  while ! grep -q "$1" "$d/out"; do
    n=$(grep -c "$2" "$d/out")
    if [ "$n" -gt "$pages" ]; then pages=$n; echo "KCPROGRESS $((n * per))"; fi
    elapsed=$(($(date +%s) - started))
    if ! kill -0 "$pid" 2>/dev/null || grep -q -e 'Error during startup' -e 'WFLYSRV0026' "$d/out" || [ "$elapsed" -ge "$limit" ]; then
      if [ "$elapsed" -ge "$limit" ]; then echo "Keycloak did not finish within $limit s" >&2; fi
      grep -e 'ERROR' -e 'FATAL' "$d/out" | tail -n 4 | cut -c1-400 >&2
      exit 1
    fi
    sleep 0.5
  done
}
`;

const EXPORT = String.raw`
server -Dkeycloak.migration.action=export \
  -Dkeycloak.migration.usersExportStrategy=DIFFERENT_FILES -Dkeycloak.migration.usersPerFile="$per"
await_log KC-SERVICES0035 'Users [0-9]*-[0-9]* exported'
emit() {
  printf 'KCFILE %s %s\n' "$1" "$(wc -c < "$d/data/$1" | tr -d ' ')"
  cat "$d/data/$1"
}
files=0
for realm in "$@"; do
  [ -f "$d/data/$realm-realm.json" ] || { echo "the export wrote no $realm-realm.json" >&2; exit 1; }
  emit "$realm-realm.json"
  files=$((files + 1))
  for kind in users federated-users; do
    n=0
    while [ -f "$d/data/$realm-$kind-$n.json" ]; do
      emit "$realm-$kind-$n.json"
      n=$((n + 1)) files=$((files + 1))
    done
  done
done
if [ "$#" -eq 1 ]; then
  # shellcheck disable=SC2012 # the names are Keycloak's <realm>-*.json: ls counts them right
  if [ "$(ls "$d/data" | wc -l | tr -d ' ')" != "$files" ]; then
    echo "the export wrote files this tool does not know: $(ls "$d/data" | tr '\n' ' ')" >&2
    exit 1
  fi
else
  # Every realm was exported: the files of those not asked for must still be Keycloak's kinds.
  for f in "$d/data"/*; do
    case "$f" in
      *-realm.json | *-users-[0-9]*.json | *-federated-users-[0-9]*.json) ;;
      *) echo "the export wrote a file this tool does not know: $f" >&2; exit 1 ;;
    esac
  done
fi
exit 0
`;

const IMPORT = String.raw`
tar -xf - -C "$d/data" || { echo "could not unpack the realm in the pod (tar -x)" >&2; exit 1; }
for realm in "$@"; do
  [ -f "$d/data/$realm-realm.json" ] || { echo "no $realm-realm.json was received" >&2; exit 1; }
done
server -Dkeycloak.migration.action=import -Dkeycloak.migration.strategy=OVERWRITE_EXISTING
await_log KC-SERVICES0032 'Imported users from'
exit 0
`;

function command(name: string, body: string, p: SideServerParams, perFile: number): string[] {
  return [
    'sh',
    '-c',
    PRELUDE + body,
    name,
    String(p.portOffset),
    p.heap,
    String(p.timeoutSeconds),
    p.runId,
    String(perFile),
    ...p.realms,
  ];
}

/**
 * Export: after KC-SERVICES0035 the files go to stdout, each after a `KCFILE <name> <bytes>`
 * line, realm by realm in the order given (realm first, then its users pages in order;
 * realm-assembler.ts joins them).
 */
export function exportCommand(p: SideServerParams & { largestRealmUsers: number }): string[] {
  // Hibernate's COMMIT flush mode: a read-only export has nothing to flush, and in the default
  // AUTO mode every one of the ~6 queries per user dirty-checks every user the page's session
  // holds, which made the export grow with the square of the users (docs/keycloak-scale.md:
  // 5,000 users 171 s -> 24 s). KUBECTL_ENTANDO_KC_EXPORT_FLUSH_AUTO restores AUTO, for
  // scripts/bench-keycloak to time both side by side.
  const body = process.env.KUBECTL_ENTANDO_KC_EXPORT_FLUSH_AUTO
    ? EXPORT
    : EXPORT.replace('server -D', `server -D${EXPORT_FLUSH_MODE} -D`);
  return command(
    'kubectl-entando-keycloak-export',
    body,
    p,
    exportUsersPerFile(process.env, p.largestRealmUsers),
  );
}

/** Read by Hibernate from the system properties at bootstrap (AvailableSettings.FLUSH_MODE). */
export const EXPORT_FLUSH_MODE = 'org.hibernate.flushMode=COMMIT';

/**
 * The export's page size for a realm of `users` (the largest of the run); KUBECTL_ENTANDO_KC_EXPORT_PAGE
 * overrides it for scripts/bench-keycloak, which times page sizes side by side.
 */
export function exportUsersPerFile(env: NodeJS.ProcessEnv, users: number): number {
  const v = Number(env.KUBECTL_ENTANDO_KC_EXPORT_PAGE);
  if (Number.isInteger(v) && v > 0) return v;
  return Math.min(
    EXPORT_PAGE_MAX,
    Math.max(EXPORT_USERS_PER_FILE, Math.ceil(users / EXPORT_PAGES)),
  );
}

/** Import: a tar of each realm's `<realm>-realm.json` and `<realm>-users-<n>.json` pages on stdin. */
export function importCommand(p: SideServerParams): string[] {
  // Not in COMMIT flush mode: the realm's import then fails (`Unable to find composite client
  // role: view-profile`, a query that must see roles persisted earlier in its transaction).
  return command('kubectl-entando-keycloak-import', IMPORT, p, importUsersPerFile());
}

/** The import's page size; KUBECTL_ENTANDO_KC_IMPORT_PAGE overrides it for scripts/bench-keycloak. */
export function importUsersPerFile(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.KUBECTL_ENTANDO_KC_IMPORT_PAGE);
  return Number.isInteger(v) && v > 0 ? v : IMPORT_USERS_PER_FILE;
}

/** Stops this run's side server (its script traps TERM and stops it) and removes its files. */
export function cleanupCommand(runId: string): string[] {
  return [
    'sh',
    '-c',
    `for f in ${SIDE_DIR_PREFIX}-"$1".*/pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done; sleep 2; for d in ${SIDE_DIR_PREFIX}-"$1".*; do [ -d "$d" ] && rm -rf "$d"; done; exit 0`,
    'kubectl-entando-keycloak-cleanup',
    runId,
  ];
}

/**
 * Stops and removes side servers of earlier runs older than `seconds` (a run killed outright:
 * its exec gone, its server or the `cat` streaming a file may wait forever on a pipe nobody
 * reads). Everything whose command line names the run's directory is killed.
 */
export function reapCommand(seconds: number): string[] {
  return [
    'sh',
    '-c',
    `now=$(date +%s); for f in ${SIDE_DIR_PREFIX}-*/pid; do [ -f "$f" ] || continue; t=$(stat -c %Y "$f" 2>/dev/null) || continue; [ $((now - t)) -gt "$1" ] || continue; d=\${f%/pid}; kill -TERM "$(cat "$f")" 2>/dev/null; pkill -KILL -f "$d/" 2>/dev/null; rm -rf "$d"; echo "stopped a side server left by an earlier run ($d)" >&2; done; exit 0`,
    'kubectl-entando-keycloak-reap',
    String(seconds),
  ];
}

/** Side servers older than this were left by a killed run (twice the default time limit). */
export const STALE_SIDE_SERVER_SECONDS = 3600;

/**
 * A side server's port offset. Offsets ending in 5 put every port (4712/4713, 8009, 8080, 8443,
 * 9990 + offset) on a last digit that a multiple-of-10 offset never uses, so they never meet the
 * running server's ports (offset 0 in a real pod, multiples of 20 in the sandbox); the range
 * keeps them below Linux's ephemeral ports (32768+) and the sandbox's control planes (16000+).
 */
export function sidePortOffset(): number {
  return 2505 + Math.floor(Math.random() * 100) * 10;
}
