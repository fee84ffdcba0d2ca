#!/usr/bin/env bash
# The PostgreSQL half of the suite with the app's connections through a real pgbouncer in
# transaction mode (issue #10). Admin, migrations and LISTEN stay direct (tests/conftest.py,
# GONGZHI_TEST_PGBOUNCER). pgbouncer runs from a temporary directory on a free port and is stopped
# at the end; it needs no system configuration. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
ADMIN_URL="${GONGZHI_TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
# host and port of the PostgreSQL server behind pgbouncer, from the admin DSN
read -r PGHOST PGPORT < <("$PY" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 5432)' "$ADMIN_URL")

if ! command -v pgbouncer >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "pgbouncer not installed: apt-get install pgbouncer"
    # one apt at a time: .ci/run installs the browser side by side with this run (the same lock file)
    (flock 9; apt-get install -y -q pgbouncer || { apt-get update -q && apt-get install -y -q pgbouncer; }) \
      >/dev/null 9>"${TMPDIR:-/tmp}/gongzhi-apt.lock"
    # the package starts its own service on 6432; ours does not need it
    (service pgbouncer stop || true) >/dev/null 2>&1
  else
    echo "pgbouncer is not installed (Debian: apt-get install pgbouncer)" >&2
    exit 1
  fi
fi

DIR=$(mktemp -d /tmp/gongzhi-pgbouncer.XXXXXX)
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# trust: the server behind (this machine's test PostgreSQL) trusts local connections; a production
# setup uses auth_type = scram-sha-256 with auth_query (docs/operations.md).
cat > "$DIR/pgbouncer.ini" <<INI
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits
admin_users = postgres
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI
cat > "$DIR/userlist.txt" <<USERS
"gongzhi_test_app" ""
"gongzhi_test_owner" ""
"postgres" ""
USERS
RUNAS=()
if [ "$(id -u)" = 0 ]; then  # pgbouncer refuses to run as root
  chown -R postgres "$DIR"
  RUNAS=(-u postgres)
fi
pgbouncer -d "${RUNAS[@]}" "$DIR/pgbouncer.ini"
stop() {
  if [ -f "$DIR/pgbouncer.pid" ]; then kill "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true; fi
  sleep 0.2
  rm -rf "$DIR"
}
trap stop EXIT
# stopped by a signal (CI stops this run when a static check fails): exit, so the EXIT trap stops pgbouncer
trap 'exit 143' TERM
trap 'exit 130' INT
for _ in $(seq 1 50); do
  "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$PORT" 2>/dev/null && break
  sleep 0.1
done
echo "pgbouncer $(pgbouncer --version | head -1 | awk '{print $2}') on 127.0.0.1:$PORT (transaction mode) -> $PGHOST:$PGPORT"
status=0
GONGZHI_TEST_BACKENDS=postgres GONGZHI_TEST_PGBOUNCER="127.0.0.1:$PORT" "$PY" -m pytest -q -p no:cacheprovider "$@" || status=$?
# Proof the app's transactions went through pgbouncer: its own count of them, from its admin console.
xacts=$(psql -h 127.0.0.1 -p "$PORT" -U postgres -d pgbouncer -At -c "SHOW STATS" 2>/dev/null \
        | awk -F'|' '$1 ~ /^gongzhi_test_/ {n += $2} END {print n + 0}')
echo "pgbouncer pooled $xacts transactions of the test databases"
if [ "$status" = 0 ] && [ "$xacts" -eq 0 ]; then echo "no transaction went through pgbouncer" >&2; exit 1; fi
exit "$status"
