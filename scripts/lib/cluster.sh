# shellcheck shell=bash
# Control planes of the local sandbox: two independent Kubernetes clusters
# ("source" and "target"), each made of etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler built from upstream Go modules
# (sandbox/k8s, sandbox/etcd) at the versions pinned in sandbox/versions.env.
#
# Sourced by scripts/sandbox. Everything listens on 127.0.0.1 only.
#
# Layout (SANDBOX_DIR = <repo>/.sandbox):
#   $SANDBOX_DIR/kubeconfig                       contexts sandbox-source / sandbox-target
#   $SANDBOX_DIR/bin/kubectl                      the sandbox kubectl (symlinks into the cache)
#   $SANDBOX_DIR/clusters/<name>/admin.kubeconfig per-cluster admin kubeconfig
#   $SANDBOX_DIR/clusters/<name>/{pki,etcd,logs,run,pv,node}
# Binaries: ${KUBECTL_ENTANDO_SANDBOX_CACHE:-$HOME/.cache/kubectl-entando-sandbox}/bin/<k8s>-<etcd>/

: "${SANDBOX_REPO_ROOT:?SANDBOX_REPO_ROOT must be set}"
# For developing the sandbox itself next to a running one, both can be moved:
#   KUBECTL_ENTANDO_SANDBOX_DIR=/tmp/sbx KUBECTL_ENTANDO_SANDBOX_PORT_PREFIXES="4 5" scripts/sandbox up --control-plane-only
# (prefix N gives ports N6443, N6379, ...; the defaults are .sandbox and "1 2").
SANDBOX_DIR="${KUBECTL_ENTANDO_SANDBOX_DIR:-$SANDBOX_REPO_ROOT/.sandbox}"
read -r -a SANDBOX_PORT_PREFIXES <<<"${KUBECTL_ENTANDO_SANDBOX_PORT_PREFIXES:-1 2}"
SANDBOX_CACHE="${KUBECTL_ENTANDO_SANDBOX_CACHE:-$HOME/.cache/kubectl-entando-sandbox}"
SANDBOX_CLUSTERS=(source target)
# Components in start order; stopped in reverse.
SANDBOX_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)
SANDBOX_CRD_DIR="$SANDBOX_REPO_ROOT/crds/entando-7.3.0"

# shellcheck disable=SC1091
. "$SANDBOX_REPO_ROOT/sandbox/versions.env"
: "${K8S_VERSION:?K8S_VERSION missing from sandbox/versions.env}"
: "${ETCD_VERSION:?ETCD_VERSION missing from sandbox/versions.env}"
SANDBOX_BIN_DIR="$SANDBOX_CACHE/bin/$K8S_VERSION-$ETCD_VERSION"
SANDBOX_KUBECTL="$SANDBOX_DIR/bin/kubectl"
SANDBOX_KUBECONFIG="$SANDBOX_DIR/kubeconfig"
export SANDBOX_REPO_ROOT SANDBOX_DIR SANDBOX_CACHE SANDBOX_BIN_DIR SANDBOX_KUBECTL SANDBOX_KUBECONFIG

# Go is often installed off PATH (/usr/local/go); the builds need it.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH="/usr/local/go/bin:$PATH"
fi

sbx_log() { printf 'sandbox: %s\n' "$*" >&2; }
sbx_die() {
  printf 'sandbox: ERROR: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- ports ---

# cluster_port <cluster> <what>: the fixed loopback port of a cluster's service.
cluster_port() {
  local p
  case "$1" in
    source) p="${SANDBOX_PORT_PREFIXES[0]}" ;;
    target) p="${SANDBOX_PORT_PREFIXES[1]}" ;;
    *) sbx_die "unknown cluster '$1' (expected source or target)" ;;
  esac
  [[ "$p" =~ ^[1-5]$ ]] || sbx_die "port prefixes must be two digits 1-5 (KUBECTL_ENTANDO_SANDBOX_PORT_PREFIXES)"
  case "$2" in
    apiserver | kube-apiserver) echo "${p}6443" ;;
    etcd) echo "${p}6379" ;;
    etcd-peer) echo "${p}6380" ;;
    kcm | kube-controller-manager) echo "${p}6257" ;;
    scheduler | kube-scheduler) echo "${p}6259" ;;
    node) echo "${p}6250" ;;
    postgres) echo "${p}6432" ;;
    mariadb) echo "${p}6306" ;;
    *) sbx_die "unknown port name '$2'" ;;
  esac
}

# Each cluster has its own service range so that a restore which wrongly
# copies spec.clusterIP from the source fails loudly on the target.
cluster_service_cidr() {
  case "$1" in
    source) echo 10.96.0.0/16 ;;
    target) echo 10.100.0.0/16 ;;
  esac
}
cluster_service_ip() {
  case "$1" in
    source) echo 10.96.0.1 ;;
    target) echo 10.100.0.1 ;;
  esac
}

cluster_dir() { echo "$SANDBOX_DIR/clusters/$1"; }

# port_listening <port>: true if something listens on 127.0.0.1/any:<port>.
port_listening() {
  [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# port_pids <port>: pids of processes listening on <port> (needs root to see others').
port_pids() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# ------------------------------------------------------------ toolchain ---

# sandbox_install_deps: the Debian packages the control planes need.
sandbox_install_deps() {
  local missing=() cmd pkg
  for cmd in openssl:openssl ss:iproute2 curl:curl setsid:util-linux flock:util-linux ps:procps base64:coreutils; do
    pkg="${cmd#*:}"
    cmd="${cmd%%:*}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    sbx_log "installing Debian packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
      "${sudo[@]}" apt-get update >&2
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
  fi
}

# The Go toolchain must be at least the one the Kubernetes go.mod asks for.
sandbox_check_go() {
  command -v go >/dev/null 2>&1 || sbx_die "Go is needed to build the sandbox control planes (go >= 1.26); none found on PATH"
  local want have
  want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$SANDBOX_REPO_ROOT/sandbox/k8s/go.mod")
  have=$(go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
    sbx_die "Go $have is too old: sandbox/k8s/go.mod needs go $want"
  fi
}

# sandbox_gomod: regenerate sandbox/{k8s,etcd}/go.mod (+ go.sum) from versions.env.
# The k8s module requires k8s.io/kubernetes and replaces every k8s.io/* staging
# module that the tag's go.mod points at ./staging/... with the v0.<minor>.<patch>
# release of that module.
sandbox_gomod() {
  sandbox_check_go_present
  local k8s="$SANDBOX_REPO_ROOT/sandbox/k8s" etcd="$SANDBOX_REPO_ROOT/sandbox/etcd"
  local staging="v0.${K8S_VERSION#v1.}" upstream_mod goline
  export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
  upstream_mod=$(cd "$k8s" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$upstream_mod" ] || sbx_die "could not download k8s.io/kubernetes@$K8S_VERSION"
  goline=$(grep -m1 '^go ' "$upstream_mod")
  {
    echo "// Generated by scripts/sandbox gomod from sandbox/versions.env; do not edit by hand."
    echo "module kubectl-entando/sandbox/k8s"
    echo
    echo "$goline"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$upstream_mod" | sort -u |
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
    echo ")"
  } >"$k8s/go.mod"
  {
    echo "// Generated by scripts/sandbox gomod from sandbox/versions.env; do not edit by hand."
    echo "module kubectl-entando/sandbox/etcd"
    echo
    echo "$goline"
    echo
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  } >"$etcd/go.mod"
  rm -f "$k8s/go.sum" "$etcd/go.sum"
  sbx_log "go mod tidy (sandbox/k8s, sandbox/etcd)"
  (cd "$k8s" && go mod tidy)
  (cd "$etcd" && go mod tidy)
  sbx_log "regenerated sandbox/k8s/go.mod ($K8S_VERSION, staging $staging) and sandbox/etcd/go.mod ($ETCD_VERSION)"
}

sandbox_check_go_present() {
  command -v go >/dev/null 2>&1 || sbx_die "Go is needed to build the sandbox control planes (go >= 1.26); none found on PATH"
}

# go.mod files must agree with versions.env; otherwise tell how to regenerate.
sandbox_check_gomod() {
  local k8s="$SANDBOX_REPO_ROOT/sandbox/k8s/go.mod" etcd="$SANDBOX_REPO_ROOT/sandbox/etcd/go.mod"
  grep -Eq "^(require)?[[:space:]]*k8s\.io/kubernetes $K8S_VERSION\$" "$k8s" ||
    sbx_die "sandbox/k8s/go.mod does not require k8s.io/kubernetes $K8S_VERSION (versions.env); run: scripts/sandbox gomod"
  grep -Eq "k8s\.io/client-go => k8s\.io/client-go v0\.${K8S_VERSION#v1.}\$" "$k8s" ||
    sbx_die "sandbox/k8s/go.mod staging replaces do not match $K8S_VERSION; run: scripts/sandbox gomod"
  grep -Eq "^(require)?[[:space:]]*go\.etcd\.io/etcd/server/v3 $ETCD_VERSION\$" "$etcd" ||
    sbx_die "sandbox/etcd/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION (versions.env); run: scripts/sandbox gomod"
}

SANDBOX_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

sandbox_binaries_present() {
  local b
  for b in "${SANDBOX_BINARIES[@]}"; do
    [ -x "$SANDBOX_BIN_DIR/$b" ] || return 1
  done
}

# sandbox_build: build the control-plane binaries into the cache unless present.
# Cold, on 2 cores, this takes a long while (see sandbox/README.md); warm it is a no-op.
sandbox_build() {
  if sandbox_binaries_present && [ "${1:-}" != --force ]; then
    sbx_log "binaries $K8S_VERSION/etcd $ETCD_VERSION cached in $SANDBOX_BIN_DIR"
  else
    sandbox_check_go
    sandbox_check_gomod
    mkdir -p "$SANDBOX_CACHE/bin"
    local tmp log minor ld p start
    tmp=$(mktemp -d "$SANDBOX_CACHE/bin/.build.XXXXXX")
    log="$SANDBOX_CACHE/build-$K8S_VERSION-$ETCD_VERSION.log"
    minor="${K8S_VERSION#v1.}"
    minor="${minor%%.*}"
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    start=$(date +%s)
    sbx_log "building Kubernetes $K8S_VERSION and etcd $ETCD_VERSION with go build -p 2 (cold: about 10 min on 2 cores; log: $log)"
    if ! (
      export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
      cd "$SANDBOX_REPO_ROOT/sandbox/k8s"
      nice -n 10 go build -p 2 -trimpath -ldflags "$ld" -o "$tmp/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
      cd "$SANDBOX_REPO_ROOT/sandbox/etcd"
      nice -n 10 go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
    ) >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -rf "$tmp"
      sbx_die "build failed (full log: $log)"
    fi
    mkdir -p "$SANDBOX_BIN_DIR"
    for p in "${SANDBOX_BINARIES[@]}"; do mv -f "$tmp/$p" "$SANDBOX_BIN_DIR/$p"; done
    rm -rf "$tmp"
    sbx_log "built in $(($(date +%s) - start))s into $SANDBOX_BIN_DIR"
  fi
  mkdir -p "$SANDBOX_DIR/bin"
  for p in "${SANDBOX_BINARIES[@]}"; do ln -sfn "$SANDBOX_BIN_DIR/$p" "$SANDBOX_DIR/bin/$p"; done
}

# ------------------------------------------------------------------ PKI ---

# pki_ca <dir> <name> <cn>: a self-signed CA (kept once made).
pki_ca() {
  local dir="$1" name="$2" cn="$3"
  [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] && return 0
  openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$dir/$name.key" -subj "/CN=$cn" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$dir/$name.crt" 2>/dev/null
}

# pki_cert <dir> <name> <subject> <ext-lines> [<ca>]: a key + cert signed by <dir>/<ca> (default ca).
pki_cert() {
  local dir="$1" name="$2" subj="$3" ext="$4" ca="${5:-ca}"
  [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] && return 0
  openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# cluster_pki <cluster>: CA, serving + client certs, service-account keys (idempotent).
cluster_pki() {
  local c="$1" dir
  dir="$(cluster_dir "$c")/pki"
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
    sbx_log "[$c] creating PKI in $dir"
    rm -f "$dir"/*.crt "$dir"/*.key
    pki_ca "$dir" ca "sandbox-$c-ca"
  fi
  # the aggregation layer's front proxy (request-header authentication)
  pki_ca "$dir" front-proxy-ca "sandbox-$c-front-proxy-ca"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  pki_cert "$dir" apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$(cluster_service_ip "$c"),DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  pki_cert "$dir" admin "/O=system:masters/CN=kubernetes-admin" "$client"
  pki_cert "$dir" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  pki_cert "$dir" controller-manager "/CN=system:kube-controller-manager" "$client"
  pki_cert "$dir" scheduler "/CN=system:kube-scheduler" "$client"
  pki_cert "$dir" front-proxy-client "/CN=front-proxy-client" "$client" front-proxy-ca
  if [ ! -s "$dir/sa.key" ]; then
    openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
    openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  fi
  chmod 600 "$dir"/*.key
}

# kubeconfig_cluster_user <name> <server> <pki> <cert-base> <namespace-or-empty>
kubeconfig_entry() {
  local name="$1" server="$2" pki="$3" cert="$4"
  cat <<EOF
clusters+  - name: $name
clusters+    cluster:
clusters+      server: $server
clusters+      certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users+  - name: $name
users+    user:
users+      client-certificate-data: $(base64 -w0 <"$pki/$cert.crt")
users+      client-key-data: $(base64 -w0 <"$pki/$cert.key")
contexts+  - name: $name
contexts+    context:
contexts+      cluster: $name
contexts+      user: $name
contexts+      namespace: default
EOF
}

# write_kubeconfig <file> <current-context> <entries...>: assemble entries into one file.
write_kubeconfig() {
  local file="$1" current="$2"
  shift 2
  local all
  all=$(printf '%s\n' "$@")
  {
    echo "apiVersion: v1"
    echo "kind: Config"
    echo "preferences: {}"
    echo "current-context: $current"
    local section
    for section in clusters users contexts; do
      echo "$section:"
      printf '%s\n' "$all" | sed -n "s/^$section+//p"
    done
  } >"$file.tmp"
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}

cluster_kubeconfigs() {
  local c="$1" dir server
  dir=$(cluster_dir "$c")
  server="https://127.0.0.1:$(cluster_port "$c" apiserver)"
  write_kubeconfig "$dir/admin.kubeconfig" "sandbox-$c" "$(kubeconfig_entry "sandbox-$c" "$server" "$dir/pki" admin)"
  write_kubeconfig "$dir/run/controller-manager.kubeconfig" "sandbox-$c" \
    "$(kubeconfig_entry "sandbox-$c" "$server" "$dir/pki" controller-manager)"
  write_kubeconfig "$dir/run/scheduler.kubeconfig" "sandbox-$c" \
    "$(kubeconfig_entry "sandbox-$c" "$server" "$dir/pki" scheduler)"
}

# sandbox_kubeconfig: .sandbox/kubeconfig with one context per cluster that has a PKI.
sandbox_kubeconfig() {
  local c entries=() first=""
  for c in "${SANDBOX_CLUSTERS[@]}"; do
    [ -s "$(cluster_dir "$c")/pki/admin.crt" ] || continue
    entries+=("$(kubeconfig_entry "sandbox-$c" "https://127.0.0.1:$(cluster_port "$c" apiserver)" "$(cluster_dir "$c")/pki" admin)")
    [ -n "$first" ] || first="sandbox-$c"
  done
  [ "${#entries[@]}" -gt 0 ] || return 0
  write_kubeconfig "$SANDBOX_KUBECONFIG" "$first" "${entries[@]}"
}

# ------------------------------------------------------------ processes ---

# comp_pid <cluster> <component>: the pid from the pid file if that process is
# alive and really is this component of this cluster (guards against pid reuse).
comp_pid() {
  local c="$1" comp="$2" dir pidfile pid cmdline
  dir=$(cluster_dir "$c")
  pidfile="$dir/run/$comp.pid"
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case "$cmdline" in
    *"/$comp "*"$dir/"*) echo "$pid" ;;
    *) return 1 ;;
  esac
}

comp_port() {
  case "$2" in
    etcd) cluster_port "$1" etcd ;;
    *) cluster_port "$1" "$2" ;;
  esac
}

# comp_args <cluster> <component>: the command line of a component.
comp_args() {
  local c="$1" comp="$2" dir pki bin
  dir=$(cluster_dir "$c")
  pki="$dir/pki"
  bin="$SANDBOX_BIN_DIR/$comp"
  local etcd_url peer
  etcd_url="http://127.0.0.1:$(cluster_port "$c" etcd)"
  case "$comp" in
    etcd)
      peer="http://127.0.0.1:$(cluster_port "$c" etcd-peer)"
      printf '%s\n' "$bin" "--name=$c" "--data-dir=$dir/etcd" \
        "--listen-client-urls=$etcd_url" "--advertise-client-urls=$etcd_url" \
        "--listen-peer-urls=$peer" "--initial-advertise-peer-urls=$peer" \
        "--initial-cluster=$c=$peer" "--initial-cluster-state=new" \
        "--initial-cluster-token=sandbox-$c" \
        "--unsafe-no-fsync=true" "--snapshot-count=10000" \
        "--log-level=warn" "--log-outputs=stderr"
      ;;
    kube-apiserver)
      printf '%s\n' "$bin" "--bind-address=127.0.0.1" "--advertise-address=127.0.0.1" \
        "--secure-port=$(cluster_port "$c" apiserver)" \
        "--etcd-servers=$etcd_url" "--etcd-prefix=/registry" \
        "--tls-cert-file=$pki/apiserver.crt" "--tls-private-key-file=$pki/apiserver.key" \
        "--client-ca-file=$pki/ca.crt" \
        "--kubelet-client-certificate=$pki/apiserver-kubelet-client.crt" \
        "--kubelet-client-key=$pki/apiserver-kubelet-client.key" \
        "--kubelet-preferred-address-types=InternalIP,Hostname,ExternalIP" \
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local" \
        "--service-account-key-file=$pki/sa.pub" \
        "--service-account-signing-key-file=$pki/sa.key" \
        "--service-cluster-ip-range=$(cluster_service_cidr "$c")" \
        "--authorization-mode=Node,RBAC" \
        "--allow-privileged=true" \
        "--enable-admission-plugins=NodeRestriction" \
        "--endpoint-reconciler-type=none" \
        "--requestheader-client-ca-file=$pki/front-proxy-ca.crt" \
        "--requestheader-allowed-names=front-proxy-client" \
        "--requestheader-username-headers=X-Remote-User" \
        "--requestheader-group-headers=X-Remote-Group" \
        "--requestheader-extra-headers-prefix=X-Remote-Extra-" \
        "--proxy-client-cert-file=$pki/front-proxy-client.crt" \
        "--proxy-client-key-file=$pki/front-proxy-client.key" \
        "--cert-dir=$dir/run/apiserver-certs" \
        "--profiling=false" "--v=1"
      ;;
    kube-controller-manager)
      local kc="$dir/run/controller-manager.kubeconfig"
      printf '%s\n' "$bin" "--bind-address=127.0.0.1" \
        "--secure-port=$(cluster_port "$c" kcm)" \
        "--kubeconfig=$kc" "--authentication-kubeconfig=$kc" "--authorization-kubeconfig=$kc" \
        "--client-ca-file=$pki/ca.crt" \
        "--cert-dir=$dir/run/controller-manager-certs" \
        "--leader-elect=false" "--controllers=*" \
        "--cluster-name=sandbox-$c" \
        "--service-cluster-ip-range=$(cluster_service_cidr "$c")" \
        "--service-account-private-key-file=$pki/sa.key" \
        "--root-ca-file=$pki/ca.crt" \
        "--use-service-account-credentials=true" \
        "--cluster-signing-cert-file=$pki/ca.crt" \
        "--cluster-signing-key-file=$pki/ca.key" \
        "--profiling=false" "--v=1"
      ;;
    kube-scheduler)
      local kc="$dir/run/scheduler.kubeconfig"
      printf '%s\n' "$bin" "--bind-address=127.0.0.1" \
        "--secure-port=$(cluster_port "$c" scheduler)" \
        "--kubeconfig=$kc" "--authentication-kubeconfig=$kc" "--authorization-kubeconfig=$kc" \
        "--client-ca-file=$pki/ca.crt" \
        "--cert-dir=$dir/run/scheduler-certs" \
        "--leader-elect=false" \
        "--profiling=false" "--v=1"
      ;;
  esac
}

# comp_healthy <cluster> <component>: its health endpoint answers ok.
comp_healthy() {
  local c="$1" comp="$2" pki url
  pki="$(cluster_dir "$c")/pki"
  case "$comp" in
    etcd) curl -fsS --max-time 3 "http://127.0.0.1:$(cluster_port "$c" etcd)/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver)
      url="https://127.0.0.1:$(cluster_port "$c" apiserver)/readyz"
      [ "$(curl -sS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$url" 2>/dev/null)" = ok ]
      ;;
    kube-controller-manager | kube-scheduler)
      url="https://127.0.0.1:$(comp_port "$c" "$comp")/healthz"
      [ "$(curl -ksS --max-time 3 "$url" 2>/dev/null)" = ok ]
      ;;
  esac
}

# comp_start <cluster> <component>: start it in its own session/process group.
comp_start() {
  local c="$1" comp="$2" dir pid port args
  dir=$(cluster_dir "$c")
  port=$(comp_port "$c" "$comp")
  if pid=$(comp_pid "$c" "$comp"); then
    sbx_log "[$c] $comp already running (pid $pid)"
    return 0
  fi
  rm -f "$dir/run/$comp.pid"
  if port_listening "$port"; then
    sbx_die "[$c] port $port for $comp is taken by another process ($(port_pids "$port" | tr '\n' ' ')); run scripts/sandbox down, or free the port"
  fi
  if [ "$comp" = etcd ] && port_listening "$(cluster_port "$c" etcd-peer)"; then
    sbx_die "[$c] etcd peer port $(cluster_port "$c" etcd-peer) is taken"
  fi
  mapfile -t args < <(comp_args "$c" "$comp")
  mkdir -p "$dir/logs" "$dir/run"
  {
    printf '\n==== %s starting %s\n' "$(date -u +%FT%TZ)" "$comp"
  } >>"$dir/logs/$comp.log"
  # setsid: own session and process group (pgid = pid), detached from our terminal.
  # 9>&-: do not hand scripts/sandbox's lock to the daemon.
  # env -u: etcd reads every ETCD_* variable as a flag.
  setsid env -u ETCD_VERSION "${args[@]}" </dev/null >>"$dir/logs/$comp.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/run/$comp.pid"
  sbx_log "[$c] $comp started (pid $pid, 127.0.0.1:$port, log $dir/logs/$comp.log)"
}

# comp_wait <cluster> <component> [timeout-seconds]
comp_wait() {
  local c="$1" comp="$2" timeout="${3:-90}" i=0
  while ! comp_healthy "$c" "$comp"; do
    # Twice, a moment apart: /proc/PID/cmdline can read empty while setsid and env exec.
    if ! comp_pid "$c" "$comp" >/dev/null && sleep 0.5 && ! comp_pid "$c" "$comp" >/dev/null; then
      tail -n 25 "$(cluster_dir "$c")/logs/$comp.log" >&2 || true
      sbx_die "[$c] $comp exited during start-up (log: $(cluster_dir "$c")/logs/$comp.log)"
    fi
    if [ "$i" -ge $((timeout * 4)) ]; then
      tail -n 25 "$(cluster_dir "$c")/logs/$comp.log" >&2 || true
      sbx_die "[$c] $comp not healthy after ${timeout}s (log: $(cluster_dir "$c")/logs/$comp.log)"
    fi
    sleep 0.25
    i=$((i + 1))
  done
}

# comp_stop <cluster> <component>: TERM its process group, then KILL after 15s.
comp_stop() {
  local c="$1" comp="$2" dir pid pgid i
  dir=$(cluster_dir "$c")
  if pid=$(comp_pid "$c" "$comp"); then
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    sbx_log "[$c] stopping $comp (pid $pid)"
    if [ -n "$pgid" ] && [ "$pgid" = "$pid" ]; then
      kill -TERM -- "-$pgid" 2>/dev/null || true
    else
      kill -TERM "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      sbx_log "[$c] $comp did not stop on TERM; killing"
      if [ "$pgid" = "$pid" ]; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$dir/run/$comp.pid"
}

# ------------------------------------------------------------- clusters ---

# cluster_prepare <cluster>: directories, PKI and component kubeconfigs.
cluster_prepare() {
  local c="$1" dir
  dir=$(cluster_dir "$c")
  mkdir -p "$dir"/{pki,etcd,logs,run,pv,node}
  chmod 700 "$dir/etcd"
  cluster_pki "$c"
  cluster_kubeconfigs "$c"
}

# clusters_up <cluster...>: start (or keep) their control planes, one layer at
# a time across all clusters (etcd, then apiserver, then kcm + scheduler), and
# wait until each layer is healthy.
clusters_up() {
  local c comp
  for c in "$@"; do cluster_prepare "$c"; done
  for comp in "${SANDBOX_COMPONENTS[@]}"; do
    for c in "$@"; do comp_start "$c" "$comp"; done
    case "$comp" in
      etcd) for c in "$@"; do comp_wait "$c" etcd 60; done ;;
      kube-apiserver) for c in "$@"; do comp_wait "$c" kube-apiserver 120; done ;;
    esac
  done
  for c in "$@"; do
    comp_wait "$c" kube-controller-manager 60
    comp_wait "$c" kube-scheduler 60
    sbx_log "[$c] control plane ready at https://127.0.0.1:$(cluster_port "$c" apiserver)"
  done
}

# cluster_wait_default_sa <cluster>: pods can only be created once the
# serviceaccount controller has made the "default" ServiceAccount.
cluster_wait_default_sa() {
  local c="$1" i
  for ((i = 0; i < 60; i++)); do
    "$SANDBOX_KUBECTL" --kubeconfig "$(cluster_dir "$c")/admin.kubeconfig" -n default get serviceaccount default >/dev/null 2>&1 && return 0
    sleep 1
  done
  sbx_die "[$c] the default ServiceAccount never appeared (is kube-controller-manager healthy?)"
}

# cluster_apply_crds <cluster>: the Entando CRDs, server-side, then wait for Established.
cluster_apply_crds() {
  local c="$1" kc names
  kc="$(cluster_dir "$c")/admin.kubeconfig"
  local file="$SANDBOX_CRD_DIR/cluster-resources.yaml"
  [ -s "$file" ] || sbx_die "missing $file"
  "$SANDBOX_KUBECTL" --kubeconfig "$kc" apply --server-side --force-conflicts \
    --field-manager=kubectl-entando-sandbox -f "$file" >/dev/null
  mapfile -t names < <(awk '/^kind: CustomResourceDefinition/{crd=1} /^---/{crd=0} crd && /^  name: /{print "crd/" $2}' "$file")
  "$SANDBOX_KUBECTL" --kubeconfig "$kc" wait --for=condition=Established --timeout=60s "${names[@]}" >/dev/null
  sbx_log "[$c] Entando 7.3.0 CRDs established (${#names[@]})"
}

# clusters_down <cluster...>: stop components layer by layer (scheduler + kcm,
# apiserver, etcd), each layer in all clusters at once.
clusters_down() {
  local i c pids=()
  for ((i = ${#SANDBOX_COMPONENTS[@]} - 1; i >= 0; i--)); do
    pids=()
    for c in "$@"; do
      comp_stop "$c" "${SANDBOX_COMPONENTS[$i]}" &
      pids+=($!)
    done
    for c in "${pids[@]}"; do wait "$c" || true; done
  done
}

# cluster_verify_ports_free <cluster>: after down, nothing of ours may listen.
# A leftover listener that runs one of the cached sandbox binaries on this
# cluster's directory (e.g. a process whose pid file was lost) is ours and is
# stopped; anything else is reported, never killed.
cluster_verify_ports_free() {
  local c="$1" comp port pid exe cmdline i rc=0
  for comp in "${SANDBOX_COMPONENTS[@]}" etcd-peer; do
    port=$(cluster_port "$c" "$comp")
    port_listening "$port" || continue
    for pid in $(port_pids "$port"); do
      exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
      cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
      case "$exe" in "$SANDBOX_CACHE"/bin/*) ;; *) continue ;; esac
      case "$cmdline" in *"$(cluster_dir "$c")/"*) ;; *) continue ;; esac
      sbx_log "[$c] stopping leftover sandbox process $pid ($exe) on port $port"
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    done
    sleep 0.2
    if port_listening "$port"; then
      sbx_log "[$c] WARNING: port $port is still in use by: $(port_pids "$port" | tr '\n' ' ')"
      rc=1
    fi
  done
  return "$rc"
}

# cluster_status <cluster>: print one line per component; non-zero if any is down.
cluster_status() {
  local c="$1" comp pid rc=0 state
  for comp in "${SANDBOX_COMPONENTS[@]}"; do
    if pid=$(comp_pid "$c" "$comp"); then
      if comp_healthy "$c" "$comp"; then
        state="running (pid $pid, 127.0.0.1:$(comp_port "$c" "$comp"))"
      else
        state="unhealthy (pid $pid, 127.0.0.1:$(comp_port "$c" "$comp"))"
        rc=1
      fi
    else
      state="stopped"
      rc=1
    fi
    printf '%-8s %-24s %s\n' "$c" "$comp" "$state"
  done
  return "$rc"
}
