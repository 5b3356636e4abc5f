# shellcheck shell=bash
# Sandbox DBMS: one PostgreSQL 15 and one MariaDB server per sandbox cluster, on the host.
#
# The operator stand-in (sandbox/operator) points every "in-namespace DBMS" of a cluster at
# these two servers: it creates the roles/schemas (PostgreSQL) and databases/users (MySQL)
# there, and the db-container pods it generates carry PGHOST/PGPORT/... so host tools exec'd
# in them reach this cluster's servers. See sandbox/README.md, section "DBMS".
#
# Functions (source this file):
#   dbms_install                               install postgresql-15 + mariadb if missing
#   dbms_up   <cluster> <dir> <pgport> <myport> init (once) and start both; write <dir>/dbms.json
#   dbms_down <cluster> <dir>                   stop both cleanly
#   dbms_status <cluster> <dir>                 one line per server
#
# Layout under <dir>: dbms/pg (PGDATA), dbms/pgsock (socket, 0700 postgres), dbms/mysql
# (datadir), dbms/mysql.sock, dbms/secrets.env + dbms/mysql-client.cnf (0600),
# run/mysql.pid, logs/postgresql.log, logs/mariadb.log, dbms.json (0600).
# Everything binds to 127.0.0.1 only.

DBMS_PGBIN=${DBMS_PGBIN:-/usr/lib/postgresql/15/bin}
DBMS_PG_DATABASE=default_postgresql_dbms_in_namespace_db

_dbms_log() { printf '[dbms] %s\n' "$*" >&2; }

# Run a PostgreSQL server binary as the postgres OS user (the server refuses to run as root).
_dbms_as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_dbms_genpw() {
  local pw=''
  while [ "${#pw}" -lt 24 ]; do
    pw+=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  done
  printf '%s' "${pw:0:24}"
}

dbms_install() {
  local missing=()
  [ -x "$DBMS_PGBIN/postgres" ] || missing+=(postgresql-15)
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15)
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  _dbms_log "installing ${missing[*]}"
  local sudo=''
  [ "$(id -u)" = 0 ] || sudo=sudo
  # Package scripts must not start system-wide servers: we run our own instances.
  local policy=/usr/sbin/policy-rc.d created_policy=''
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    created_policy=1
  fi
  local rc=0
  $sudo apt-get update -q >&2 || rc=$?
  if [ "$rc" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >&2 || rc=$?
  fi
  [ -z "$created_policy" ] || $sudo rm -f "$policy"
  return "$rc"
}

# Load (or create, once) the generated admin passwords of one cluster.
_dbms_secrets() {
  local dir=$1 f=$1/dbms/secrets.env
  if [ ! -s "$f" ]; then
    (
      umask 077
      printf 'DBMS_PG_PASSWORD=%s\nDBMS_MYSQL_PASSWORD=%s\n' "$(_dbms_genpw)" "$(_dbms_genpw)" >"$f"
    )
  fi
  # shellcheck disable=SC1090
  . "$f"
}

_dbms_pg_up() {
  local dir=$1 port=$2
  local data=$dir/dbms/pg sock=$dir/dbms/pgsock log=$dir/logs/postgresql.log
  mkdir -p "$sock" "$dir/logs"
  touch "$log"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$sock" "$log"
  fi
  chmod 700 "$sock"
  if [ ! -s "$data/PG_VERSION" ]; then
    _dbms_log "initdb $data"
    mkdir -p "$data"
    [ "$(id -u)" != 0 ] || chown postgres: "$data"
    chmod 700 "$data"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$DBMS_PG_PASSWORD" >"$pwfile"
    [ "$(id -u)" != 0 ] || chown postgres: "$pwfile"
    _dbms_as_pg "$DBMS_PGBIN/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
      >"$dir/logs/initdb.log" 2>&1 || {
      cat "$dir/logs/initdb.log" >&2
      rm -f "$pwfile"
      return 1
    }
    rm -f "$pwfile"
  fi
  # Settings are rewritten each time so a port change in the caller takes effect.
  cat >"$data/sandbox.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 60
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
EOF
  grep -q "^include_if_exists = 'sandbox.conf'" "$data/postgresql.conf" ||
    printf "include_if_exists = 'sandbox.conf'\n" >>"$data/postgresql.conf"
  [ "$(id -u)" != 0 ] || chown postgres: "$data/sandbox.conf" "$data/postgresql.conf"
  if ! _dbms_as_pg "$DBMS_PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    _dbms_log "starting PostgreSQL on 127.0.0.1:$port"
    _dbms_as_pg "$DBMS_PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >&2 || return 1
  fi
  local psql=("$DBMS_PGBIN/psql" -h "$sock" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  # The generated password is re-imposed on every start (the secrets file is the source of truth).
  "${psql[@]}" -d postgres -c "ALTER ROLE postgres PASSWORD '$DBMS_PG_PASSWORD'" >/dev/null
  if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DBMS_PG_DATABASE'")" ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE $DBMS_PG_DATABASE" >/dev/null
  fi
}

_dbms_mysql_client_cnf() {
  local dir=$1
  (
    umask 077
    cat >"$dir/dbms/mysql-client.cnf" <<EOF
[client]
user=root
password=$DBMS_MYSQL_PASSWORD
socket=$dir/dbms/mysql.sock
EOF
  )
}

_dbms_mysql_up() {
  local dir=$1 port=$2
  local data=$dir/dbms/mysql sock=$dir/dbms/mysql.sock pidf=$dir/run/mysql.pid
  mkdir -p "$dir/run" "$dir/logs"
  _dbms_mysql_client_cnf "$dir"
  if [ ! -d "$data/mysql" ]; then
    _dbms_log "mariadb-install-db $data"
    mkdir -p "$data"
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$data" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/logs/mariadb-install.log" 2>&1 || {
      cat "$dir/logs/mariadb-install.log" >&2
      return 1
    }
  fi
  if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    return 0
  fi
  _dbms_log "starting MariaDB on 127.0.0.1:$port"
  local mariadbd=mariadbd
  command -v mariadbd >/dev/null 2>&1 || mariadbd=/usr/sbin/mariadbd
  rm -f "$sock"
  setsid nohup "$mariadbd" --no-defaults --user="$(id -un)" --datadir="$data" \
    --bind-address=127.0.0.1 --port="$port" --socket="$sock" --pid-file="$pidf" \
    --log-error="$dir/logs/mariadb.log" --skip-name-resolve \
    --innodb-buffer-pool-size=32M --performance-schema=OFF --max-connections=60 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    </dev/null >>"$dir/logs/mariadb.log" 2>&1 &
  local i
  for i in $(seq 1 120); do
    # ping exits 0 whenever the server answers, even with "access denied".
    if mariadb-admin --no-defaults --socket="$sock" -uroot --connect-timeout=2 ping >/dev/null 2>&1; then
      break
    fi
    if [ "$i" = 120 ]; then
      _dbms_log "MariaDB did not start; see $dir/logs/mariadb.log"
      tail -20 "$dir/logs/mariadb.log" >&2
      return 1
    fi
    sleep 0.5
  done
  local sql="ALTER USER 'root'@'localhost' IDENTIFIED BY '$DBMS_MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$DBMS_MYSQL_PASSWORD';
ALTER USER 'root'@'%' IDENTIFIED BY '$DBMS_MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;"
  # mariadb-install-db also makes passwordless root@127.0.0.1/::1/<hostname>, which would win
  # over root@'%' for TCP logins: drop them (also anonymous users).
  local drop="SELECT CONCAT('DROP USER ', QUOTE(User), '@', QUOTE(Host), ';') FROM mysql.user
 WHERE (User = 'root' AND Host NOT IN ('localhost', '%')) OR User = ''"
  sql="$sql
$(mariadb --defaults-file="$dir/dbms/mysql-client.cnf" -N -B -e "$drop" 2>/dev/null ||
    mariadb --no-defaults --socket="$sock" -uroot -N -B -e "$drop")
FLUSH PRIVILEGES;"
  # With the generated password (normal case), else passwordless (first start after install).
  mariadb --defaults-file="$dir/dbms/mysql-client.cnf" -e "$sql" 2>/dev/null ||
    mariadb --no-defaults --socket="$sock" -uroot -e "$sql"
}

_dbms_write_json() {
  local dir=$1 pgport=$2 myport=$3
  (
    umask 077
    cat >"$dir/dbms.json.tmp" <<EOF
{
  "postgresql": {
    "host": "127.0.0.1",
    "port": $pgport,
    "adminUser": "postgres",
    "adminPassword": "$DBMS_PG_PASSWORD",
    "database": "$DBMS_PG_DATABASE"
  },
  "mysql": {
    "host": "127.0.0.1",
    "port": $myport,
    "adminUser": "root",
    "adminPassword": "$DBMS_MYSQL_PASSWORD"
  }
}
EOF
    mv -f "$dir/dbms.json.tmp" "$dir/dbms.json"
  )
}

dbms_up() {
  local cluster=$1 dir=$2 pgport=$3 myport=$4
  if [ -z "$cluster" ] || [ -z "$dir" ] || [ -z "$pgport" ] || [ -z "$myport" ]; then
    _dbms_log "usage: dbms_up <cluster> <dir> <pgport> <myport>"
    return 2
  fi
  dir=$(cd "$dir" && pwd) || return 1
  mkdir -p "$dir/dbms" "$dir/run" "$dir/logs"
  chmod 755 "$dir/dbms"
  _dbms_secrets "$dir"
  _dbms_pg_up "$dir" "$pgport" || {
    _dbms_log "$cluster: PostgreSQL failed; see $dir/logs/postgresql.log"
    return 1
  }
  _dbms_mysql_up "$dir" "$myport" || {
    _dbms_log "$cluster: MariaDB failed; see $dir/logs/mariadb.log"
    return 1
  }
  _dbms_write_json "$dir" "$pgport" "$myport"
  _dbms_log "$cluster: PostgreSQL 127.0.0.1:$pgport, MariaDB 127.0.0.1:$myport ($dir/dbms.json)"
}

dbms_down() {
  local cluster=$1 dir=$2
  [ -d "$dir" ] || return 0
  local data=$dir/dbms/pg pidf=$dir/run/mysql.pid
  if [ -s "$data/PG_VERSION" ] && _dbms_as_pg "$DBMS_PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    _dbms_log "$cluster: stopping PostgreSQL"
    _dbms_as_pg "$DBMS_PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 || true
  fi
  if [ -s "$pidf" ]; then
    local pid
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
      _dbms_log "$cluster: stopping MariaDB (pid $pid)"
      mariadb-admin --defaults-file="$dir/dbms/mysql-client.cnf" shutdown >/dev/null 2>&1 ||
        kill -TERM "$pid" 2>/dev/null || true
      local i
      for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      if kill -0 "$pid" 2>/dev/null; then
        _dbms_log "$cluster: MariaDB did not stop, killing $pid"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$pidf"
  fi
}

dbms_status() {
  local cluster=$1 dir=$2 pg='stopped' my='stopped'
  if [ -s "$dir/dbms/pg/PG_VERSION" ] &&
    _dbms_as_pg "$DBMS_PGBIN/pg_ctl" -D "$dir/dbms/pg" status >/dev/null 2>&1; then
    pg='running'
  fi
  if [ -s "$dir/run/mysql.pid" ] && kill -0 "$(cat "$dir/run/mysql.pid")" 2>/dev/null; then
    my='running'
  fi
  printf '%s: postgresql %s, mariadb %s\n' "$cluster" "$pg" "$my"
  [ "$pg" = running ] && [ "$my" = running ]
}
