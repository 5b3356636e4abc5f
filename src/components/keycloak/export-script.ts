/**
 * The shell script that exports one realm inside the Keycloak pod, with full fidelity: a second
 * WildFly server started beside the running one (its own port offset, log and temp dirs) with
 * Keycloak's migration properties, `singleFile` provider, writing into a FIFO whose reader is
 * this script's stdout, so the realm (password hashes, OTP and client secrets, realm keys) is
 * streamed out and never lies in a file in the pod. Success is Keycloak's log line
 * `KC-SERVICES0035: Export finished successfully`; `Error during startup`, the JVM ending, or the
 * time limit are failures (exit 1, the log's last errors on stderr). The export server is always
 * stopped (TERM, forwarded to java by standalone.sh with LAUNCH_JBOSS_IN_BACKGROUND) and its
 * directory removed: on success, failure, and when the script is told to stop (TERM).
 * Sources: KEYCLOAK.md §2.1-2.3 (ExportImportConfig, KeycloakApplication.startup, ServicesLogger).
 */

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
realm=$1 offset=$2 heap=$3 limit=$4 run=$5
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
mkdir "$d/log" "$d/tmp"
pid= cat_pid= watch_pid=
stop() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  [ -n "$cat_pid" ] && kill "$cat_pid" 2>/dev/null
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
    pkill -KILL -f "keycloak.migration.file=$d/" 2>/dev/null
  fi
  rm -rf "$d"
}
trap stop EXIT
trap 'exit 143' TERM INT HUP
echo $$ > "$d/pid"
mkfifo -m 600 "$d/realm.json" || exit 70
LAUNCH_JBOSS_IN_BACKGROUND=1 JBOSS_JAVA_SIZING="-Xms64m -Xmx$heap -XX:MetaspaceSize=96M -XX:MaxMetaspaceSize=256m" \
  "$kc/bin/standalone.sh" -b 127.0.0.1 -bmanagement 127.0.0.1 \
  -Djboss.socket.binding.port-offset="$offset" \
  -Djboss.server.log.dir="$d/log" -Djboss.server.temp.dir="$d/tmp" \
  -Dkeycloak.migration.action=export -Dkeycloak.migration.provider=singleFile \
  -Dkeycloak.migration.realmName="$realm" -Dkeycloak.migration.file="$d/realm.json" \
  > "$d/out" 2>&1 < /dev/null &
pid=$!
failed() {
  ! kill -0 "$pid" 2>/dev/null || grep -q -e 'Error during startup' -e 'WFLYSRV0026' "$d/out"
}
# A server that fails before it opens the FIFO would leave the reader waiting: open it here.
(
  started=$(date +%s)
  while kill -0 "$$" 2>/dev/null; do
    if failed || [ $(($(date +%s) - started)) -ge "$limit" ]; then
      [ $(($(date +%s) - started)) -ge "$limit" ] && echo timeout > "$d/timeout"
      : 1<> "$d/realm.json"
      exit 0
    fi
    sleep 0.5
  done
) &
watch_pid=$!
cat "$d/realm.json" &
cat_pid=$!
wait "$cat_pid"
cat_pid=
started=$(date +%s)
while ! grep -q 'KC-SERVICES0035' "$d/out"; do
  if failed || [ -f "$d/timeout" ] || [ $(($(date +%s) - started)) -ge 60 ]; then
    if [ -f "$d/timeout" ]; then echo "the export did not finish within $limit s" >&2; fi
    grep -e 'ERROR' -e 'FATAL' "$d/out" | tail -n 4 | cut -c1-400 >&2
    exit 1
  fi
  sleep 0.2
done
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
