# shellcheck shell=bash
# Krew, built from the Go module proxy through the wrapper module tools/krew (which pins
# sigs.k8s.io/krew and, in go.sum, every dependency): `krew` (also linked as `kubectl-krew`, the
# name kubectl finds it by as the plugin "krew") and `validate-krew-manifest`, krew-index's check.
#
# Sourced by scripts/krew-tools. Binaries: $KREW_TOOLS_DIR, i.e.
#   ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-entando-release/krew-<version>-<hash of go.mod,
#   go.sum and the Go version>/{krew,kubectl-krew,validate-krew-manifest}
# built once (cold, on 2 cores: ~80 s with the module downloads; then a no-op).

KREW_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KREW_MODULE="$KREW_REPO_ROOT/tools/krew"
KREW_VERSION=$(sed -n 's#^require sigs.k8s.io/krew \(v[^ ]*\)$#\1#p' "$KREW_MODULE/go.mod")
KREW_CACHE="${KUBECTL_ENTANDO_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-entando-release}"

krew_log() { printf 'krew-tools: %s\n' "$*" >&2; }
krew_die() {
  printf 'krew-tools: ERROR: %s\n' "$*" >&2
  exit 1
}

# krew_tools_dir: the cache directory of this module's build (needs go on PATH).
krew_tools_dir() {
  local hash
  hash=$(
    {
      go env GOVERSION
      cat "$KREW_MODULE/go.mod" "$KREW_MODULE/go.sum"
    } | sha256sum | cut -c1-12
  )
  echo "$KREW_CACHE/krew-$KREW_VERSION-$hash"
}

# krew_tools_build [--force]: build into the cache unless there; prints the directory.
krew_tools_build() {
  command -v go >/dev/null 2>&1 || krew_die "Go is needed to build Krew (go >= 1.26); none found on PATH"
  [ -n "$KREW_VERSION" ] || krew_die "tools/krew/go.mod does not require sigs.k8s.io/krew"
  local dir tmp log lock start
  dir=$(krew_tools_dir)
  mkdir -p "$KREW_CACHE"
  # One build at a time (a test and a release may ask at once).
  exec {lock}>"$KREW_CACHE/.krew.lock"
  flock -w 600 "$lock" || krew_die "gave up waiting for $KREW_CACHE/.krew.lock"
  if [ -x "$dir/krew" ] && [ -x "$dir/validate-krew-manifest" ] && [ "${1:-}" != --force ]; then
    echo "$dir"
    return 0
  fi
  tmp=$(mktemp -d "$KREW_CACHE/.build-krew.XXXXXX")
  log="$KREW_CACHE/build-krew-$KREW_VERSION.log"
  start=$(date +%s)
  krew_log "building Krew $KREW_VERSION with go build -p 2 (cold: ~80 s on 2 cores; log: $log)"
  if ! (
    export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
    cd "$KREW_MODULE"
    nice -n 10 go build -p 2 -trimpath \
      -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" \
      -o "$tmp/" sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
  ) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -rf "$tmp"
    krew_die "build failed (full log: $log)"
  fi
  chmod 755 "$tmp"
  ln -s krew "$tmp/kubectl-krew"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  krew_log "built in $(($(date +%s) - start)) s into $dir"
  echo "$dir"
}
