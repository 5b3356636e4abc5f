# shellcheck shell=bash
# Sandbox Keycloak: the Keycloak 18.0.2 WildFly ("legacy") distribution from Maven Central,
# prepared once in the cache so that Keycloak pods of the sandbox can run it as a host process.
#
# Sourced by scripts/sandbox (after scripts/lib/cluster.sh). Functions:
#   keycloak_install     download (Maven), unpack and prepare the dist (no-op when cached;
#                        always refreshes bin/sandbox-entrypoint.sh)
#   keycloak_dist_dir    echo the dist path (<cache>/keycloak/18.0.2/dist)
#
# The prepared dist (mounted at /opt/jboss/keycloak in a pod):
#   standalone.template/                the pristine standalone/ (configuration, deployments, lib, tmp)
#     configuration/standalone.xml           H2 as shipped, plus system property h2.bindAddress=127.0.0.1
#     configuration/standalone-postgres.xml  KeycloakDS on ${env.DB_ADDR}:${env.DB_PORT}/..., schema ${env.DB_SCHEMA}
#   standalone/                         empty (an emptyDir in a pod, the Keycloak PVC at standalone/data)
#   modules/system/layers/keycloak/org/postgresql/main/  the PostgreSQL JDBC driver module
#   bin/sandbox-entrypoint.sh           copy of sandbox/keycloak/entrypoint.sh (the pod's command)
# See sandbox/README.md, section "Keycloak".

KEYCLOAK_VERSION=18.0.2
# Also installed, for apps annotated sandbox.entando.org/keycloak-version (the operator stand-in
# runs that one): 15.0.2, the last WildFly 15 on Maven Central, stands for Entando 7.1's 15.1.1.
KEYCLOAK_OTHER_VERSIONS="15.0.2"
KEYCLOAK_DEFAULT_VERSION=$KEYCLOAK_VERSION
KEYCLOAK_PG_JDBC_VERSION=42.3.3
# Bump when the preparation below changes: a dist with another revision is rebuilt.
KEYCLOAK_INSTALL_REV=1
KEYCLOAK_REPO_ROOT="${SANDBOX_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KEYCLOAK_CACHE="${KUBECTL_ENTANDO_SANDBOX_CACHE:-$HOME/.cache/kubectl-entando-sandbox}/keycloak/$KEYCLOAK_VERSION"

if ! declare -F sbx_log >/dev/null; then
  sbx_log() { printf 'sandbox: %s\n' "$*" >&2; }
fi
if ! declare -F sbx_die >/dev/null; then
  sbx_die() {
    printf 'sandbox: ERROR: %s\n' "$*" >&2
    exit 1
  }
fi

keycloak_dist_dir() { echo "$KEYCLOAK_CACHE/dist"; }

# keycloak_use <version>: the version the other functions work on.
keycloak_use() {
  KEYCLOAK_VERSION=$1
  KEYCLOAK_CACHE="${KUBECTL_ENTANDO_SANDBOX_CACHE:-$HOME/.cache/kubectl-entando-sandbox}/keycloak/$1"
}

# keycloak_install_all: the default version and the others; the default stays in use.
keycloak_install_all() {
  local v
  for v in $KEYCLOAK_OTHER_VERSIONS "$KEYCLOAK_DEFAULT_VERSION"; do
    keycloak_use "$v"
    keycloak_install
  done
}

# keycloak_other_dists: "<version>=<dist>,..." of the other versions (the operator's
# SANDBOX_KEYCLOAK_DISTS); the default version stays in use.
keycloak_other_dists() {
  local v out=''
  for v in $KEYCLOAK_OTHER_VERSIONS; do
    keycloak_use "$v"
    out="${out:+$out,}$v=$(keycloak_dist_dir)"
  done
  keycloak_use "$KEYCLOAK_DEFAULT_VERSION"
  echo "$out"
}

# java and mvn from Debian when missing.
_keycloak_deps() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  [ "${#missing[@]}" -eq 0 ] && return 0
  sbx_log "keycloak: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q >&2 || return 1
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
}

# _keycloak_artifact <groupId> <artifactId> <version> <type> <downloads dir>: echo the path of
# the artifact. Maven's local repository is used as it is when it already holds the file (Maven
# only renames complete downloads into place); otherwise `mvn dependency:copy` fetches it.
_keycloak_artifact() {
  local g=$1 a=$2 v=$3 t=$4 out=$5 repo f
  repo=${KEYCLOAK_MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
  f="$repo/${g//.//}/$a/$v/$a-$v.$t"
  if [ -s "$f" ]; then
    echo "$f"
    return 0
  fi
  mkdir -p "$out"
  sbx_log "keycloak: mvn dependency:copy $g:$a:$v:$t"
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$g:$a:$v:$t" -DoutputDirectory="$out" >&2 ||
    return 1
  [ -s "$out/$a-$v.$t" ] || return 1
  echo "$out/$a-$v.$t"
}

# H2's AUTO_SERVER (the default KeycloakDS) listens on all interfaces unless h2.bindAddress is
# set; a system property in the config covers every process started on it (also an export).
_keycloak_h2_cli() {
  cat <<'EOF'
embed-server --server-config=standalone.xml --std-out=discard
/system-property=h2.bindAddress:add(value=127.0.0.1)
stop-embedded-server
EOF
}

# The PostgreSQL variant of standalone.xml; mirrors keycloak-containers'
# server/tools/cli/databases/postgres/change-database.cli (module name differs: org.postgresql).
_keycloak_pg_cli() {
  cat <<'EOF'
embed-server --server-config=standalone-postgres.xml --std-out=discard
batch
/subsystem=datasources/jdbc-driver=postgresql:add(driver-name=postgresql, driver-module-name=org.postgresql, driver-xa-datasource-class-name=org.postgresql.xa.PGXADataSource)
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=connection-url, value="jdbc:postgresql://${env.DB_ADDR:localhost}:${env.DB_PORT:5432}/${env.DB_DATABASE:keycloak}${env.JDBC_PARAMS:}")
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=driver-name, value=postgresql)
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=user-name, value="${env.DB_USER}")
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=password, value="${env.DB_PASSWORD}")
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=check-valid-connection-sql, value="SELECT 1")
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=background-validation, value=true)
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=background-validation-millis, value=60000)
/subsystem=datasources/data-source=KeycloakDS:write-attribute(name=flush-strategy, value=IdleConnections)
/subsystem=keycloak-server/spi=connectionsJpa/provider=default:write-attribute(name=properties.schema, value="${env.DB_SCHEMA:public}")
run-batch
stop-embedded-server
EOF
}

# _keycloak_cli <dist> <file>: run a jboss-cli script offline (embed-server starts no listeners).
# Its JVM must not pick up a caller's JAVA_OPTS.
_keycloak_cli() {
  local d=$1 f=$2
  if ! env -u JAVA_OPTS JBOSS_HOME="$d" "$d/bin/jboss-cli.sh" --file="$f" >"$f.log" 2>&1; then
    cat "$f.log" >&2
    return 1
  fi
}

# _keycloak_prepare <unpacked dist> <jdbc jar>: module, PostgreSQL config, standalone.template.
_keycloak_prepare() {
  local d=$1 jar=$2 mod
  mod="$d/modules/system/layers/keycloak/org/postgresql/main"
  mkdir -p "$mod"
  cp "$jar" "$mod/postgresql-$KEYCLOAK_PG_JDBC_VERSION.jar"
  cat >"$mod/module.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<module xmlns="urn:jboss:module:1.3" name="org.postgresql">
  <resources>
    <resource-root path="postgresql-$KEYCLOAK_PG_JDBC_VERSION.jar"/>
  </resources>
  <dependencies>
    <module name="javax.api"/>
    <module name="javax.transaction.api"/>
  </dependencies>
</module>
EOF
  local conf="$d/standalone/configuration"
  _keycloak_h2_cli >"$d/.sandbox-h2.cli"
  _keycloak_cli "$d" "$d/.sandbox-h2.cli" || return 1
  cp "$conf/standalone.xml" "$conf/standalone-postgres.xml"
  _keycloak_pg_cli >"$d/.sandbox-postgres.cli"
  _keycloak_cli "$d" "$d/.sandbox-postgres.cli" || return 1
  # shellcheck disable=SC2016 # literal WildFly expressions
  if ! grep -q 'jdbc:postgresql://${env.DB_ADDR:localhost}:${env.DB_PORT:5432}/' "$conf/standalone-postgres.xml" ||
    ! grep -q 'name="schema" value="${env.DB_SCHEMA:public}"' "$conf/standalone-postgres.xml" ||
    ! grep -q 'jdbc:h2:${jboss.server.data.dir}/keycloak;AUTO_SERVER=TRUE' "$conf/standalone.xml" ||
    ! grep -q '<property name="h2.bindAddress" value="127.0.0.1"/>' "$conf/standalone.xml"; then
    sbx_log "keycloak: standalone-postgres.xml/standalone.xml do not look as expected"
    return 1
  fi
  # What the embedded server left behind: history, data, log, tmp contents.
  rm -rf "$conf/standalone_xml_history" "$d/standalone/data" "$d/standalone/log"
  find "$d/standalone/tmp" -mindepth 1 -delete 2>/dev/null || true
  mv "$d/standalone" "$d/standalone.template"
  mkdir "$d/standalone"
}

_keycloak_installed() {
  [ "$(cat "$(keycloak_dist_dir)/.sandbox-installed" 2>/dev/null)" = "$KEYCLOAK_VERSION rev $KEYCLOAK_INSTALL_REV" ]
}

keycloak_install() {
  local start dist stage tgz jar old='' lock=''
  start=$(date +%s.%N)
  dist=$(keycloak_dist_dir)
  local entry="$KEYCLOAK_REPO_ROOT/sandbox/keycloak/entrypoint.sh"
  [ -f "$entry" ] || sbx_die "keycloak: $entry missing"
  if ! _keycloak_installed; then
    # One installer at a time per cache (sandboxes of other work trees share it).
    mkdir -p "$KEYCLOAK_CACHE"
    exec {lock}>"$KEYCLOAK_CACHE/.lock"
    flock -w 900 "$lock" || sbx_die "keycloak: gave up waiting for $KEYCLOAK_CACHE/.lock"
  fi
  if ! _keycloak_installed; then
    # Leftovers of an install that was killed.
    rm -rf "$KEYCLOAK_CACHE"/.stage.* "$KEYCLOAK_CACHE"/.old.*
    _keycloak_deps || sbx_die "keycloak: could not install java/maven"
    tgz=$(_keycloak_artifact org.keycloak keycloak-server-dist "$KEYCLOAK_VERSION" tar.gz "$KEYCLOAK_CACHE/downloads") ||
      sbx_die "keycloak: could not get org.keycloak:keycloak-server-dist:$KEYCLOAK_VERSION:tar.gz"
    jar=$(_keycloak_artifact org.postgresql postgresql "$KEYCLOAK_PG_JDBC_VERSION" jar "$KEYCLOAK_CACHE/downloads") ||
      sbx_die "keycloak: could not get org.postgresql:postgresql:$KEYCLOAK_PG_JDBC_VERSION"
    sbx_log "keycloak: unpacking $tgz"
    stage=$(mktemp -d "$KEYCLOAK_CACHE/.stage.XXXXXX")
    if ! tar --no-same-owner -xzf "$tgz" -C "$stage" || [ ! -x "$stage/keycloak-$KEYCLOAK_VERSION/bin/standalone.sh" ]; then
      rm -rf "$stage"
      sbx_die "keycloak: unpacking $tgz failed"
    fi
    if ! _keycloak_prepare "$stage/keycloak-$KEYCLOAK_VERSION" "$jar"; then
      rm -rf "$stage"
      sbx_die "keycloak: preparing the dist failed"
    fi
    echo "$KEYCLOAK_VERSION rev $KEYCLOAK_INSTALL_REV" >"$stage/keycloak-$KEYCLOAK_VERSION/.sandbox-installed"
    if [ -e "$dist" ]; then
      # An older revision: move it aside (running pods keep their open files), then delete it.
      old="$KEYCLOAK_CACHE/.old.$$"
      mv "$dist" "$old"
    fi
    mv "$stage/keycloak-$KEYCLOAK_VERSION" "$dist"
    rm -rf "$stage" ${old:+"$old"}
  fi
  if [ -n "$lock" ]; then exec {lock}>&-; fi
  install -m 755 "$entry" "$dist/bin/sandbox-entrypoint.sh.tmp"
  mv -f "$dist/bin/sandbox-entrypoint.sh.tmp" "$dist/bin/sandbox-entrypoint.sh"
  sbx_log "keycloak: $KEYCLOAK_VERSION ready in $dist ($(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s)"
}
