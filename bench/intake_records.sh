#!/usr/bin/env bash
# intake_records.sh - the issue's intake benchmark, end to end, on scratch resources:
#   1. a scratch database liangze_bench_records on the stack's PostgreSQL (made,
#      migrated, dropped at the end) and a scratch redis-server on port 26611 (started
#      and stopped here), so nothing of the shared stack is touched;
#   2. a province-sized registry (default 1,000,000 businesses) through the import
#      path (`liangze seed demo --no-history`), printing each import's rate;
#   3. lz-broker on 25611, WORKERS lz-intake workers (default 1: on 2 cores one worker
#      with groups of up to 64 does more than two with half-size groups), lz-gateway on
#      18211 with one HTTP thread per client;
#   4. build/bench/intake_records: COUNT daily records through the broker (64 clients
#      whose requests share one socket, as the gateway sends them; once more with a
#      socket per client), COUNT through the gateway (64 threads), and two plain libpq
#      baselines, 100 submissions per transaction: every
#      row intake commits for a submission (record, problem, write_requests, outbox,
#      audit; the apples-to-apples one) and the records and problems alone; broker and
#      plain alternate for ROUNDS rounds (default 2) on new businesses, the database
#      settling before each; records/s, p50/p99 per run, medians and both ratios; the
#      plain client uses as many connections as there are intake workers;
#   5. a check that PostgreSQL holds every acknowledged record and the Redis bitmap
#      has their bits.
#
#   bench/intake_records.sh [--businesses N] [--count N] [--clients N] [--workers N]
#                           [--http-threads N] [--intake-log FILE] [--no-http] [--stack test]
#                           [--keep] [--reuse] [--rounds N]
#
# --keep copies the loaded registry into the template database liangze_bench_records_tpl
# (left in place); --reuse starts from that copy instead of importing again (no import
# rate is printed then).
# --intake-log FILE: the intake workers log at debug level into FILE (each batch's
# size and check/write/mark times), for profiling.  --no-http skips the gateway run.
set -euo pipefail
n=1000000 count=40000 clients=64 workers=1 stack=test http_threads='' intake_log='' no_http=0
keep=0 reuse=0 rounds=2
while [ $# -gt 0 ]; do
    case $1 in
    --businesses) n=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --http-threads) http_threads=$2; shift 2 ;;
    --intake-log) intake_log=$2; shift 2 ;;
    --no-http) no_http=1; shift ;;
    --keep) keep=1; shift ;;
    --reuse) reuse=1; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    *) echo "usage: $0 [--businesses N] [--count N] [--clients N] [--workers N] [--http-threads N] [--intake-log FILE] [--no-http] [--stack NAME] [--keep] [--reuse] [--rounds N]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/env.sh" "$stack"
cli=${LZ_CLI:-$root/build/bin/liangze}
db=liangze_bench_records tpl=liangze_bench_records_tpl
rport=26611 bport=25611 hport=18211
admin_base=${LZ_PG_ADMIN_URL%/*}
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db"
if [ "$reuse" = 1 ] && [ -z "$(psql -qAt "$admin_base/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$tpl'")" ]; then
    echo "no $tpl to reuse: run with --keep first" >&2
    exit 1
fi
if [ "$reuse" = 1 ]; then
    psql -qAt "$admin_base/postgres" -c "CREATE DATABASE $db TEMPLATE $tpl"
else
    psql -qAt "$admin_base/postgres" -c "CREATE DATABASE $db"
fi
export LZ_PG_ADMIN_URL="$admin_base/$db" LZ_PG_URL="${LZ_PG_URL%/*}/$db"
export LZ_REDIS_PORT=$rport LZ_BROKER="tcp://127.0.0.1:$bport" LZ_LOG_LEVEL=warn
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null &
pids+=($!)
if [ "$reuse" = 1 ]; then
    echo "== registry: reused from $tpl ($(psql -qAt "$LZ_PG_ADMIN_URL" -c 'SELECT count(*) FROM businesses') businesses, $(nproc) cores)"
else
    "$cli" migrate >/dev/null
    echo "== registry: $n businesses through the import path ($(nproc) cores)"
    "$cli" seed demo --businesses "$n" --no-history
fi
if [ "$keep" = 1 ]; then
    psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $tpl" -c "CREATE DATABASE $tpl TEMPLATE $db"
fi
LZ_BROKER_BIND="tcp://127.0.0.1:$bport" "$root/build/bin/lz-broker" &
pids+=($!)
for i in $(seq 1 "$workers"); do
    if [ -n "$intake_log" ]; then
        LZ_LOG_LEVEL=debug "$root/build/bin/lz-intake" 2>>"$intake_log" &
    else
        "$root/build/bin/lz-intake" &
    fi
    pids+=($!)
done
LZ_HTTP_PORT=$hport LZ_HTTP_THREADS=${http_threads:-$clients} "$root/build/bin/lz-gateway" &
pids+=($!)
for i in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/healthz")" = 200 ] && break
    sleep 0.1
done
sleep 1
token=$("$cli" token create --role admin --name bench)
if [ "$no_http" = 1 ]; then token=; fi
echo "== submissions: $count per mode, $clients clients; load: $(cut -d" " -f1-3 /proc/loadavg)"
LZ_BENCH_BROKER="tcp://127.0.0.1:$bport" LZ_BENCH_HTTP="http://127.0.0.1:$hport" \
    LZ_BENCH_TOKEN="$token" LZ_BENCH_COUNT=$count LZ_BENCH_CLIENTS=$clients \
    LZ_BENCH_PLAIN_CONNS=$workers LZ_BENCH_ROUNDS=$rounds \
    "$root/build/bench/intake_records" || echo "(the benchmark reported errors)"
today=$(TZ=Asia/Shanghai date +%F)
echo "== durability: records of $today in PostgreSQL by writer, bits in the Redis bitmap"
psql -qAt "$LZ_PG_ADMIN_URL" -c "SELECT split_part(request_id, '-', 2) AS mode, count(*) FROM records
    WHERE period = '$today' GROUP BY 1 ORDER BY 1"
echo "bitmap lz:done:daily:$today: $(redis-cli -p $rport BITCOUNT "lz:done:daily:$today") bits (broker + http)"
