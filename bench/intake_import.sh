#!/usr/bin/env bash
# intake_import.sh - benchmark of the registry import path (services/intake/intake_import.c):
# loads N businesses (default 1,000,000) of the generated demo city into a scratch
# database through the same import functions as POST /api/v1/import/* (called directly
# by "liangze seed demo", no broker), then imports the same files again, and prints
# rows/s of each import.  The businesses line is the figure (target >= 50,000 rows/s).
#
#   bench/intake_import.sh [--businesses N] [--cadres N] [--stack test|dev] [--keep]
#
# The scratch database liangze_bench_import is made on the stack's PostgreSQL with
# the admin URL, migrated, and dropped at the end unless --keep.
set -euo pipefail
n=1000000 cadres=2799 stack=test keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --businesses) n=$2; shift 2 ;;
    --cadres) cadres=$2; shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--businesses N] [--cadres N] [--stack NAME] [--keep]" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/deploy/local/env.sh" "$stack"
db=liangze_bench_import
admin_base=${LZ_PG_ADMIN_URL%/*}
psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
[ "$keep" = 1 ] || trap 'psql -qAt "$admin_base/postgres" -c "DROP DATABASE IF EXISTS $db"' EXIT
export LZ_PG_ADMIN_URL="$admin_base/$db" LZ_PG_URL="${LZ_PG_URL%/*}/$db"
"$root/build/bin/liangze" migrate >/dev/null
echo "== import of $n businesses, $cadres cadres into a fresh database ($(nproc) cores)"
"$root/build/bin/liangze" seed demo --businesses "$n" --cadres "$cadres" --no-history
echo "== the same files again (nothing changes)"
"$root/build/bin/liangze" seed demo --businesses "$n" --cadres "$cadres" --no-history
psql -qAt "$LZ_PG_ADMIN_URL" -c "SELECT 'businesses in the database: ' || count(*) || ', max id ' || max(id) FROM businesses"
