#!/usr/bin/env bash
# sampler_plan.sh - the sampler's database-side benchmark (bench/sampler_plan.c): a plan of
# 1,000,000 businesses in 15,000 strata built and verified through the service's code, on a
# scratch database made on the stack's PostgreSQL with the admin URL (migrated; dropped at
# the end unless --keep).
#
#   bench/sampler_plan.sh [--businesses N] [--stack test|dev] [--keep] [--reuse] [--explain]
#
# --keep leaves the database (and its fixture) for a later --reuse run.
set -euo pipefail
stack=test keep=0 reuse=0 args=()
while [ $# -gt 0 ]; do
    case $1 in
    --businesses) args+=("$1" "$2"); shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --reuse) reuse=1; keep=1; args+=(--reuse); shift ;;
    --explain) args+=(--explain); shift ;;
    *) echo "usage: $0 [--businesses N] [--stack NAME] [--keep] [--reuse] [--explain]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/env.sh" "$stack"
db=${LZ_BENCH_DB:-liangze_bench_sampler}
admin_base=${LZ_PG_ADMIN_URL%/*}
cleanup() {
    [ "$keep" = 1 ] || psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db"
}
trap cleanup EXIT
if [ "$reuse" = 0 ]; then
    psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
fi
export LZ_PG_ADMIN_URL="$admin_base/$db"
"$root/build/bin/liangze" migrate >/dev/null
export LZ_PG_URL="$LZ_PG_ADMIN_URL" LZ_LOG_LEVEL=warn
echo "load: $(uptime)"
"${LZ_BENCH_BIN:-$root/build/bench/sampler_plan}" "${args[@]}"
echo "load: $(uptime)"
