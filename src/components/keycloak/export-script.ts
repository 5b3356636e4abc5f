/**
 * The shell script that exports one realm inside the Keycloak pod, with full fidelity: a second
 * WildFly server started beside the running one (its own port offset, log and temp dirs) with
 * Keycloak's migration export, `dir` provider, users in pages of USERS_PER_FILE (each page its
 * own transaction: a realm of many users in one transaction hits the transaction reaper after
 * 300 s, as `singleFile` does; the management blocking timeout is raised to the time limit, since
 * the export runs inside the server's boot). Files go to a fresh 0700 directory; once Keycloak
 * logs `KC-SERVICES0035: Export finished successfully` they are written to stdout, each after a
 * `KCFILE <name> <bytes>` line (realm first, then the users pages in order), and the directory is
 * removed. `Error during startup`, the JVM ending or the time limit are failures (exit 1, the
 * log's last errors on stderr, nothing on stdout). The export server is always stopped (TERM,
 * relayed to java by standalone.sh with LAUNCH_JBOSS_IN_BACKGROUND) and its directory removed:
 * on success, failure, and when the script is told to stop (TERM).
 * Sources: KEYCLOAK.md §2.1-2.3 (ExportImportConfig, MultipleStepsExportProvider,
 * KeycloakApplication.startup, ServicesLogger).
 */

export const USERS_PER_FILE = 50;

export const EXPORT_DIR_PREFIX = '/tmp/kubectl-entando-kc';

export interface ExportParams {
  realm: string;
  /** jboss.socket.binding.port-offset of the export server (away from the running one). */
  portOffset: number;
  /** -Xmx of the export JVM (the pod's limit holds two JVMs). */
  heap: string;
  timeoutSeconds: number;
  /** Names this run's directory, so a cleanup stops only this export. */
  runId: string;
}

const SCRIPT = String.raw`
set -u
realm=$1 offset=$2 heap=$3 limit=$4 run=$5 per=$6
kc=
for h in /opt/jboss/keycloak /opt/eap; do
  if [ -x "$h/bin/standalone.sh" ]; then kc=$h; break; fi
done
if [ -z "$kc" ]; then
  echo "no bin/standalone.sh in /opt/jboss/keycloak or /opt/eap: not a WildFly-based Keycloak (Keycloak.X exports with kc.sh, not supported)" >&2
  exit 64
fi
d=$(mktemp -d "${EXPORT_DIR_PREFIX}-$run.XXXXXX") || exit 70
chmod 700 "$d"
mkdir "$d/log" "$d/tmp" "$d/export"
pid=
stop() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
    pkill -KILL -f "keycloak.migration.dir=$d/" 2>/dev/null
  fi
  rm -rf "$d"
}
trap stop EXIT
trap 'exit 143' TERM INT HUP
echo $$ > "$d/pid"
LAUNCH_JBOSS_IN_BACKGROUND=1 JBOSS_JAVA_SIZING="-Xms64m -Xmx$heap -XX:MetaspaceSize=96M -XX:MaxMetaspaceSize=256m" \
  "$kc/bin/standalone.sh" -b 127.0.0.1 -bmanagement 127.0.0.1 \
  -Djboss.socket.binding.port-offset="$offset" \
  -Djboss.server.log.dir="$d/log" -Djboss.server.temp.dir="$d/tmp" \
  -Djboss.as.management.blocking.timeout="$limit" \
  -Dkeycloak.migration.action=export -Dkeycloak.migration.provider=dir \
  -Dkeycloak.migration.dir="$d/export/" -Dkeycloak.migration.realmName="$realm" \
  -Dkeycloak.migration.usersExportStrategy=DIFFERENT_FILES -Dkeycloak.migration.usersPerFile="$per" \
  > "$d/out" 2>&1 < /dev/null &
pid=$!
started=$(date +%s)
while ! grep -q 'KC-SERVICES0035' "$d/out"; do
  elapsed=$(($(date +%s) - started))
  if ! kill -0 "$pid" 2>/dev/null || grep -q -e 'Error during startup' -e 'WFLYSRV0026' "$d/out" || [ "$elapsed" -ge "$limit" ]; then
    if [ "$elapsed" -ge "$limit" ]; then echo "the export did not finish within $limit s" >&2; fi
    grep -e 'ERROR' -e 'FATAL' "$d/out" | tail -n 4 | cut -c1-400 >&2
    exit 1
  fi
  sleep 0.5
done
emit() {
  printf 'KCFILE %s %s\n' "$1" "$(wc -c < "$d/export/$1" | tr -d ' ')"
  cat "$d/export/$1"
}
[ -f "$d/export/$realm-realm.json" ] || { echo "the export wrote no $realm-realm.json" >&2; exit 1; }
emit "$realm-realm.json"
files=1
for kind in users federated-users; do
  n=0
  while [ -f "$d/export/$realm-$kind-$n.json" ]; do
    emit "$realm-$kind-$n.json"
    n=$((n + 1)) files=$((files + 1))
  done
done
if [ "$(ls "$d/export" | wc -l | tr -d ' ')" != "$files" ]; then
  echo "the export wrote files this tool does not know: $(ls "$d/export" | tr '\n' ' ')" >&2
  exit 1
fi
exit 0
`;

/** `sh -c` command of the export (parameters are positional: no quoting of user input). */
export function exportCommand(p: ExportParams): string[] {
  return [
    'sh',
    '-c',
    SCRIPT,
    'kubectl-entando-keycloak-export',
    p.realm,
    String(p.portOffset),
    p.heap,
    String(p.timeoutSeconds),
    p.runId,
    String(USERS_PER_FILE),
  ];
}

/** Stops this run's export (its script traps TERM and stops the server) and removes its files. */
export function cleanupCommand(runId: string): string[] {
  return [
    'sh',
    '-c',
    `for f in ${EXPORT_DIR_PREFIX}-"$1".*/pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done; sleep 2; for d in ${EXPORT_DIR_PREFIX}-"$1".*; do [ -d "$d" ] && rm -rf "$d"; done; exit 0`,
    'kubectl-entando-keycloak-cleanup',
    runId,
  ];
}
