#!/usr/bin/env bash
# stack.sh - a private PostgreSQL 15 and Redis 7 for one local stack.
#
#   stack.sh start NAME    start both (harmless when already running)
#   stack.sh stop NAME     stop exactly the processes this stack started
#   stack.sh status NAME   exit 0 when both run
#   stack.sh wipe NAME     stop and delete the stack's data
#
# Data lives under .run/NAME/; both listen on 127.0.0.1 only.  PostgreSQL
# refuses to run as root, so as root it runs as the postgres user; when that
# user cannot reach the checkout (a home folder closed to others), its data
# directory lives under /var/tmp and .run/NAME/pg links to it.
set -euo pipefail
cmd=${1:?usage: stack.sh start|stop|status|wipe NAME}
. "$(dirname "$0")/env.sh" "${2:?stack name}"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] || { echo "stack: postgresql is not installed (make deps)" >&2; exit 1; }
mkdir -p "$lz_dir"

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_dir() {
    if [ -L "$lz_dir/pg" ] || [ -d "$lz_dir/pg" ]; then
        readlink -f "$lz_dir/pg"
        return
    fi
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$lz_dir"; then
        local alt
        alt="/var/tmp/liangze-$(echo "$lz_root" | md5sum | cut -c1-8)/$lz_stack/pg"
        mkdir -p "$(dirname "$alt")"
        chmod 755 "$(dirname "$(dirname "$alt")")" "$(dirname "$alt")"
        ln -sfn "$alt" "$lz_dir/pg"
        echo "$alt"
    else
        echo "$lz_dir/pg"
    fi
}

pg_running() {
    local d=$1
    [ -f "$d/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$d" status >/dev/null 2>&1
}

redis_pid() {
    local f="$lz_dir/redis/redis.pid"
    [ -f "$f" ] || return 1
    local pid
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null && grep -q redis "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

start_pg() {
    local d
    d=$(pg_dir)
    if [ ! -f "$d/PG_VERSION" ]; then
        mkdir -p "$d"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$d"
        chmod 700 "$d"
        as_pg "$pgbin/initdb" -D "$d" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$lz_dir/initdb.log" 2>&1 ||
            { cat "$lz_dir/initdb.log" >&2; exit 1; }
        as_pg tee -a "$d/postgresql.conf" >/dev/null <<CONF
# liangze local stack
listen_addresses = '127.0.0.1'
port = $LZ_PG_PORT
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
synchronous_commit = on
fsync = on
max_wal_size = 2GB
log_min_messages = warning
log_min_error_statement = panic
timezone = 'Asia/Shanghai'
CONF
    fi
    if ! pg_running "$d"; then
        as_pg "$pgbin/pg_ctl" -D "$d" -l "$d/server.log" -w -t 60 -o "-p $LZ_PG_PORT" start >/dev/null ||
            { tail -n 20 "$d/server.log" >&2; exit 1; }
    fi
    local i
    for i in $(seq 1 50); do
        psql -qAt "postgresql://postgres@127.0.0.1:$LZ_PG_PORT/postgres" -c 'select 1' >/dev/null 2>&1 && break
        sleep 0.2
    done
    if ! psql -qAt "postgresql://postgres@127.0.0.1:$LZ_PG_PORT/postgres" \
        -c "select 1 from pg_database where datname = 'liangze'" | grep -q 1; then
        psql -q "postgresql://postgres@127.0.0.1:$LZ_PG_PORT/postgres" -c 'create database liangze' >/dev/null
    fi
}

start_redis() {
    mkdir -p "$lz_dir/redis"
    redis_pid >/dev/null && return 0
    redis-server --port "$LZ_REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --pidfile "$lz_dir/redis/redis.pid" --logfile "$lz_dir/redis/redis.log" \
        --dir "$lz_dir/redis" --save '' --appendonly yes --appendfsync everysec >/dev/null
    local i
    for i in $(seq 1 50); do
        redis-cli -p "$LZ_REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    echo "stack: redis did not start, see $lz_dir/redis/redis.log" >&2
    exit 1
}

stop_pg() {
    local d
    d=$(pg_dir)
    if pg_running "$d"; then
        as_pg "$pgbin/pg_ctl" -D "$d" -m fast -w stop >/dev/null
    fi
}

stop_redis() {
    local pid
    pid=$(redis_pid) || return 0
    kill "$pid"
    local i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
start)
    start_pg
    start_redis
    ;;
stop)
    stop_redis
    stop_pg
    ;;
status)
    pg_running "$(pg_dir)" && redis_pid >/dev/null
    ;;
wipe)
    stop_redis
    stop_pg
    d=$(pg_dir)
    rm -rf "$d" "$lz_dir/pg" "$lz_dir/redis"
    ;;
*)
    echo "usage: stack.sh start|stop|status|wipe NAME" >&2
    exit 2
    ;;
esac
