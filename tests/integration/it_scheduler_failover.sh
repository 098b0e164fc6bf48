#!/usr/bin/env bash
# it_scheduler_failover.sh - one active scheduler per scope, a standby that takes over, and a
# kill -9 in the middle of a large deadline: the result equals an uninterrupted run (same
# tasks, same notification requests, none twice).
#
# Fixture (made again on every run): two districts of the fake city 972000000000 with N
# identical active businesses each and no ledger delivered: 972002 (the one killed) and 972003
# (the reference, swept without interruption).  The schedulers sweep on their own timer with
# the clock moved (LZ_CLOCK_OFFSET_S) just past day D's deadline, D 30 days ahead, from a
# watermark set an hour before it, so exactly D's deadline and its first step are due (the first
# step fires in the deadline's own transaction: the kill lands inside it).
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18220 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25620 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
trap lz_stop_all EXIT
pidf=$(mktemp)
start() { lz_start "$@" >"$pidf"; pid=$(cat "$pidf"); }
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
N=${N:-20000}
D=$(TZ=Asia/Shanghai date -d '+30 days' +%Y-%m-%d)
T0=$(TZ=Asia/Shanghai date -d "$D +1 day" +%s)

fixture() { # fixture DISTRICT(6 digits)
    local d=$1
    psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<SQL
BEGIN;
DELETE FROM letters WHERE task_id IN (SELECT id FROM tasks WHERE region_code LIKE '$d%');
DELETE FROM outbox WHERE topic = 'notify.request' AND key IN (SELECT id::text FROM tasks WHERE region_code LIKE '$d%');
DELETE FROM tasks WHERE region_code LIKE '$d%';
DELETE FROM ledger_stats WHERE region_code LIKE '$d%';
DELETE FROM scheduler_deadlines WHERE scope = '$d';
DELETE FROM scheduler_watermark WHERE scope = '$d';
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '$d%');
DELETE FROM cadres WHERE region_code LIKE '$d%';
DELETE FROM businesses WHERE region_code LIKE '$d%';
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('970000000000', '测试省', 'province', NULL),
  ('972000000000', '调测市', 'city', '970000000000'),
  ('${d}000000', '区$d', 'district', '972000000000'),
  ('${d}001000', '街道$d', 'township', '${d}000000'),
  ('${d}001001', '社区$d', 'community', '${d}001000')
ON CONFLICT (code) DO NOTHING;
INSERT INTO cadres (phone, name, level, region_code) VALUES ('19${d}901', '村干部', 'village', '${d}001001');
INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, head_name, head_phone,
                        officer_name, officer_phone, created_at)
SELECT 'ITSF-$d-' || i, '91' || lpad(i::text, 16, '0'), '故障切换' || i || '号', 'catering', 'A', '${d}001001',
       '周', '19' || lpad(i::text, 9, '0'), '吴', '18' || lpad(i::text, 9, '0'), now() - interval '1 day'
FROM generate_series(1, $N) i;
INSERT INTO assignments (cadre_id, business_id, region_code)
SELECT (SELECT id FROM cadres WHERE phone = '19${d}901'), id, region_code FROM businesses WHERE region_code LIKE '$d%';
INSERT INTO scheduler_watermark (scope, swept_to) VALUES ('$d', to_timestamp($T0 - 3600));
COMMIT;
SQL
}
fixture 972002 && fixture 972003 && ok "the fixture is inserted ($N businesses twice)" ||
    { not_ok "the fixture is inserted"; tap_done; exit 1; }
redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" DEL "lz:done:daily:$D" >/dev/null 2>&1 || true

tasks() { q "SELECT count(*) FROM tasks WHERE region_code LIKE '$1%' AND period = '$D'"; }
stepped() { q "SELECT count(*) FROM tasks WHERE region_code LIKE '$1%' AND period = '$D' AND step >= 1"; }
notes() { q "SELECT count(*) || ' ' || count(DISTINCT payload) FROM outbox WHERE topic = 'notify.request'
             AND key IN (SELECT id::text FROM tasks WHERE region_code LIKE '$1%' AND period = '$D')"; }
lease_holders() { q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 2020
                     AND objid = hashtext('$1')::oid AND granted"; }
wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}
done_all() { [ "$(stepped "$1")" = "$N" ] && [ "$(notes "$1")" = "$N $N" ]; }

start broker
off=$((T0 + 30 - $(date +%s)))
common=(LZ_CLOCK_OFFSET_S=$off LZ_SCHEDULER_SWEEP_MS=1000 LZ_SCHEDULER_LEASE_MS=500 LZ_SCHEDULER_BATCH=500)

# --- the reference: one scheduler, never interrupted -------------------------------------------
start scheduler LZ_SCHEDULER_SCOPE=972003 "${common[@]}"
ref=$pid
check "reference: the deadline and its first step complete" wait_for 120 done_all 972003
lz_stop "$ref"

# --- two schedulers of one scope: one active, the other waits ------------------------------
start scheduler LZ_SCHEDULER_SCOPE=972002 "${common[@]}"
a=$pid
check "the first scheduler takes the lease" wait_for 20 bash -c "[ \"\$(psql -qAt '$LZ_PG_ADMIN_URL' -c \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 2020 AND objid = hashtext('972002')::oid AND granted\")\" = 1 ]"
start scheduler LZ_SCHEDULER_SCOPE=972002 "${common[@]}"
b=$pid
# kill -9 the active one in the middle of the big deadline: its transaction (tasks, their first
# step's requests, statistics) has written rows into tasks and not committed yet
busy() { [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'tasks' AND l.mode = 'RowExclusiveLock' AND l.granted")" -gt 0 ]; }
wait_for 120 busy
is "with two schedulers running, only one holds the lease" 1 "$(lease_holders 972002)"
kill -9 "$a"
before=$(stepped 972002)
echo "# killed the active scheduler with $before of $N tasks committed"
check "the kill landed inside the deadline's transaction" [ "$before" -lt "$N" ]
check "never two lease holders, even while the lease changes hands" [ "$(lease_holders 972002)" -le 1 ]
check "the standby takes over and finishes" wait_for 120 done_all 972002
is "same tasks as the uninterrupted run" "$(tasks 972003)" "$(tasks 972002)"
is "same first steps" "$(stepped 972003)" "$(stepped 972002)"
is "same notification requests, none twice" "$(notes 972003)" "$(notes 972002)"
is "no task opened twice" 0 "$(q "SELECT count(*) - count(DISTINCT business_id) FROM tasks
                                  WHERE region_code LIKE '972002%' AND period = '$D'")"
is "same statistics" \
    "$(q "SELECT owed || ' ' || missing FROM ledger_stats WHERE region_code = '972003000000' AND kind = 'daily' AND period = '$D'")" \
    "$(q "SELECT owed || ' ' || missing FROM ledger_stats WHERE region_code = '972002000000' AND kind = 'daily' AND period = '$D'")"
lz_stop "$b"
tap_done
