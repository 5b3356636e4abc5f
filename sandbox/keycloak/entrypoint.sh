#!/bin/sh
# The sandbox's stand-in for the jboss/keycloak image's docker-entrypoint.sh: the container
# command of a sandbox Keycloak pod. scripts/lib/keycloak.sh installs it as
# <dist>/bin/sandbox-entrypoint.sh; in a pod the dist is /opt/jboss/keycloak.
#
# Env (as the image): KEYCLOAK_USER, KEYCLOAK_PASSWORD, DB_VENDOR (h2 | postgres; default h2),
# DB_ADDR, DB_PORT, DB_DATABASE, DB_USER, DB_PASSWORD, DB_SCHEMA, JDBC_PARAMS.
# Sandbox only: SANDBOX_KEYCLOAK_PORT_OFFSET (default 0): http 8080+offset, management 9990+offset.
# Extra arguments go to bin/standalone.sh.
set -eu

KC_HOME=$(cd "$(dirname "$0")/.." && pwd -P)
SA="$KC_HOME/standalone"
TPL="$KC_HOME/standalone.template"

log() { printf 'sandbox-entrypoint: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ -d "$TPL/configuration" ] || die "$TPL missing: not a dist prepared by scripts/lib/keycloak.sh"

# standalone/ is an emptyDir (with the Keycloak PVC at standalone/data) in a pod: fill in what is
# missing from the template. Existing files (an H2 DB in data/, logs, ...) are never overwritten.
mkdir -p "$SA"
(cd "$TPL" && find . -type d) | while IFS= read -r d; do
  mkdir -p "$SA/$d"
done
(cd "$TPL" && find . ! -type d) | while IFS= read -r f; do
  if [ ! -e "$SA/$f" ] && [ ! -L "$SA/$f" ]; then
    cp -p "$TPL/$f" "$SA/$f"
  fi
done

DB_VENDOR=$(printf '%s' "${DB_VENDOR:-h2}" | tr '[:upper:]' '[:lower:]')
case "$DB_VENDOR" in
  h2)
    log "Using Embedded H2 database"
    ;;
  postgres | postgresql)
    DB_VENDOR=postgres
    log "Using PostgreSQL database (${DB_ADDR:-localhost}:${DB_PORT:-5432}/${DB_DATABASE:-keycloak}, schema ${DB_SCHEMA:-public})"
    # As the image's change-database.sh rewrites standalone.xml: a later bin/standalone.sh in the
    # same pod (kubectl exec, e.g. a realm export) then reaches the same database.
    cp "$SA/configuration/standalone-postgres.xml" "$SA/configuration/standalone.xml"
    ;;
  *)
    die "unknown DB_VENDOR '$DB_VENDOR' (sandbox: h2 or postgres)"
    ;;
esac
export DB_VENDOR

# The image prefixes a non-empty JDBC_PARAMS with '?'. Only this process tree sees that: a
# process started by kubectl exec gets the raw pod env (as with the real image).
case "${JDBC_PARAMS:-}" in
  '' | '?'*) ;;
  *) JDBC_PARAMS="?$JDBC_PARAMS" && export JDBC_PARAMS ;;
esac

# The image's ENV.
JBOSS_HOME=$KC_HOME
LAUNCH_JBOSS_IN_BACKGROUND=${LAUNCH_JBOSS_IN_BACKGROUND:-1}
export JBOSS_HOME LAUNCH_JBOSS_IN_BACKGROUND

if [ -n "${KEYCLOAK_USER:-}" ] && [ -n "${KEYCLOAK_PASSWORD:-}" ]; then
  # Writes standalone/configuration/keycloak-add-user.json, imported (and deleted) at boot; an
  # existing user is left unchanged by Keycloak. Its output never contains the password.
  if ! "$KC_HOME/bin/add-user-keycloak.sh" -r master -u "$KEYCLOAK_USER" -p "$KEYCLOAK_PASSWORD" >&2; then
    log "WARNING: add-user-keycloak.sh failed (user '$KEYCLOAK_USER' already pending in keycloak-add-user.json?)"
  fi
fi

OFFSET=${SANDBOX_KEYCLOAK_PORT_OFFSET:-0}
case "$OFFSET" in
  '' | *[!0-9]*) die "SANDBOX_KEYCLOAK_PORT_OFFSET must be a number, not '$OFFSET'" ;;
esac
log "starting Keycloak: http 127.0.0.1:$((8080 + OFFSET)), management 127.0.0.1:$((9990 + OFFSET))"
exec "$KC_HOME/bin/standalone.sh" -b 127.0.0.1 -bmanagement 127.0.0.1 \
  "-Djboss.socket.binding.port-offset=$OFFSET" "$@"
