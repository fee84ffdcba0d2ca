#!/usr/bin/env bash
# A throw-away Citus cluster on this machine (issue #27): a coordinator and two workers made with
# initdb, on ports of their own, for running gongzhi distributed. It needs Citus installed for the
# local PostgreSQL (citus.so in `pg_config --pkglibdir`: the distribution's package or a build of
# your own); it never touches the machine's own PostgreSQL server. docs/scaling.md §2 has the figures.
#
#   scripts/citus-cluster.sh start             make and start the cluster (idempotent)
#   scripts/citus-cluster.sh test [ARGS]       the whole PostgreSQL half of the suite against it: every
#                                              test database distributed (GONGZHI_TEST_CITUS=1); ARGS
#                                              go to pytest (say -n 2, or a test path)
#   scripts/citus-cluster.sh demo              migrate, distribute (gongzhi citus distribute) and seed
#                                              the demo in database gongzhi_demo, then serve it on
#                                              $CITUS_DEMO_PORT (default 8700) in the foreground
#   scripts/citus-cluster.sh demo-check        with the demo served: answers of several users, one
#                                              tenant isolated to its own shards and moved to the
#                                              other worker while they keep being asked, answers
#                                              compared (python -m tests.citus.demo_check)
#   scripts/citus-cluster.sh psql [NODE] ARGS  psql on coordinator (default), worker1 or worker2
#   scripts/citus-cluster.sh stop              stop the three servers and remove the cluster
#
# Environment: CITUS_DIR (default /tmp/gongzhi-citus), CITUS_PORT (coordinator; workers +1, +2;
# default 9700), PG_BIN (default: the directory of `pg_config --bindir`, else PostgreSQL 15's).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DIR=${CITUS_DIR:-/tmp/gongzhi-citus}
PORT=${CITUS_PORT:-9700}
DEMO_PORT=${CITUS_DEMO_PORT:-8700}
DEMO_DB=gongzhi_demo
PG_CONFIG=${PG_CONFIG:-$(command -v pg_config || echo /usr/lib/postgresql/15/bin/pg_config)}
PG_BIN=${PG_BIN:-$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$PG_BIN/initdb" ] || PG_BIN=/usr/lib/postgresql/15/bin
NODES=(coordinator worker1 worker2)

die() { echo "citus-cluster: $*" >&2; exit 1; }

check_citus() {
  local lib share
  lib=$("$PG_CONFIG" --pkglibdir 2>/dev/null) || die "pg_config not found (PG_CONFIG=$PG_CONFIG)"
  share=$("$PG_CONFIG" --sharedir)
  [ -x "$PG_BIN/initdb" ] || die "initdb not found in $PG_BIN (PG_BIN)"
  if [ ! -f "$lib/citus.so" ] || [ ! -f "$share/extension/citus.control" ]; then
    die "Citus is not installed for PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}') ($lib/citus.so or $share/extension/citus.control missing): install the distribution's package or build citusdata/citus (docs/scaling.md)"
  fi
}

# initdb and pg_ctl refuse to run as root: as the postgres user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

node_port() {
  case "$1" in coordinator) echo "$PORT" ;; worker1) echo $((PORT + 1)) ;; worker2) echo $((PORT + 2)) ;;
  *) die "unknown node $1 (coordinator, worker1, worker2)" ;; esac
}

sql() {  # sql NODE DATABASE STATEMENT...
  local port db
  port=$(node_port "$1"); db=$2; shift 2
  local args=()
  for s in "$@"; do args+=(-c "$s"); done
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" -At "${args[@]}"
}

running() { as_pg "$PG_BIN/pg_ctl" -D "$DIR/$1" status >/dev/null 2>&1; }

cmd_start() {
  check_citus
  if [ "$(id -u)" = 0 ]; then mkdir -p "$DIR"; chown postgres "$DIR"; else mkdir -p "$DIR"; fi
  local fresh=0
  for node in "${NODES[@]}"; do
    local port; port=$(node_port "$node")
    if [ ! -f "$DIR/$node/PG_VERSION" ]; then
      fresh=1
      as_pg "$PG_BIN/initdb" -D "$DIR/$node" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
      # What Citus needs (shared_preload_libraries), what shard moves and tenant isolation need
      # (logical replication: wal_level, slots, senders; Debian's PostgreSQL 15.20 names the output
      # plugins a replication connection may load, and tenant isolation's split uses Citus's own),
      # connections between the nodes, and a
      # throw-away cluster's durability (fsync off: never for data you keep).
      cat >> "$DIR/$node/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
shared_preload_libraries = 'citus'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
output_plugin_libraries = 'pgoutput, test_decoding, citus'
max_connections = 300
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] %d %u '
CONF
    fi
    if ! running "$node"; then
      as_pg "$PG_BIN/pg_ctl" -D "$DIR/$node" -l "$DIR/$node.log" -w -t 60 start >/dev/null
    fi
  done
  if [ "$fresh" = 1 ] || [ -z "$(sql coordinator postgres "SELECT 1 FROM pg_extension WHERE extname = 'citus'")" ]; then
    for node in "${NODES[@]}"; do sql "$node" postgres "CREATE EXTENSION IF NOT EXISTS citus"; done
    sql coordinator postgres "SELECT citus_set_coordinator_host('127.0.0.1', $PORT)" >/dev/null
    sql coordinator postgres "SELECT citus_add_node('127.0.0.1', $((PORT + 1)))" \
                             "SELECT citus_add_node('127.0.0.1', $((PORT + 2)))" >/dev/null
  fi
  echo "Citus $(sql coordinator postgres "SELECT (regexp_match(citus_version(), '^Citus ([^ ]+)'))[1]")" \
       "on $(sql coordinator postgres "SHOW server_version" | awk '{print $1}'):" \
       "coordinator 127.0.0.1:$PORT, workers $(sql coordinator postgres \
       "SELECT string_agg(nodename || ':' || nodeport, ', ' ORDER BY nodeport) FROM pg_dist_node WHERE groupid <> 0")" \
       "(data in $DIR)"
}

cmd_stop() {
  for node in "${NODES[@]}"; do
    if [ -f "$DIR/$node/PG_VERSION" ] && running "$node"; then
      as_pg "$PG_BIN/pg_ctl" -D "$DIR/$node" -m fast -w stop >/dev/null
    fi
  done
  rm -rf "$DIR"
  echo "cluster stopped and removed ($DIR)"
}

cmd_test() {
  cmd_start
  local started; started=$(date +%s)
  local status=0
  GONGZHI_TEST_BACKENDS=postgres GONGZHI_REQUIRE_PG=1 GONGZHI_TEST_CITUS=1 \
    GONGZHI_TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$PORT/postgres" \
    "$PY" -m pytest -q -p no:cacheprovider "$@" || status=$?
  echo "PostgreSQL half on Citus: exit $status after $(( $(date +%s) - started )) s"
  return "$status"
}

demo_env() {
  export GONGZHI_DEMO=1 GONGZHI_APP_DB_ROLE=gongzhi_app
  export GONGZHI_DATABASE_URL="postgresql+asyncpg://gongzhi_app@127.0.0.1:$PORT/$DEMO_DB"
  export GONGZHI_MIGRATION_DATABASE_URL="postgresql+asyncpg://gongzhi_owner@127.0.0.1:$PORT/$DEMO_DB"
}

cmd_demo() {
  cmd_start
  demo_env
  if [ -z "$(sql coordinator postgres "SELECT 1 FROM pg_database WHERE datname = '$DEMO_DB'")" ]; then
    for node in coordinator worker1 worker2; do
      sql "$node" postgres \
        "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongzhi_owner') THEN CREATE ROLE gongzhi_owner LOGIN; END IF; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongzhi_app') THEN CREATE ROLE gongzhi_app LOGIN; END IF; END \$\$" \
        "CREATE DATABASE $DEMO_DB OWNER gongzhi_owner"
    done
  fi
  # The order of docs/scaling.md §2: migrate, then the extension and the workers, then distribute.
  .venv/bin/gongzhi migrate
  if [ -z "$(sql coordinator "$DEMO_DB" "SELECT 1 FROM pg_extension WHERE extname = 'citus'")" ]; then
    for node in worker1 worker2 coordinator; do sql "$node" "$DEMO_DB" "CREATE EXTENSION citus"; done
    sql coordinator "$DEMO_DB" "SELECT citus_set_coordinator_host('127.0.0.1', $PORT)" \
      "SELECT citus_add_node('127.0.0.1', $((PORT + 1)))" "SELECT citus_add_node('127.0.0.1', $((PORT + 2)))" >/dev/null
  fi
  .venv/bin/gongzhi citus distribute
  .venv/bin/gongzhi seed-demo
  # Rows on both workers, and forced row-level security on every shard there (asked on the workers).
  for node in worker1 worker2; do
    echo "$node: $(sql "$node" "$DEMO_DB" "SET citus.show_shards_for_app_name_prefixes = '*'" "SELECT count(*) || ' shards of tenant tables, ' || count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity) || ' with forced RLS; ' || (SELECT count(*) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid) WHERE n.nodeport = $(node_port "$node")) || ' placements' FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' WHERE c.relkind = 'r' AND c.relname ~ '_[0-9]+\$'")"
  done
  echo "serving the demo on http://127.0.0.1:$DEMO_PORT/graphql (Ctrl-C stops; then: $0 demo-check in another shell)"
  exec .venv/bin/gongzhi serve --host 127.0.0.1 --port "$DEMO_PORT"
}

cmd_demo_check() {
  demo_env
  CITUS_PORT=$PORT CITUS_DEMO_PORT=$DEMO_PORT "$PY" -m tests.citus.demo_check "$@"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  test) cmd_test "$@" ;;
  demo) cmd_demo ;;
  demo-check) cmd_demo_check "$@" ;;
  psql) node=coordinator; case "${1:-}" in coordinator|worker1|worker2) node=$1; shift ;; esac
        exec psql -X -h 127.0.0.1 -p "$(node_port "$node")" -U postgres "$@" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
