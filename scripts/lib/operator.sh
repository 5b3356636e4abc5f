# shellcheck shell=bash
# Entando operator STAND-IN (sandbox/operator, not Entando's operator), one per sandbox cluster.
#
#   operator_up   <cluster> <dir>   start in the background (idempotent)
#   operator_down <cluster> <dir>   stop it (SIGTERM, then SIGKILL after 10 s)
#   operator_status <cluster> <dir>
#
# Needs `npm run build` (dist/sandbox/operator/main.js), <dir>/admin.kubeconfig and
# <dir>/dbms.json (scripts/lib/dbms.sh). pid: <dir>/run/operator.pid, log: <dir>/logs/operator.log.

_OPERATOR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

_operator_node() {
  if [ -x "$_OPERATOR_ROOT/node_modules/.bin/node" ]; then
    printf '%s\n' "$_OPERATOR_ROOT/node_modules/.bin/node"
  else
    command -v node
  fi
}

_operator_pid() {
  local pidf=$1/run/operator.pid pid
  [ -s "$pidf" ] || return 1
  pid=$(cat "$pidf")
  # Only our process: the pid must still run main.js (pids get reused).
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'sandbox/operator/main.js' || return 1
  printf '%s\n' "$pid"
}

operator_up() {
  local cluster=$1 dir=$2
  if [ -z "$cluster" ] || [ -z "$dir" ]; then
    echo "usage: operator_up <cluster> <dir>" >&2
    return 2
  fi
  dir=$(cd "$dir" && pwd) || return 1
  local main=$_OPERATOR_ROOT/dist/sandbox/operator/main.js
  if [ ! -f "$main" ]; then
    echo "[operator] $main missing: run npm run build" >&2
    return 1
  fi
  for f in "$dir/admin.kubeconfig" "$dir/dbms.json"; do
    [ -f "$f" ] || {
      echo "[operator] $cluster: $f missing" >&2
      return 1
    }
  done
  mkdir -p "$dir/run" "$dir/logs"
  local pid
  if pid=$(_operator_pid "$dir"); then
    echo "[operator] $cluster: already running (pid $pid)" >&2
    return 0
  fi
  local node
  node=$(_operator_node) || {
    echo "[operator] node not found" >&2
    return 1
  }
  (
    cd "$_OPERATOR_ROOT" &&
      SANDBOX_KEYCLOAK_DIST="$(keycloak_dist_dir 2>/dev/null)" \
        SANDBOX_KEYCLOAK_DISTS="$(keycloak_other_dists 2>/dev/null)" exec setsid "$node" "$main" --kubeconfig "$dir/admin.kubeconfig" --dbms "$dir/dbms.json" \
        </dev/null >>"$dir/logs/operator.log" 2>&1
  ) &
  echo $! >"$dir/run/operator.pid"
  sleep 1
  if ! _operator_pid "$dir" >/dev/null; then
    echo "[operator] $cluster: failed to start; last log lines:" >&2
    tail -20 "$dir/logs/operator.log" >&2
    return 1
  fi
  echo "[operator] $cluster: stand-in running (pid $(cat "$dir/run/operator.pid"), log $dir/logs/operator.log)" >&2
}

operator_down() {
  local cluster=$1 dir=$2 pid _
  pid=$(_operator_pid "$dir") || {
    rm -f "$dir/run/operator.pid"
    return 0
  }
  echo "[operator] $cluster: stopping (pid $pid)" >&2
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  rm -f "$dir/run/operator.pid"
}

operator_status() {
  local cluster=$1 dir=$2 pid
  if pid=$(_operator_pid "$dir"); then
    printf '%s: operator stand-in running (pid %s)\n' "$cluster" "$pid"
  else
    printf '%s: operator stand-in stopped\n' "$cluster"
    return 1
  fi
}
