#!/usr/bin/env bash
# A small PostgreSQL primary and a streaming replica of it, each on its own
# port in DIR, for the read-replica tests and benchmark: the replica applies
# each commit APPLY_DELAY_MS after the primary made it (recovery_min_apply_delay),
# so its lag is real and predictable. Runs the servers as the `postgres` OS
# user when started as root (PostgreSQL refuses to run as root).
#
#   cluster.sh start DIR PRIMARY_PORT REPLICA_PORT [APPLY_DELAY_MS]
#   cluster.sh stop-replica DIR      # stop the replica only (fast shutdown)
#   cluster.sh crash-replica DIR     # stop it as a crash would (immediate)
#   cluster.sh add-replica DIR PORT  # a second replica (no apply delay)
#   cluster.sh start-replica DIR     # start it again; it catches up by itself
#   cluster.sh stop DIR              # stop both and remove DIR
set -euo pipefail

command=${1:?usage: cluster.sh start|stop|add-replica|stop-replica|crash-replica|start-replica DIR ...}
dir=${2:?the cluster directory}

bindir=""
if command -v pg_config >/dev/null 2>&1; then
  bindir=$(pg_config --bindir)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_basebackup" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
[ -x "$bindir/initdb" ] || { echo "cluster.sh: PostgreSQL's server binaries (initdb, pg_basebackup) are missing" >&2; exit 2; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
  start)
    primary_port=${3:?the port of the primary}
    replica_port=${4:?the port of the replica}
    delay_ms=${5:-300}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_pg "$bindir/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
    cat >>"$dir/primary/postgresql.conf" <<CONF
port = $primary_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 4
wal_keep_size = '256MB'
max_connections = 200
shared_buffers = '64MB'
fsync = off
full_page_writes = off
CONF
    as_pg "$bindir/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w -t 60 start >/dev/null
    as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -c fast \
      -D "$dir/replica" -R -X stream >/dev/null
    cat >>"$dir/replica/postgresql.conf" <<CONF
port = $replica_port
recovery_min_apply_delay = '${delay_ms}ms'
hot_standby = on
hot_standby_feedback = on
CONF
    as_pg "$bindir/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w -t 60 start >/dev/null
    ;;
  add-replica)
    primary_port=$(sed -n 's/^port = //p' "$dir/primary/postgresql.conf" | tail -1)
    port=${3:?the port of the second replica}
    as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -c fast \
      -D "$dir/replica2" -R -X stream >/dev/null
    cat >>"$dir/replica2/postgresql.conf" <<CONF
port = $port
recovery_min_apply_delay = 0
hot_standby = on
CONF
    as_pg "$bindir/pg_ctl" -D "$dir/replica2" -l "$dir/replica2.log" -w -t 60 start >/dev/null
    ;;
  stop-replica)
    as_pg "$bindir/pg_ctl" -D "$dir/replica" -m fast -w stop >/dev/null
    ;;
  crash-replica)
    as_pg "$bindir/pg_ctl" -D "$dir/replica" -m immediate -w stop >/dev/null
    ;;
  start-replica)
    as_pg "$bindir/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w -t 60 start >/dev/null
    ;;
  stop)
    for node in replica2 replica primary; do
      if [ -f "$dir/$node/postmaster.pid" ]; then
        as_pg "$bindir/pg_ctl" -D "$dir/$node" -m immediate -w stop >/dev/null 2>&1 || true
      fi
    done
    rm -rf "$dir"
    ;;
  *)
    echo "cluster.sh: unknown command $command" >&2
    exit 2
    ;;
esac
