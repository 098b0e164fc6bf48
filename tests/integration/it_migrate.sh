#!/usr/bin/env bash
# it_migrate.sh - migrations: in order, once, all-or-nothing per file, append-only audit log.
. "$(dirname "$0")/lib.sh"
db="lz_migrate_test_$$"
admin="postgresql://postgres@127.0.0.1:$LZ_PG_PORT"
tmp=$(mktemp -d)
cleanup() {
    psql -q "$admin/postgres" -c "drop database if exists $db" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
psql -q "$admin/postgres" -c "create database $db" >/dev/null
cp "$LZ_ROOT"/db/migrations/*.sql "$tmp/"
export LZ_PG_ADMIN_URL="$admin/$db" LZ_MIGRATIONS_DIR="$tmp"
q() { psql -qAt "$admin/$db" -c "$1"; }

out=$(liangze migrate 2>&1)
check "first run applies every migration" grep -q "migrations applied" <<<"$out"
n=$(ls "$tmp"/*.sql | wc -l)
is "schema_migrations records each file" "$n" "$(q 'select count(*) from schema_migrations')"
is "second run does nothing" "database is up to date" "$(liangze migrate 2>&1)"

# a broken migration: its first statement succeeds, its second fails
cat >"$tmp/9001_broken.sql" <<'SQL'
CREATE TABLE migrate_half (x int);
INSERT INTO migrate_half VALUES (1);
SELECT no_such_function();
SQL
out=$(liangze migrate 2>&1)
rc=$?
check "a failing migration fails the run" [ "$rc" -ne 0 ]
check "the failure names the file" grep -q "9001_broken.sql failed" <<<"$out"
is "nothing of the broken file stays" "" "$(q "select to_regclass('migrate_half')")"
is "the broken file is not recorded" "0" "$(q 'select count(*) from schema_migrations where version = 9001')"

# fixed, it applies; migrations after a gap in numbers still run in order
cat >"$tmp/9001_broken.sql" <<'SQL'
CREATE TABLE migrate_half (x int);
SQL
cat >"$tmp/9000_first.sql" <<'SQL'
CREATE TABLE migrate_first (x int);
SQL
out=$(liangze migrate 2>&1)
check "after the fix both pending files apply" grep -q "2 migrations applied" <<<"$out"
is "they applied in number order" "9000 9001" "$(q 'select string_agg(version::text, $$ $$ order by applied_at, version) from schema_migrations where version >= 9000')"

# two runs at once: the advisory lock makes one wait, each file once
cat >"$tmp/9002_slow.sql" <<'SQL'
SELECT pg_sleep(1);
CREATE TABLE migrate_slow (x int);
SQL
liangze migrate >"$tmp/a.out" 2>&1 &
a=$!
liangze migrate >"$tmp/b.out" 2>&1 &
b=$!
wait $a; ra=$?
wait $b; rb=$?
check "two concurrent runs both succeed" [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]
is "the slow file is applied once" "1" "$(q 'select count(*) from schema_migrations where version = 9002')"

# audit log is append-only for the service role
app="postgresql://lz_app@127.0.0.1:$LZ_PG_PORT/$db"
check "the service role can append to the audit log" \
    psql -q "$app" -c "insert into audit_log (actor_role, action) values ('system', 'test')"
out=$(psql -q "$app" -c "update audit_log set action = 'x'" 2>&1)
check "the service role cannot update the audit log" grep -q "permission denied" <<<"$out"
out=$(psql -q "$app" -c "delete from audit_log" 2>&1)
check "the service role cannot delete from the audit log" grep -q "permission denied" <<<"$out"
out=$(psql -q "$app" -c "create table sneaky (x int)" 2>&1)
check "the service role cannot change the schema" grep -q "permission denied" <<<"$out"
is "tokens are stored as 32-byte hashes only" "token_hash bytea" \
    "$(q "select string_agg(column_name || ' ' || data_type, ',') from information_schema.columns where table_name = 'api_tokens' and column_name like 'token%'")"
check "partitions exist ahead for the audit log" [ "$(q "select count(*) from pg_inherits where inhparent = 'audit_log'::regclass")" -ge 4 ]
tap_done
