#!/usr/bin/env bash
# scheduler_deadline.sh - the scheduler benchmark (bench/scheduler_deadline.c) on a scratch
# database made on the stack's PostgreSQL with the admin URL (migrated; dropped at the end
# unless --keep) and a private redis-server on port 26621 (stopped by its PID at the end).
#
#   bench/scheduler_deadline.sh [--businesses N] [--stack test|dev] [--keep] [--reuse]
#
# --keep leaves the database (and its 15M-row fixture) for a later --reuse run.
set -euo pipefail
stack=test keep=0 reuse=0 args=()
while [ $# -gt 0 ]; do
    case $1 in
    --businesses) args+=("$1" "$2"); shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --reuse) reuse=1; keep=1; args+=(--reuse); shift ;;
    *) echo "usage: $0 [--businesses N] [--stack NAME] [--keep] [--reuse]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/env.sh" "$stack"
db=${LZ_BENCH_DB:-liangze_bench_scheduler}
rport=${LZ_BENCH_REDIS_PORT:-26621}
admin_base=${LZ_PG_ADMIN_URL%/*}
rdir=$(mktemp -d)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$rdir" \
    --daemonize no >"$rdir/log" 2>&1 &
rpid=$!
cleanup() {
    kill "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    rm -rf "$rdir"
    [ "$keep" = 1 ] || psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db"
}
trap cleanup EXIT
if [ "$reuse" = 0 ]; then
    psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
fi
export LZ_PG_ADMIN_URL="$admin_base/$db"
"$root/build/bin/liangze" migrate >/dev/null
for _ in $(seq 50); do redis-cli -p "$rport" PING >/dev/null 2>&1 && break; sleep 0.1; done
export LZ_PG_URL="$LZ_PG_ADMIN_URL" LZ_REDIS_HOST=127.0.0.1 LZ_REDIS_PORT=$rport
export LZ_LEDGER_GRACE_S=0 LZ_SCHEDULER_SCOPE= LZ_LOG_LEVEL=info
"${LZ_BENCH_BIN:-$root/build/bench/scheduler_deadline}" "${args[@]}"
