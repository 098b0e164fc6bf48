#!/usr/bin/env bash
# scorer_score.sh - the scorer benchmark (bench/scorer_score.c) on a scratch database:
# made on the stack's PostgreSQL with the admin URL, migrated, dropped at the end unless --keep.
#
#   bench/scorer_score.sh [--scale F] [--businesses N] [--cadres N] [--days N] [--batch N]
#                         [--stack test|dev] [--keep]
#
# Default: the issue's full scale (1,000,000 businesses, 100,000 cadres, 10.5M events);
# --scale 0.01 for a small run.
set -euo pipefail
stack=test keep=0 args=()
while [ $# -gt 0 ]; do
    case $1 in
    --scale | --businesses | --cadres | --days | --batch) args+=("$1" "$2"); shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--scale F] [--businesses N] [--cadres N] [--days N] [--batch N] [--stack NAME] [--keep]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/env.sh" "$stack"
db=liangze_bench_scorer
admin_base=${LZ_PG_ADMIN_URL%/*}
psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
[ "$keep" = 1 ] || trap 'psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db"' EXIT
export LZ_PG_ADMIN_URL="$admin_base/$db"
"$root/build/bin/liangze" migrate >/dev/null
echo "($(nproc) cores; load at start: $(uptime))"
LZ_PG_URL="$LZ_PG_ADMIN_URL" "$root/build/bench/scorer_score" "${args[@]}"
echo "(load at end: $(uptime))"
