# shellcheck shell=bash
# The sandbox node: sandbox-node (sandbox/node), a kubelet stand-in whose pods
# run as host processes. One per cluster, registered as Node "sandbox-<cluster>".
#
# Sourced by scripts/sandbox (after scripts/lib/cluster.sh). Functions:
#   node_build                      build sandbox-node into the binary cache (no-op when cached)
#   node_up <cluster> <dir> <port>  start it (idempotent; restarts it if the sources changed)
#                                   and wait until its Node is Ready
#   node_down <cluster> <dir>       stop it and every pod process it started
#   node_status <cluster> <dir>     one line of status; non-zero if not running
#   node_image_install              put this checkout's built CLI where pods find `kubectl-entando`
#
# Layout under <dir> (the cluster directory):
#   run/node.pid  logs/node.log  node/ (pod state, TLS)  pv/ (provisioned volumes)

NODE_REPO_ROOT="${SANDBOX_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
NODE_CACHE="${KUBECTL_ENTANDO_SANDBOX_CACHE:-$HOME/.cache/kubectl-entando-sandbox}"

node_log() { printf 'sandbox: %s\n' "$*" >&2; }
node_die() {
  printf 'sandbox: ERROR: %s\n' "$*" >&2
  exit 1
}

# node_src_hash: hash of the sandbox-node sources and the Go version.
node_src_hash() {
  (
    cd "$NODE_REPO_ROOT/sandbox/node" || exit 1
    {
      go env GOVERSION 2>/dev/null || echo nogo
      find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -name '*_test.go' -not -path './testdata/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
  )
}

# node_image_dir: the sandbox's stand-in for this checkout's container image. Its bin/ is on the
# agent's PATH, so a pod whose command is `kubectl-entando` (a schedule's CronJob) runs this
# checkout's CLI. Outside the repository on purpose: a pod's emptyDir at /tmp hides a checkout
# under /tmp.
node_image_dir() {
  echo "$NODE_CACHE/image/$(printf %s "$NODE_REPO_ROOT" | sha256sum | cut -c1-12)"
}

# node_image_install: copy Node and dist/kubectl-entando.cjs there, with a launcher that runs
# them as the image's entrypoint would (HOME of the distroless nonroot user: no kubeconfig).
node_image_install() {
  local dir node cjs
  dir=$(node_image_dir)
  node=$(readlink -f "$NODE_REPO_ROOT/node_modules/.bin/node")
  cjs="$NODE_REPO_ROOT/dist/kubectl-entando.cjs"
  [ -x "$node" ] || node_die "no $NODE_REPO_ROOT/node_modules/.bin/node: run scripts/setup"
  [ -s "$cjs" ] || node_die "no $cjs: run npm run build"
  mkdir -p "$dir/bin"
  if ! cmp -s "$node" "$dir/node"; then
    cp "$node" "$dir/node.tmp" && mv -f "$dir/node.tmp" "$dir/node"
  fi
  cp "$cjs" "$dir/kubectl-entando.cjs.tmp" && mv -f "$dir/kubectl-entando.cjs.tmp" "$dir/kubectl-entando.cjs"
  printf '#!/bin/sh\nHOME=/home/nonroot exec "%s/node" "%s/kubectl-entando.cjs" "$@"\n' \
    "$dir" "$dir" >"$dir/bin/kubectl-entando.tmp"
  chmod 755 "$dir/bin/kubectl-entando.tmp"
  mv -f "$dir/bin/kubectl-entando.tmp" "$dir/bin/kubectl-entando"
  echo "$dir"
}

# node_bin: path of the cached binary for the current sources.
node_bin() { echo "$NODE_CACHE/bin/node-$(node_src_hash)/sandbox-node"; }

node_build() {
  local bin tmp
  command -v go >/dev/null 2>&1 || node_die "Go is needed to build sandbox-node (go >= 1.26)"
  bin=$(node_bin)
  if [ -x "$bin" ]; then
    return 0
  fi
  node_log "building sandbox-node ($bin)"
  mkdir -p "$(dirname "$bin")"
  tmp=$(mktemp "$(dirname "$bin")/.sandbox-node.XXXXXX")
  if ! (
    cd "$NODE_REPO_ROOT/sandbox/node" &&
      GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 \
        go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp" ./cmd/sandbox-node
  ) >&2; then
    rm -f "$tmp"
    node_die "building sandbox-node failed"
  fi
  chmod 755 "$tmp"
  mv -f "$tmp" "$bin"
}

# node_pid <dir>: pid of the running agent of this cluster dir (guards against pid reuse).
node_pid() {
  local dir="$1" pid cmdline
  [ -s "$dir/run/node.pid" ] || return 1
  pid=$(cat "$dir/run/node.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmdline=$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
  case "$cmdline" in
    *sandbox-node*"--state-dir $dir/node"*) echo "$pid" ;;
    *) return 1 ;;
  esac
}

node_healthy() {
  [ "$(curl -ksS --max-time 3 "https://127.0.0.1:$1/healthz" 2>/dev/null)" = ok ]
}

node_up() {
  local c="$1" dir="$2" port="$3" bin pid i kubectl image_bin
  { [ -n "$c" ] && [ -n "$dir" ] && [ -n "$port" ]; } || node_die "usage: node_up <cluster> <dir> <port>"
  [ -s "$dir/admin.kubeconfig" ] || node_die "[$c] no $dir/admin.kubeconfig: start the control plane first"
  node_build
  bin=$(node_bin)
  mkdir -p "$dir/run" "$dir/logs" "$dir/node" "$dir/pv"
  if pid=$(node_pid "$dir") && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$bin" ]; then
    node_log "[$c] sandbox-node sources changed since pid $pid started: restarting it"
    node_down "$c" "$dir"
  fi
  if pid=$(node_pid "$dir"); then
    node_log "[$c] node already running (pid $pid)"
  else
    rm -f "$dir/run/node.pid"
    if [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
      node_die "[$c] node port $port is taken by another process"
    fi
    printf '\n==== %s starting sandbox-node\n' "$(date -u +%FT%TZ)" >>"$dir/logs/node.log"
    # Computed here, not in the background command: node_pid reads the child's command line
    # right away, and a command substitution there delays its exec (seen: a start-up "exit").
    image_bin="$(node_image_dir)/bin"
    # Own session and process group; do not hand scripts/sandbox's lock (fd 9) on.
    setsid env PATH="$image_bin:$PATH" "$bin" \
      --kubeconfig "$dir/admin.kubeconfig" \
      --node-name "sandbox-$c" \
      --listen "127.0.0.1:$port" \
      --state-dir "$dir/node" \
      --pv-dir "$dir/pv" \
      --tls-cert "$dir/node/tls/kubelet.crt" \
      --tls-key "$dir/node/tls/kubelet.key" \
      </dev/null >>"$dir/logs/node.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$dir/run/node.pid"
    node_log "[$c] node sandbox-$c started (pid $pid, 127.0.0.1:$port, log $dir/logs/node.log)"
  fi
  for ((i = 0; i < 60; i++)); do
    # Alive, not node_pid: its command line is the launching shell's until the exec.
    kill -0 "$(cat "$dir/run/node.pid")" 2>/dev/null || {
      tail -n 20 "$dir/logs/node.log" >&2
      node_die "[$c] sandbox-node exited during start-up (log: $dir/logs/node.log)"
    }
    node_healthy "$port" && break
    sleep 0.5
  done
  node_healthy "$port" || node_die "[$c] sandbox-node does not answer on 127.0.0.1:$port"
  kubectl="${SANDBOX_KUBECTL:-$(command -v kubectl || true)}"
  if [ -n "$kubectl" ] && [ -x "$kubectl" ]; then
    for ((i = 0; i < 60; i++)); do
      if [ "$("$kubectl" --kubeconfig "$dir/admin.kubeconfig" get node "sandbox-$c" \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
        node_log "[$c] node sandbox-$c is Ready"
        return 0
      fi
      sleep 0.5
    done
    node_die "[$c] node sandbox-$c did not become Ready (log: $dir/logs/node.log)"
  fi
}

# node_kill_leftovers <dir>: kill pod processes recorded by an agent that died.
node_kill_leftovers() {
  local dir="$1" f pid start now
  for f in "$dir"/node/pods/*/pids/*; do
    [ -f "$f" ] || continue
    read -r pid start <"$f" || continue
    { [[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ]; } || continue
    now=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$pid/stat" 2>/dev/null) || continue
    if [ -n "$now" ] && [ "$now" = "$start" ]; then
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

node_down() {
  local c="$1" dir="$2" pid i
  if pid=$(node_pid "$dir"); then
    node_log "[$c] stopping node (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    # The agent gives pod processes 5s between TERM and KILL.
    for ((i = 0; i < 200; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      node_log "[$c] node did not stop on TERM; killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.3
    fi
  fi
  node_kill_leftovers "$dir"
  rm -f "$dir/run/node.pid"
}

node_status() {
  local c="$1" dir="$2" pid
  if pid=$(node_pid "$dir"); then
    echo "[$c] node sandbox-$c: running (pid $pid)"
  else
    echo "[$c] node sandbox-$c: not running"
    return 1
  fi
}
