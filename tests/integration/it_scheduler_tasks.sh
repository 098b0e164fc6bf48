#!/usr/bin/env bash
# it_scheduler_tasks.sh - the scheduler's other tasks, driven through time with POST
# /api/v1/admin/sweep: owed visits per assigned (cadre, business) and period by cadre level
# (preset "national": village monthly, township quarterly), a visit in the period closes the
# slot, a missing one becomes a task at the period end and climbs the visit ladder (cadre, then
# a 提醒书 at +7 days), a late visit closes it and no later step fires; an active business
# without a cadre for LZ_UNASSIGNED_GRACE_DAYS (9) becomes one task for its township (not two),
# closed once it gets a cadre (the check runs with each daily deadline; b3 became owed a day
# before M's end, so its task starts at step 1); an unanswered warning (issued through the
# notifier) becomes a task at its rectify-by time, an answered one does not, and the reply
# closes the task; the scorer's score.grade_changed moves which level owes a business its visits
# (A/B village, C township, D county) from the next period.
#
# Fixture (made again on every run): district 972004 of the fake city 972000000000, township
# 001, community 001.  Month M is the first month at least 40 days ahead whose end is not a
# quarter's end (so township cadres owe nothing at it); ME is M's end (the visit deadline and a
# daily ledger deadline).  Intake runs with LZ_CLOCK_OFFSET_S to accept visits "then".
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18221 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25621 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
trap lz_stop_all EXIT
pidf=$(mktemp)
start() { lz_start "$@" >"$pidf"; pid=$(cat "$pidf"); }
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
run=$$-$(date +%s)
SCOPE=972004
# the notifier writes warnings' own SMS requests to a topic of this run's own
export LZ_NOTIFY_TOPIC="itschedtasks.r${run//-/_}" LZ_NOTIFY_KEY_PREFIX="lz:itschedtasks:$run"

m=$(TZ=Asia/Shanghai date -d '+40 days' +%Y-%m-01)
while [ $((10#$(date -d "$m" +%m) % 3)) = 0 ]; do m=$(date -d "$m +1 month" +%Y-%m-01); done
M=${m:0:7}
ME=$(TZ=Asia/Shanghai date -d "$m +1 month" +%s) # M's end: the 1st of the next month, 00:00
at() { TZ=Asia/Shanghai date -d "@$1" '+%Y-%m-%dT%H:%M:%S+08:00'; }

fixture=$(psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<SQL
BEGIN;
DELETE FROM letters WHERE task_id IN (SELECT id FROM tasks WHERE region_code LIKE '$SCOPE%');
DELETE FROM tasks WHERE region_code LIKE '$SCOPE%';
DELETE FROM ledger_stats WHERE region_code LIKE '$SCOPE%';
DELETE FROM visit_obligations WHERE region_code LIKE '$SCOPE%';
DELETE FROM scheduler_deadlines WHERE scope = '$SCOPE';
DELETE FROM scheduler_watermark WHERE scope = '$SCOPE';
DELETE FROM scheduler_warnings WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '$SCOPE%');
DELETE FROM region_contacts WHERE region_code LIKE '$SCOPE%';
DELETE FROM visits WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '$SCOPE%');
DELETE FROM problems WHERE region_code LIKE '$SCOPE%';
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '$SCOPE%');
DELETE FROM cadres WHERE region_code LIKE '$SCOPE%';
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('970000000000', '测试省', 'province', NULL),
  ('972000000000', '调测市', 'city', '970000000000'),
  ('972004000000', '丁区', 'district', '972000000000'),
  ('972004001000', '丁街道', 'township', '972004000000'),
  ('972004001001', '丁一社区', 'community', '972004001000')
ON CONFLICT (code) DO NOTHING;
-- businesses are kept between runs (warnings refer to them): made once, reset every run
INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, address,
                        status, head_name, head_phone, officer_name, officer_phone)
SELECT 'ITST-972004-' || k, '9197200400000000' || k || k, '丁' || k || '号饭店', 'catering', 'A',
       '972004001001', '丁路' || k || '号', 'active', '周' || k, '1972004010' || k,
       '吴' || k, '1972004020' || k
FROM generate_series(1, 4) k
ON CONFLICT DO NOTHING;
UPDATE businesses SET status = 'active', risk_grade = 'A', created_at = to_timestamp($ME) - interval '10 days'
WHERE license_no LIKE 'ITST-972004-%';
CREATE TEMP TABLE fx (k text, id bigint);
INSERT INTO fx SELECT 'b' || right(license_no, 1), id FROM businesses WHERE license_no LIKE 'ITST-972004-%';
WITH c AS (
  INSERT INTO cadres (phone, name, level, region_code, title) VALUES
  ('19720040901', '村干部丁', 'village', '972004001001', '社区书记'),
  ('19720040902', '街道干部丁', 'township', '972004001000', '副主任')
  RETURNING id, phone)
INSERT INTO fx SELECT CASE WHEN phone = '19720040901' THEN 'c1' ELSE 'c2' END, id FROM c;
-- b1, b2, b4: the village cadre (monthly); b1, b4 also the township cadre (quarterly); b3: nobody
INSERT INTO assignments (cadre_id, business_id, region_code, since)
SELECT c.id, b.id, '972004001001', to_timestamp($ME) - interval '60 days' FROM fx c, fx b
WHERE (c.k = 'c1' AND b.k IN ('b1', 'b2', 'b4')) OR (c.k = 'c2' AND b.k IN ('b1', 'b4'));
DELETE FROM scheduler_grades WHERE business_id IN (SELECT id FROM fx WHERE k LIKE 'b%');
INSERT INTO region_contacts (region_code, role, name, email) VALUES
  ('972004001000', 'regulator', '丁街道食安办', 'ding@example.invalid');
INSERT INTO scheduler_watermark (scope, swept_to) VALUES ('$SCOPE', to_timestamp($ME - 3600));
SELECT k || '=' || id FROM fx ORDER BY k;
COMMIT;
SQL
)
if [ -z "$fixture" ]; then
    not_ok "the fixture is inserted"
    tap_done
    exit 1
fi
ok "the fixture is inserted (month $M)"
while IFS='=' read -r k v; do declare "$k=$v"; done <<<"$fixture"

now=$(date +%s)
start broker
start intake LZ_CLOCK_OFFSET_S=$((ME - 5 * 86400 - now)) # 5 days before M's end
intake=$pid
start notifier
start scheduler LZ_SCHEDULER_SCOPE=$SCOPE LZ_SCHEDULER_AUTO_SWEEP=false LZ_VISIT_PRESET=national
start gateway
lz_wait_http || { not_ok "the stack starts"; tap_done; exit 1; }
ok "the stack starts"
admin=$(lz_token admin "it-st-admin-$run")
reg=$(lz_token regulator "it-st-reg-$run" --region 972004000000)
biz2=$(lz_token business "it-st-b2-$run" --business "$b2")

# sweep AS_OF: a long catch-up may outlive the gateway's call (503) while it goes on: a repeat
# (a new request) continues from what was committed
sweep() {
    local i
    for i in 1 2 3 4 5; do
        http POST /api/v1/admin/sweep "$admin" "{\"request_id\":\"itst-$run-$1-$i\",\"as_of\":\"$(at "$1")\"}"
        [ "$status" = 503 ] || return 0
    done
}
wait_q() { # wait_q WANT SQL: until the query answers WANT (30 s)
    local i
    for i in $(seq 1 150); do [ "$(q "$2")" = "$1" ] && return 0; sleep 0.2; done
    return 1
}
visit() { # visit REQ CADRE BUSINESS AT
    http POST /api/v1/visits "$admin" "{\"request_id\":\"itst-$run-$1\",\"cadre_id\":$2,\"business_id\":$3,\"visited_at\":\"$(at "$4")\",\"findings\":[],\"note\":\"督导\"}"
}
task() { q "SELECT id FROM tasks WHERE dedupe = '$1'"; }
notes() { q "SELECT count(*) FROM outbox WHERE topic = 'notify.request' AND key = '$1'
             AND position(convert_to('task:$1:step:$2', 'UTF8') IN payload) > 0"; }

# --- warnings, issued through the notifier before M's end -------------------------------------
http POST /api/v1/warnings "$reg" "{\"request_id\":\"itst-$run-w1\",\"business_id\":$b1,\"reason\":\"后厨不洁\",\"rectify_by\":\"$(at $((ME - 2 * 86400)))\"}"
is "warning 1 (b1) is issued" 201 "$status"
w1=$(jq -r .id <<<"$body")
http POST /api/v1/warnings "$reg" "{\"request_id\":\"itst-$run-w2\",\"business_id\":$b2,\"reason\":\"台账不全\",\"rectify_by\":\"$(at $((ME - 2 * 86400)))\"}"
is "warning 2 (b2) is issued" 201 "$status"
w2=$(jq -r .id <<<"$body")
http POST "/api/v1/warnings/$w2/reply" "$biz2" "{\"request_id\":\"itst-$run-w2r\",\"rectification\":\"已补齐台账\"}"
is "b2 answers warning 2" 200 "$status"
check "the scheduler hears of both warnings, and of the answer" \
    wait_q "2 1" "SELECT count(*) || ' ' || count(answered_at) FROM scheduler_warnings WHERE warning_id IN ($w1, $w2)"

# --- a visit in M: b1 by the village cadre ----------------------------------------------------
visit v1 "$c1" "$b1" $((ME - 5 * 86400 - 3600))
is "the village cadre visits b1 in M" 201 "$status"
check "the visit fills b1's slot of M" \
    wait_q 1 "SELECT done FROM visit_obligations WHERE cadre_id = $c1 AND business_id = $b1 AND period = '$M'"

# --- the scorer regrades b4 A -> C three days before M's end (score.grade_changed, written as
# the scorer writes it: an outbox row, relayed to the stream by any service) ---------------------
varint() { # varint N: N as a protobuf varint, in hex
    local n=$1 out=""
    while [ "$n" -ge 128 ]; do out+=$(printf '%02x' $(((n & 127) | 128))); n=$((n >> 7)); done
    echo "$out$(printf '%02x' "$n")"
}
# GradeChanged {1 business_id, 4 old_grade "A", 5 new_grade "C", 9 changed_at}
gc="08$(varint "$b4")2201412a0143 48$(varint $((ME - 3 * 86400)))"
gc=${gc// /}
q "INSERT INTO outbox (topic, key, payload) VALUES ('score.grade_changed', '$b4', '\\x$gc'::bytea)" >/dev/null
check "the scheduler keeps b4's new grade" \
    wait_q C "SELECT grade FROM scheduler_grades WHERE business_id = $b4"

# --- the daily ledger of M's last day: everybody of the registry delivered but b1..b4 (so the
# deadline's scan brings the missing ones' names and phones and their first step fires from
# them, without reading them again) -------------------------------------------------------------
last=$(TZ=Asia/Shanghai date -d "@$((ME - 86400))" +%Y-%m-%d)
maxid=$(q "SELECT max(id) FROM businesses")
head -c $((maxid / 8 + 1)) /dev/zero | tr '\0' '\377' |
    redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" -x SET "lz:done:daily:$last" >/dev/null
for b in "$b1" "$b2" "$b3" "$b4"; do
    redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" SETBIT "lz:done:daily:$last" "$b" 0 >/dev/null
done

# --- M's end --------------------------------------------------------------------------------
sweep $((ME + 60))
is "sweep at M's end: 200" 200 "$status"
is "visit slots of M: the village cadre owes b1, b2, b4 (still A when M began) one visit each" \
    "$b1:1:1 $b2:1:0 $b4:1:0" \
    "$(q "SELECT string_agg(business_id || ':' || owed || ':' || done, ' ' ORDER BY business_id)
          FROM visit_obligations WHERE cadre_id = $c1 AND period = '$M'")"
is "the township cadre owes nothing at a month's end that ends no quarter (national preset)" 0 \
    "$(q "SELECT count(*) FROM visit_obligations WHERE cadre_id = $c2")"
tv2=$(task "visit:$c1:$b2:$M")
check "b2's missing visit is a task for the village cadre" [ -n "$tv2" ]
is "no visit task for b1 (visited)" 0 "$(q "SELECT count(*) FROM tasks WHERE kind = 'visit' AND business_id = $b1")"
is "visit task: step 1, the cadre told by SMS" "1 1" \
    "$(q "SELECT step FROM tasks WHERE id = $tv2") $(notes "$tv2" 1)"
check "the reminder goes to the village cadre's phone" \
    [ "$(q "SELECT count(*) FROM outbox WHERE key = '$tv2' AND position(convert_to('19720040901', 'UTF8') IN payload) > 0")" = 1 ]
tu=$(q "SELECT id FROM tasks WHERE kind = 'unassigned' AND business_id = $b3")
check "b3 (no cadre) is an unassigned task" [ -n "$tu" ]
is "the unassigned task is its township's, on the visit ladder" "972004001000 visit 1" \
    "$(q "SELECT region_code || ' ' || ladder || ' ' || step FROM tasks WHERE id = '$tu'")"
is "no unassigned task for b1, b2 (they have cadres)" 0 \
    "$(q "SELECT count(*) FROM tasks WHERE kind = 'unassigned' AND business_id IN ($b1, $b2)")"
tl1=$(task "ledger_daily:$b1:$last")
is "b1's missing daily ledger of M's last day: step 1, one SMS to its officer" "1 1 1" \
    "$(q "SELECT step FROM tasks WHERE id = '$tl1'") $(notes "$tl1" 1) $(q "SELECT count(*) FROM outbox
       WHERE key = '$tl1' AND position(convert_to('19720040201', 'UTF8') IN payload) > 0
       AND position(convert_to('丁1号饭店', 'UTF8') IN payload) > 0")"
is "the daily statistics of the township: 4 owed, 4 missing" "4 4" \
    "$(q "SELECT owed || ' ' || missing FROM ledger_stats WHERE region_code = '972004001000' AND kind = 'daily' AND period = '$last'")"
tw1=$(task "warning:$w1")
check "warning 1, unanswered past its rectify-by time, is a task" [ -n "$tw1" ]
is "warning 1's task: b1, visit ladder, step 1" "$b1 visit 1" \
    "$(q "SELECT business_id || ' ' || ladder || ' ' || step FROM tasks WHERE id = '$tw1'")"
is "warning 2 (answered) is no task" "" "$(task "warning:$w2")"

# --- the next day: nothing twice ------------------------------------------------------------
sweep $((ME + 86400 + 60))
is "next day: still one unassigned task for b3" 1 \
    "$(q "SELECT count(*) FROM tasks WHERE kind = 'unassigned' AND business_id = $b3")"
is "next day: still one visit task, one warning task" "1 1" \
    "$(q "SELECT count(*) FROM tasks WHERE kind = 'visit' AND business_id = $b2") $(q "SELECT count(*) FROM tasks WHERE dedupe = 'warning:$w1'")"
is "next day: no new step for the visit task" "1 1" "$(q "SELECT step FROM tasks WHERE id = $tv2") $(notes "$tv2" 1)"

# --- the reply closes the warning's task ------------------------------------------------------
biz1=$(lz_token business "it-st-b1-$run" --business "$b1")
http POST "/api/v1/warnings/$w1/reply" "$biz1" "{\"request_id\":\"itst-$run-w1r\",\"rectification\":\"已整改\"}"
is "b1 answers warning 1 late" 200 "$status"
check "the answer closes warning 1's task" \
    wait_q "closed reply" "SELECT status || ' ' || closed_by FROM tasks WHERE id = $tw1"

# --- +7 days: the visit ladder's 提醒书 -----------------------------------------------------------
sweep $((ME + 7 * 86400 + 60))
is "+7 days: the visit task is at step 2" 2 "$(q "SELECT step FROM tasks WHERE id = $tv2")"
is "+7 days: a 提醒书 for it, to the township" "reminder_letter 972004000000" \
    "$(q "SELECT kind || ' ' || region_code FROM letters WHERE task_id = $tv2 AND step = 2")"
is "+7 days: the township's regulator is told (e-mail)" 1 \
    "$(q "SELECT count(*) FROM outbox WHERE key = '$tv2' AND position(convert_to('ding@example.invalid', 'UTF8') IN payload) > 0")"
is "the closed warning task fired nothing more" 1 "$(q "SELECT step FROM tasks WHERE id = $tw1")"

# --- a late visit closes the visit task; a cadre for b3 closes its task -------------------------
lz_stop "$intake"
now=$(date +%s)
start intake LZ_CLOCK_OFFSET_S=$((ME + 8 * 86400 - now))
intake=$pid
for i in $(seq 1 50); do
    visit v2late "$c1" "$b2" $((ME + 8 * 86400 - 600))
    [ "$status" = 201 ] && break
    sleep 0.2
done
is "the village cadre visits b2 late (M + 8 days)" 201 "$status"
check "the late visit closes b2's visit task" \
    wait_q "closed visit" "SELECT status || ' ' || closed_by FROM tasks WHERE id = $tv2"
q "INSERT INTO assignments (cadre_id, business_id, region_code, since) VALUES ($c1, $b3, '972004001001', to_timestamp($ME + 8 * 86400))" >/dev/null
sweep $((ME + 15 * 86400 + 60))
is "+15 days: no 督办书 for the closed visit task" "2 0" \
    "$(q "SELECT step FROM tasks WHERE id = $tv2") $(q "SELECT count(*) FROM letters WHERE task_id = $tv2 AND step = 3")"
is "+15 days: b3 has a cadre, its unassigned task is closed" "closed assignment" \
    "$(q "SELECT status || ' ' || closed_by FROM tasks WHERE id = $tu")"
is "the next period's slot of b2 counts the late visit (M+1)" 1 \
    "$(q "SELECT done FROM visit_obligations WHERE cadre_id = $c1 AND business_id = $b2 AND period = '$(date -d "$m +1 month" +%Y-%m)'")"

# --- the end of M+1: b4 is C now, the township cadre's (quarterly), not the village cadre's ----
m2=$(date -d "$m +1 month" +%Y-%m-01)
ME2=$(TZ=Asia/Shanghai date -d "$m2 +1 month" +%s)
sweep $((ME2 + 60))
is "sweep at M+1's end: 200" 200 "$status"
is "M+1: the village cadre owes b2 (A), not b4 (C since M)" "1 0" \
    "$(q "SELECT count(*) FILTER (WHERE business_id = $b2) || ' ' || count(*) FILTER (WHERE business_id = $b4)
          FROM visit_obligations WHERE cadre_id = $c1 AND period = '${m2:0:7}'")"
if [ $((10#${m2:5:2} % 3)) = 0 ]; then want=1; else want=0; fi
is "the township cadre owes b4 at quarter ends only ($want at ${m2:0:7})" "$want" \
    "$(q "SELECT count(*) FROM visit_obligations WHERE cadre_id = $c2 AND business_id = $b4")"
is "the township cadre still owes nothing for b1 (A: the village cadre's)" 0 \
    "$(q "SELECT count(*) FROM visit_obligations WHERE cadre_id = $c2 AND business_id = $b1")"
redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" DEL "lz:done:daily:$last" >/dev/null
tap_done
