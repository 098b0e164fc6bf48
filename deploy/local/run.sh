#!/usr/bin/env bash
# run.sh - the local stack with every service: what "make run" and "make stop" do.
#
#   run.sh dev          start PostgreSQL, Redis, migrate, load the demo city, start the
#                       broker, every service and the gateway; print where the API is
#   run.sh dev stop     stop exactly what run.sh started (by PID), then the stack
#
# Addresses and the admin token are written to .run/dev/api.url and
# .run/dev/admin.token for scripts.  Logs go to .run/dev/logs/.
set -euo pipefail
. "$(dirname "$0")/env.sh" "${1:-dev}"
action=${2:-start}
piddir="$lz_dir/pids"
logdir="$lz_dir/logs"
mkdir -p "$piddir" "$logdir"
cd "$lz_root"

stop_services() {
    local f pid name
    for f in "$piddir"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        name=$(basename "$f" .pid)
        if grep -q "lz-" "/proc/$pid/cmdline" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            echo "stopped $name ($pid)"
        fi
        rm -f "$f"
    done
}

start_one() { # start_one NAME BINARY
    local f="$piddir/$1.pid"
    if [ -f "$f" ] && grep -q "lz-" "/proc/$(cat "$f")/cmdline" 2>/dev/null; then
        return 0
    fi
    setsid "$2" >>"$logdir/$1.log" 2>&1 </dev/null &
    echo $! >"$f"
}

if [ "$action" = stop ]; then
    stop_services
    deploy/local/stack.sh stop "$lz_stack"
    exit 0
fi

deploy/local/stack.sh start "$lz_stack"
liangze migrate
liangze seed demo

start_one broker build/bin/lz-broker
for bin in build/bin/lz-*; do
    name=$(basename "$bin")
    name=${name#lz-}
    case "$name" in broker | gateway) continue ;; esac
    start_one "$name" "$bin"
done
start_one gateway build/bin/lz-gateway

api="http://127.0.0.1:$LZ_HTTP_PORT"
for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/healthz")" = 200 ] && break
    sleep 0.1
done

token_file="$lz_dir/admin.token"
if [ ! -s "$token_file" ] ||
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$token_file")" \
        "$api/api/v1/regions/340700000000")" = 401 ]; then
    (umask 077 && liangze token create --role admin --name "make run admin" >"$token_file")
fi
echo "$api" >"$lz_dir/api.url"

cat <<TXT

liangze is running (stack "$lz_stack"):
  API        $api/api/v1   (health: $api/healthz, metrics: $api/metrics)
  dashboard  $api/   (sign in with the admin token below, or a regulator token)
  admin token  $(cat "$token_file")   (also in $token_file)
  logs       $logdir/
  try:  curl -H "Authorization: Bearer \$(cat $token_file)" $api/api/v1/regions/340700000000
  stop: make stop
TXT
