#!/usr/bin/env bash
# scorer_score.sh - the scorer benchmark (bench/scorer_score.c) on a scratch database:
# made on the stack's PostgreSQL with the admin URL, migrated, dropped at the end unless --keep.
#
#   bench/scorer_score.sh [--businesses N] [--cadres N] [--days N] [--stack test|dev] [--keep]
set -euo pipefail
stack=test keep=0 args=()
while [ $# -gt 0 ]; do
    case $1 in
    --businesses | --cadres | --days) args+=("$1" "$2"); shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--businesses N] [--cadres N] [--days N] [--stack NAME] [--keep]" >&2; exit 2 ;;
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
echo "($(nproc) cores)"
LZ_PG_URL="$LZ_PG_ADMIN_URL" "$root/build/bench/scorer_score" "${args[@]}"
