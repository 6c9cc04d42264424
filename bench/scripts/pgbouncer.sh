#!/usr/bin/env bash
# PgBouncer in transaction mode for the benchmarks (BENCHMARKS, "Behind
# PgBouncer"), in front of the PostgreSQL on 127.0.0.1:UPSTREAM_PORT:
#   bench/scripts/pgbouncer.sh start DIR PORT POOL_SIZE [UPSTREAM_PORT]
#   bench/scripts/pgbouncer.sh stop DIR
# It runs as the postgres OS user when started by root (PgBouncer refuses root).
set -euo pipefail
action=$1 dir=$2
case "$action" in
  start)
    port=$3 pool=$4 upstream=${5:-5432}
    mkdir -p "$dir"
    chmod 777 "$dir"
    echo '"postgres" ""' > "$dir/users.txt"
    cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$upstream

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- pgbouncer -d "$dir/pgbouncer.ini"
    else
      pgbouncer -d "$dir/pgbouncer.ini"
    fi
    for _ in $(seq 1 50); do
      pg_isready -q -h 127.0.0.1 -p "$port" && exit 0
      sleep 0.1
    done
    echo "pgbouncer did not start: $(cat "$dir/pgbouncer.log")" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" || true
    ;;
esac
