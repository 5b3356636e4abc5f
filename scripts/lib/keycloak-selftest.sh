#!/usr/bin/env bash
# Self-test of the sandbox Keycloak (scripts/lib/keycloak.sh, sandbox/keycloak/entrypoint.sh).
#
#   scripts/lib/keycloak-selftest.sh [h2|pg|all]    (default all)
#
# For each database: a temp copy of the prepared dist (with its empty standalone/, as the pod's
# emptyDir) runs bin/sandbox-entrypoint.sh; the test waits for /auth/realms/master, creates realm
# "entando" with a user over the admin REST API, runs a second bin/standalone.sh in the same dir
# (port offset, -Dkeycloak.migration.* export, as a kubectl exec would), checks the export file,
# stops that process with SIGTERM to the standalone.sh wrapper only (LAUNCH_JBOSS_IN_BACKGROUND=1)
# and checks its java is gone; the same export into a FIFO; and for H2 a restart on the same
# standalone/ (data kept). PostgreSQL: a throwaway PostgreSQL 15 cluster on 127.0.0.1.
# Prints timings and RSS. Everything it starts is stopped and its temp dir removed on exit.
# Env: KEYCLOAK_SELFTEST_OFFSET (default 3000): port offsets used are OFFSET, +100, +200 (h2)
# and +300, +400, +500 (pg); KEYCLOAK_SELFTEST_PGPORT (default 15999, the first free from there).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/keycloak.sh
. "$ROOT/scripts/lib/keycloak.sh"

WHAT=${1:-all}
case "$WHAT" in h2 | pg | all) ;; *)
  echo "usage: $0 [h2|pg|all]" >&2
  exit 2
  ;;
esac
BASE_OFFSET=${KEYCLOAK_SELFTEST_OFFSET:-3000}
PGBIN=${DBMS_PGBIN:-/usr/lib/postgresql/15/bin}
ADMIN_PW=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
WORK=$(mktemp -d /tmp/keycloak-selftest.XXXXXX)
chmod 755 "$WORK"
GROUPS_STARTED=()
PGDATA_STARTED=''
RESULTS=()
FAILED=0

log() { printf 'selftest: %s\n' "$*" >&2; }
result() {
  RESULTS+=("$*")
  log "$*"
}
fail() {
  result "FAIL: $*"
  FAILED=1
}
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo '?'; }
# The java child of a standalone.sh wrapper.
java_of() { pgrep -P "$1" -x java | head -n 1; }

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  local g i
  for g in "${GROUPS_STARTED[@]}"; do
    kill -TERM -- "-$g" 2>/dev/null || true
  done
  for g in "${GROUPS_STARTED[@]}"; do
    for ((i = 0; i < 100; i++)); do
      pgrep -g "$g" >/dev/null 2>&1 || break
      sleep 0.1
    done
    kill -KILL -- "-$g" 2>/dev/null || true
  done
  if [ -n "$PGDATA_STARTED" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_STARTED" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
offset_free() {
  local p
  for p in 8080 8443 8009 9990 9993 4712 4713; do
    port_free "$(($1 + p))" || {
      log "port $(($1 + p)) (offset $1) is in use"
      return 1
    }
  done
}

# start_bg <log> <cmd...>: own session/process group; echoes the pid (= pgid).
start_bg() {
  local out=$1
  shift
  setsid "$@" </dev/null >"$out" 2>&1 &
  GROUPS_STARTED+=("$!")
  LAST_PID=$!
}

# wait_200 <url> <pid> <timeout s>
wait_200() {
  local url=$1 pid=$2 t=$3 end code
  end=$(($(date +%s) + t))
  while [ "$(date +%s)" -lt "$end" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.25
  done
  return 1
}

# wait_log <file> <pattern> <pid> <timeout s>: 0 when the pattern appears; 1 on exit/timeout.
wait_log() {
  local f=$1 pat=$2 pid=$3 t=$4 end
  end=$(($(date +%s) + t))
  while [ "$(date +%s)" -lt "$end" ]; do
    grep -q -- "$pat" "$f" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -q -- "$pat" "$f" 2>/dev/null && return 0 || return 1; }
    sleep 0.2
  done
  return 1
}

# Non-loopback listeners of a process (must be none).
check_loopback() {
  local pid=$1 what=$2 bad
  bad=$(ss -Hltnp 2>/dev/null | grep "pid=$pid," | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
  if [ -n "$bad" ]; then
    fail "$what listens on non-loopback addresses: $(echo "$bad" | tr '\n' ' ')"
  else
    result "$what: all listeners on 127.0.0.1 ($(ss -Hltnp 2>/dev/null | grep -c "pid=$pid,"))"
  fi
}

# kc_token <http port>
kc_token() {
  curl -sf --max-time 20 "http://127.0.0.1:$1/auth/realms/master/protocol/openid-connect/token" \
    --data-urlencode grant_type=password --data-urlencode client_id=admin-cli \
    --data-urlencode username=admin --data-urlencode "password=$ADMIN_PW" | jq -r .access_token
}

# kc_seed <http port>: realm entando with user alice.
kc_seed() {
  local port=$1 tok code
  tok=$(kc_token "$port") || return 1
  [ -n "$tok" ] && [ "$tok" != null ] || return 1
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d '{"realm":"entando","enabled":true}' "http://127.0.0.1:$port/auth/admin/realms")
  [ "$code" = 201 ] || {
    log "create realm: HTTP $code"
    return 1
  }
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d '{"username":"alice","enabled":true,"email":"alice@example.org","credentials":[{"type":"password","value":"alice-pw","temporary":false}]}' \
    "http://127.0.0.1:$port/auth/admin/realms/entando/users")
  [ "$code" = 201 ] || {
    log "create user: HTTP $code"
    return 1
  }
}

# export_check <label> <dist> <offset> <target file or fifo> <json to check> <env...>
# Runs the export side-process as kubectl exec would (the pod env, no entrypoint), waits for
# KC-SERVICES0035, checks the JSON, then SIGTERMs the wrapper only and checks java is gone.
export_check() {
  local label=$1 dist=$2 off=$3 target=$4 json=$5
  shift 5
  local priv="$WORK/$label" t0 pid jpid i
  mkdir -p "$priv/log" "$priv/tmp"
  offset_free "$off" || {
    fail "$label: ports of offset $off busy"
    return 0
  }
  t0=$(now)
  start_bg "$priv/stdout.log" env "$@" LAUNCH_JBOSS_IN_BACKGROUND=1 "$dist/bin/standalone.sh" \
    "-Djboss.socket.binding.port-offset=$off" \
    -Dkeycloak.migration.action=export -Dkeycloak.migration.provider=singleFile \
    -Dkeycloak.migration.realmName=entando "-Dkeycloak.migration.file=$target" \
    "-Djboss.server.log.dir=$priv/log" "-Djboss.server.temp.dir=$priv/tmp"
  pid=$LAST_PID
  if wait_log "$priv/log/server.log" 'KC-SERVICES0035: Export finished successfully' "$pid" 180; then
    result "$label: KC-SERVICES0035 after $(since "$t0")s"
  else
    fail "$label: no KC-SERVICES0035 (see below)"
    tail -n 15 "$priv/log/server.log" "$priv/stdout.log" >&2 || true
  fi
  jpid=$(java_of "$pid" || true)
  [ -n "$jpid" ] && result "$label: export JVM RSS $(rss_mb "$jpid") MB" && check_loopback "$jpid" "$label JVM"
  # Wait for the FIFO reader (or the file) to be complete before stopping it.
  for ((i = 0; i < 50; i++)); do
    jq -e . "$json" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if jq -e '.realm == "entando" and ([.users[]?.username] | index("alice") != null)' "$json" >/dev/null 2>&1; then
    result "$label: $(basename "$json") ok: realm entando, user alice, $(stat -c %s "$json") bytes"
  else
    fail "$label: $json is not a realm export with alice"
  fi
  # SIGTERM to the standalone.sh wrapper only (not the group).
  [ -n "$jpid" ] || {
    fail "$label: no java child of wrapper $pid"
    return 0
  }
  t0=$(now)
  kill -TERM "$pid"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$jpid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$jpid" 2>/dev/null; then
    fail "$label: java $jpid still running 30s after SIGTERM to wrapper $pid"
  else
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    result "$label: TERM to wrapper $pid -> java $jpid gone in $(since "$t0")s, wrapper $(kill -0 "$pid" 2>/dev/null && echo 'still there' || echo gone); wrapper said: $(grep -o '\*\*\* JBossAS process.*\*\*\*' "$priv/stdout.log" | head -n 1)"
  fi
}

# run_server <label> <dist> <offset> <env...>: start the entrypoint, wait for the first 200.
run_server() {
  local label=$1 dist=$2 off=$3 t0
  shift 3
  offset_free "$off" || {
    fail "$label: ports of offset $off busy"
    return 1
  }
  t0=$(now)
  start_bg "$WORK/$label.log" env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 \
    KEYCLOAK_USER=admin KEYCLOAK_PASSWORD="$ADMIN_PW" SANDBOX_KEYCLOAK_PORT_OFFSET="$off" "$@" \
    "$dist/bin/sandbox-entrypoint.sh"
  SERVER_PID=$LAST_PID
  if wait_200 "http://127.0.0.1:$((8080 + off))/auth/realms/master" "$SERVER_PID" 240; then
    result "$label: first 200 on /auth/realms/master after $(since "$t0")s"
  else
    fail "$label: no 200 on /auth/realms/master"
    tail -n 30 "$WORK/$label.log" >&2 || true
    return 1
  fi
  SERVER_JAVA=$(java_of "$SERVER_PID" || true)
  result "$label: server JVM RSS $(rss_mb "$SERVER_JAVA") MB"
  check_loopback "$SERVER_JAVA" "$label server JVM"
  if grep -q "$ADMIN_PW" "$WORK/$label.log"; then fail "$label: the admin password appears in the log"; fi
}

stop_server() {
  local label=$1 pid=$2 jpid=$3 t0 i
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$jpid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$jpid" 2>/dev/null; then fail "$label: server java $jpid survived TERM to $pid"; else
    result "$label: server stopped by TERM to the entrypoint pid in $(since "$t0")s"
  fi
}

copy_dist() {
  local dst=$1 t0
  t0=$(now)
  cp -a "$(keycloak_dist_dir)" "$dst"
  [ -z "$(ls -A "$dst/standalone")" ] || {
    fail "dist standalone/ is not empty"
    return 1
  }
  log "copied the dist to $dst in $(since "$t0")s"
  touch "$dst.copied"
}

# Nothing outside standalone/ may change (the dist is a shared hostPath in the sandbox).
dist_untouched() {
  local label=$1 d=$2 changed
  changed=$(find "$d" -path "$d/standalone" -prune -o -newer "$d.copied" -print | head -n 5)
  if [ -z "$changed" ]; then result "$label: nothing changed in the dist outside standalone/"; else
    fail "$label: changed outside standalone/: $(echo "$changed" | tr '\n' ' ')"
  fi
}

test_h2() {
  local d="$WORK/h2-dist" off=$BASE_OFFSET
  copy_dist "$d" || return 0
  run_server h2 "$d" "$off" DB_VENDOR=h2 || return 0
  kc_seed $((8080 + off)) || {
    fail "h2: could not create realm/user"
    return 0
  }
  result "h2: realm entando + user alice created (admin token ok)"
  export_check h2-export "$d" $((off + 100)) "$WORK/h2-realm.json" "$WORK/h2-realm.json" DB_VENDOR=h2
  mkfifo "$WORK/h2.fifo"
  start_bg "$WORK/h2-fifo-cat.log" sh -c "cat '$WORK/h2.fifo' > '$WORK/h2-fifo-out.json'"
  export_check h2-fifo-export "$d" $((off + 200)) "$WORK/h2.fifo" "$WORK/h2-fifo-out.json" DB_VENDOR=h2
  if [ "$(kc_token $((8080 + off)) | cut -c1-3)" = eyJ ]; then
    result "h2: main server still issues tokens after the exports"
  else
    fail "h2: main server does not issue tokens after the exports"
  fi
  stop_server h2 "$SERVER_PID" "$SERVER_JAVA"
  # Restart on the same standalone/ (emptyDir + PVC survive a container restart): data kept,
  # add-user of an existing admin is harmless.
  run_server h2-restart "$d" "$off" DB_VENDOR=h2 || return 0
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((8080 + off))/auth/realms/entando")" = 200 ] &&
    [ "$(kc_token $((8080 + off)) | cut -c1-3)" = eyJ ]; then
    result "h2-restart: realm entando still there, admin login ok"
  else
    fail "h2-restart: realm or admin lost"
  fi
  stop_server h2-restart "$SERVER_PID" "$SERVER_JAVA"
  dist_untouched h2 "$d"
}

test_pg() {
  local d="$WORK/pg-dist" off=$((BASE_OFFSET + 300)) port=${KEYCLOAK_SELFTEST_PGPORT:-15999}
  [ -x "$PGBIN/initdb" ] || {
    if declare -F dbms_install >/dev/null || . "$ROOT/scripts/lib/dbms.sh"; then dbms_install; fi
  }
  [ -x "$PGBIN/initdb" ] || {
    fail "pg: no $PGBIN/initdb"
    return 0
  }
  while ! port_free "$port"; do port=$((port + 1)); done
  local pg="$WORK/pg" sock="$WORK/pg/sock" role=kc_selftest_db_12345 pw
  pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  mkdir -p "$pg/data" "$sock"
  [ "$(id -u)" != 0 ] || chown -R postgres: "$pg"
  chmod 700 "$pg/data"
  as_pg "$PGBIN/initdb" -D "$pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 || {
    fail "pg: initdb failed"
    cat "$WORK/initdb.log" >&2
    return 0
  }
  as_pg "$PGBIN/pg_ctl" -D "$pg/data" -l "$pg/pg.log" -w -t 60 \
    -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || {
    fail "pg: start failed"
    cat "$pg/pg.log" >&2
    return 0
  }
  PGDATA_STARTED="$pg/data"
  local psql=("$PGBIN/psql" -h "$sock" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  "${psql[@]}" -d postgres -c "CREATE ROLE $role LOGIN PASSWORD '$pw'" -c "CREATE DATABASE kcdb" >/dev/null
  "${psql[@]}" -d kcdb -c "CREATE SCHEMA $role AUTHORIZATION $role" >/dev/null
  result "pg: PostgreSQL $("${psql[@]}" -d postgres -c 'SHOW server_version') on 127.0.0.1:$port, role+schema $role"
  local pgenv=(DB_VENDOR=postgres DB_ADDR=127.0.0.1 "DB_PORT=$port" DB_DATABASE=kcdb "DB_USER=$role"
    "DB_PASSWORD=$pw" "DB_SCHEMA=$role")
  copy_dist "$d" || return 0
  run_server pg "$d" "$off" "${pgenv[@]}" || return 0
  local n np
  n=$("${psql[@]}" -d kcdb -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$role'")
  np=$("${psql[@]}" -d kcdb -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
  if [ "$n" -gt 50 ] && [ "$np" = 0 ]; then result "pg: $n tables in schema $role, $np in public"; else
    fail "pg: $n tables in schema $role, $np in public"
  fi
  if [ ! -e "$d/standalone/data/keycloak.mv.db" ]; then
    result "pg: no H2 file in standalone/data"
  else
    fail "pg: an H2 DB was created in standalone/data"
  fi
  kc_seed $((8080 + off)) || {
    fail "pg: could not create realm/user"
    return 0
  }
  result "pg: realm entando + user alice created; user_entity rows for alice: $("${psql[@]}" -d kcdb -c "SELECT count(*) FROM $role.user_entity WHERE username = 'alice'")"
  export_check pg-export "$d" $((off + 100)) "$WORK/pg-realm.json" "$WORK/pg-realm.json" "${pgenv[@]}"
  mkfifo "$WORK/pg.fifo"
  start_bg "$WORK/pg-fifo-cat.log" sh -c "cat '$WORK/pg.fifo' > '$WORK/pg-fifo-out.json'"
  export_check pg-fifo-export "$d" $((off + 200)) "$WORK/pg.fifo" "$WORK/pg-fifo-out.json" "${pgenv[@]}"
  stop_server pg "$SERVER_PID" "$SERVER_JAVA"
  dist_untouched pg "$d"
}

t0=$(now)
keycloak_install
result "keycloak_install: $(since "$t0")s (dist $(keycloak_dist_dir))"
case "$WHAT" in
  h2) test_h2 ;;
  pg) test_pg ;;
  all)
    test_h2
    test_pg
    ;;
esac

printf '\n==== keycloak self-test summary\n'
printf '%s\n' "${RESULTS[@]}"
if [ "$FAILED" = 0 ]; then echo "==== PASS"; else echo "==== FAIL"; fi
exit "$FAILED"
