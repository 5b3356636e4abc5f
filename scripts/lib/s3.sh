# shellcheck shell=bash
# The sandbox's S3 server: SeaweedFS (Apache-2.0) built from its Go module through the wrapper
# module sandbox/seaweedfs (its go.mod carries SeaweedFS's `replace`, which Go ignores outside
# the main module). `weed server -s3` runs master, volume, filer and the S3 gateway in one
# process, every listener on 127.0.0.1.
#
# Sourced by scripts/sandbox (after cluster.sh). Layout:
#   $SANDBOX_DIR/s3/{data,logs,run}      data, weed.log, weed.pid
#   $SANDBOX_DIR/s3/s3.json              SigV4 identities: "backup" (all rights), "denied" (none)
#   $SANDBOX_DIR/s3/credentials.env      their keys (random, made once, mode 0600)
# Binary: $SANDBOX_CACHE/bin/seaweedfs-<pseudo-version>/weed (cold build ~5.5 min on 2 cores).
# Ports: <prefix>7333 S3, <prefix>7340-7346 master/volume/filer (http, grpc) and S3 grpc, where
# <prefix> is the source cluster's port prefix (1: 17333): none of cluster_port's.

S3_DIR="$SANDBOX_DIR/s3"
S3_BUCKET=entando-backups
S3_REGION=us-east-1
S3_VERSION=$(sed -n 's#^require github.com/seaweedfs/seaweedfs \(v[^ ]*\)$#\1#p' "$SANDBOX_REPO_ROOT/sandbox/seaweedfs/go.mod")
S3_BIN="$SANDBOX_CACHE/bin/seaweedfs-$S3_VERSION/weed"

s3_log() { printf 'sandbox: [s3] %s\n' "$*" >&2; }

# s3_port <what>: s3 master master-grpc volume volume-grpc filer filer-grpc s3-grpc
s3_port() {
  local p="${SANDBOX_PORT_PREFIXES[0]}"
  case "$1" in
    s3) echo "${p}7333" ;;
    master) echo "${p}7340" ;;
    master-grpc) echo "${p}7341" ;;
    volume) echo "${p}7342" ;;
    volume-grpc) echo "${p}7343" ;;
    filer) echo "${p}7344" ;;
    filer-grpc) echo "${p}7345" ;;
    s3-grpc) echo "${p}7346" ;;
    *) sbx_die "unknown s3 port name '$1'" ;;
  esac
}

s3_endpoint() { echo "http://127.0.0.1:$(s3_port s3)"; }

# shellcheck disable=SC2120 # [--force] comes from `scripts/sandbox s3 build`
s3_build() {
  if [ -x "$S3_BIN" ] && [ "${1:-}" != --force ]; then
    s3_log "weed $S3_VERSION cached in $(dirname "$S3_BIN")"
    return 0
  fi
  [ -n "$S3_VERSION" ] || sbx_die "sandbox/seaweedfs/go.mod does not require github.com/seaweedfs/seaweedfs"
  sandbox_check_go_present
  local tmp log start
  mkdir -p "$SANDBOX_CACHE/bin"
  tmp=$(mktemp -d "$SANDBOX_CACHE/bin/.build-s3.XXXXXX")
  log="$SANDBOX_CACHE/build-seaweedfs-$S3_VERSION.log"
  start=$(date +%s)
  s3_log "building SeaweedFS $S3_VERSION with go build -p 2 (cold: about 6 min on 2 cores; log: $log)"
  if ! (
    export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
    cd "$SANDBOX_REPO_ROOT/sandbox/seaweedfs"
    nice -n 10 go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp/weed" github.com/seaweedfs/seaweedfs/weed
  ) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -rf "$tmp"
    sbx_die "SeaweedFS build failed (full log: $log)"
  fi
  mkdir -p "$(dirname "$S3_BIN")"
  mv -f "$tmp/weed" "$S3_BIN"
  rm -rf "$tmp"
  s3_log "built in $(($(date +%s) - start))s into $S3_BIN"
}

# Random keys, made once: "backup" may do everything, "denied" nothing.
s3_credentials() {
  mkdir -p "$S3_DIR"
  if [ ! -f "$S3_DIR/credentials.env" ]; then
    (
      umask 077
      {
        echo "S3_ACCESS_KEY=EB$(openssl rand -hex 9 | tr a-f A-F)"
        echo "S3_SECRET_KEY=$(openssl rand -hex 20)"
        echo "S3_DENIED_ACCESS_KEY=ED$(openssl rand -hex 9 | tr a-f A-F)"
        echo "S3_DENIED_SECRET_KEY=$(openssl rand -hex 20)"
      } >"$S3_DIR/credentials.env"
    )
  fi
  # shellcheck disable=SC1091
  . "$S3_DIR/credentials.env"
  (
    umask 077
    cat >"$S3_DIR/s3.json" <<EOF
{
  "identities": [
    {
      "name": "backup",
      "credentials": [{ "accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY" }],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    },
    {
      "name": "denied",
      "credentials": [{ "accessKey": "$S3_DENIED_ACCESS_KEY", "secretKey": "$S3_DENIED_SECRET_KEY" }],
      "actions": []
    }
  ]
}
EOF
  )
}

s3_pid() {
  local pid
  pid=$(cat "$S3_DIR/run/weed.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# s3_curl <method> <path> [curl args...]: a SigV4-signed request as the "backup" identity.
s3_curl() {
  local method="$1" path="$2"
  shift 2
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X "$method" \
    --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    "$@" "$(s3_endpoint)$path" 2>/dev/null || true
}

s3_healthy() { [ "$(s3_curl GET /)" = 200 ]; }

s3_up() {
  # shellcheck disable=SC2119
  s3_build
  s3_credentials
  mkdir -p "$S3_DIR"/{data,logs,run}
  if s3_pid >/dev/null && s3_healthy; then
    s3_log "already running (pid $(s3_pid), $(s3_endpoint))"
  else
    local what port
    for what in s3 master master-grpc volume volume-grpc filer filer-grpc s3-grpc; do
      port=$(s3_port "$what")
      if port_listening "$port"; then sbx_die "port $port ($what) is in use: cannot start the S3 server"; fi
    done
    local args=(
      "$S3_BIN" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$S3_DIR/data"
      -master.port="$(s3_port master)" -master.port.grpc="$(s3_port master-grpc)"
      -master.telemetry=false -master.volumeSizeLimitMB=1024 -volume.max=0
      -volume.port="$(s3_port volume)" -volume.port.grpc="$(s3_port volume-grpc)"
      -filer -filer.port="$(s3_port filer)" -filer.port.grpc="$(s3_port filer-grpc)"
      -s3 -s3.port="$(s3_port s3)" -s3.port.grpc="$(s3_port s3-grpc)"
      -s3.port.iceberg=0 -s3.port.lance=0 -s3.iam=false
      -s3.config="$S3_DIR/s3.json" -s3.localSocket="$S3_DIR/run/s3.sock"
    )
    # setsid: own process group, detached; 9>&-: do not hand scripts/sandbox's lock over.
    setsid "${args[@]}" </dev/null >>"$S3_DIR/logs/weed.log" 2>&1 9>&- &
    echo "$!" >"$S3_DIR/run/weed.pid"
    s3_log "started weed (pid $!, $(s3_endpoint), log $S3_DIR/logs/weed.log)"
    local i
    for ((i = 0; i < 240; i++)); do
      s3_healthy && break
      if ! s3_pid >/dev/null; then
        tail -n 25 "$S3_DIR/logs/weed.log" >&2 || true
        sbx_die "the S3 server exited during start-up (log: $S3_DIR/logs/weed.log)"
      fi
      sleep 0.5
    done
    s3_healthy || sbx_die "the S3 server did not answer within 120s (log: $S3_DIR/logs/weed.log)"
  fi
  # The bucket: 200 made, 409 already there (BucketAlreadyOwnedByYou).
  local code
  for ((i = 0; i < 20; i++)); do
    code=$(s3_curl PUT "/$S3_BUCKET")
    case "$code" in 200 | 409) break ;; esac
    sleep 1
  done
  [ "$(s3_curl HEAD "/$S3_BUCKET" -I)" = 200 ] || sbx_die "bucket $S3_BUCKET could not be created (last answer: HTTP $code)"
  s3_log "up: $(s3_endpoint), bucket $S3_BUCKET (eval \"\$(scripts/sandbox env)\" for the AWS_* variables)"
}

# TERM to the process group; weed often needs a KILL after that.
s3_down() {
  local pid i
  if pid=$(s3_pid); then
    s3_log "stopping weed (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      s3_log "weed did not stop on TERM within 5s; killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$S3_DIR/run/weed.pid" "$S3_DIR/run/s3.sock"
  local what rc=0
  for what in s3 master master-grpc volume volume-grpc filer filer-grpc s3-grpc; do
    if port_listening "$(s3_port "$what")"; then
      s3_log "WARNING: port $(s3_port "$what") ($what) is still in use"
      rc=1
    fi
  done
  return "$rc"
}

s3_status() {
  # shellcheck disable=SC1091
  [ -f "$S3_DIR/credentials.env" ] && . "$S3_DIR/credentials.env"
  if s3_pid >/dev/null && s3_healthy; then
    echo "s3: running (pid $(s3_pid), $(s3_endpoint), bucket $S3_BUCKET)"
  else
    echo "s3: down"
    return 1
  fi
}

# Frees the space of deleted objects now (SeaweedFS keeps them in its volumes until a vacuum;
# benches that write and delete many GiB fill the disk otherwise: "No writable volumes").
s3_vacuum() {
  s3_pid >/dev/null || sbx_die "the S3 server is not running: bash scripts/sandbox s3 up"
  curl -fsS "http://127.0.0.1:$(s3_port master)/vol/vacuum?garbageThreshold=0.01" >/dev/null
  s3_log "vacuumed (space of deleted objects freed)"
}

# The identity with rights, for the AWS SDK and CLI (`eval "$(scripts/sandbox env)"`).
s3_env() {
  [ -f "$S3_DIR/credentials.env" ] || return 0
  # shellcheck disable=SC1091
  . "$S3_DIR/credentials.env"
  echo "export AWS_ENDPOINT_URL_S3='$(s3_endpoint)'"
  echo "export AWS_ACCESS_KEY_ID='$S3_ACCESS_KEY'"
  echo "export AWS_SECRET_ACCESS_KEY='$S3_SECRET_KEY'"
  echo "export AWS_REGION='$S3_REGION'"
}
