#!/usr/bin/env bash
# it_scheduler.sh - the scheduler driven through time with POST /api/v1/admin/sweep: a missed
# daily ledger opens a task at the deadline and climbs the ledger ladder (officer; head and
# village cadre at +1 day; 整改通知书 and the township cadre at +3; the district's notice at
# +7), a late ledger on day +2 closes its task and no later step fires, a rest day and a
# closed business owe nothing, the same sweep twice does nothing more, statistics equal a
# direct count over the records, tasks are scoped, ladders are read and validated, letters
# come as JSON and as escaped HTML, and are listed within the caller's jurisdiction.
#
# Fixture (inserted directly, removed and made again on every run): city 972000000000 of the
# fake province 970000000000, district 972001 (township 001, communities 001, 002) and a
# district 972009 for a regulator outside.  The scenario day D is 20 days ahead, so no real
# clock sweep touches it; intake runs with LZ_CLOCK_OFFSET_S to accept records "then".
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18220 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25620 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
trap lz_stop_all EXIT
# start NAME [ENV=V...]: lz_start in this shell (so lz_stop_all stops it); the PID in $pid
pidf=$(mktemp)
start() { lz_start "$@" >"$pidf"; pid=$(cat "$pidf"); }
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$body"; }
run=$$-$(date +%s)
SCOPE=972001

D=$(TZ=Asia/Shanghai date -d '+20 days' +%Y-%m-%d)
# the first sweep counts D's daily tasks only: D's deadline must not also end a week or a month
while [ "$(date -d "$D +1 day" +%u)" = 1 ] || [ "$(date -d "$D +1 day" +%d)" = 01 ]; do
    D=$(date -d "$D +1 day" +%Y-%m-%d)
done
T0=$(TZ=Asia/Shanghai date -d "$D +1 day" +%s)              # deadline of D: D+1 00:00 +08:00
at() { TZ=Asia/Shanghai date -d "@$1" '+%Y-%m-%dT%H:%M:%S+08:00'; }

# --- fixture ---------------------------------------------------------------------------------
fixture=$(psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<SQL
BEGIN;
DELETE FROM letters WHERE task_id IN (SELECT id FROM tasks WHERE region_code LIKE '$SCOPE%');
DELETE FROM tasks WHERE region_code LIKE '$SCOPE%';
DELETE FROM ledger_stats WHERE region_code LIKE '$SCOPE%';
DELETE FROM visit_obligations WHERE region_code LIKE '$SCOPE%';
DELETE FROM scheduler_deadlines WHERE scope = '$SCOPE';
DELETE FROM scheduler_watermark WHERE scope = '$SCOPE';
DELETE FROM region_contacts WHERE region_code LIKE '$SCOPE%';
DELETE FROM records WHERE region_code LIKE '$SCOPE%';
DELETE FROM problems WHERE region_code LIKE '$SCOPE%';
DELETE FROM business_rest_days WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '$SCOPE%');
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '$SCOPE%');
DELETE FROM cadres WHERE region_code LIKE '$SCOPE%';
DELETE FROM businesses WHERE region_code LIKE '$SCOPE%';
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('970000000000', '测试省', 'province', NULL),
  ('972000000000', '调测市', 'city', '970000000000'),
  ('972001000000', '甲区', 'district', '972000000000'),
  ('972001001000', '甲街道', 'township', '972001000000'),
  ('972001001001', '甲一社区', 'community', '972001001000'),
  ('972001001002', '甲二社区', 'community', '972001001000'),
  ('972009000000', '外区', 'district', '972000000000')
ON CONFLICT (code) DO NOTHING;
CREATE TEMP TABLE fx (k text, id bigint);
WITH b AS (
  INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, address,
                          status, head_name, head_phone, officer_name, officer_phone, updated_at)
  VALUES
  ('ITSC-972001-1', '919720010000000011', '调测<一号>&饭店', 'catering', 'A', '972001001001', '甲路1号', 'active', '周一', '19720010101', '吴一', '19720010201', now()),
  ('ITSC-972001-2', '919720010000000022', '调测二号饭店', 'catering', 'A', '972001001001', '甲路2号', 'active', '周二', '19720010102', '吴二', '19720010202', now()),
  ('ITSC-972001-3', '919720010000000033', '调测三号饭店', 'catering', 'B', '972001001002', '甲路3号', 'active', '周三', '19720010103', '吴三', '19720010203', now()),
  ('ITSC-972001-4', '919720010000000044', '调测四号饭店', 'catering', 'B', '972001001002', '甲路4号', 'closed', '周四', '19720010104', '吴四', '19720010204',
   '$D 12:00:00+08'::timestamptz),
  ('ITSC-972001-5', '919720010000000055', '调测五号饭店', 'catering', 'A', '972001001002', '甲路5号', 'active', '周五', '19720010105', '吴五', '19720010205', now())
  RETURNING id, license_no)
INSERT INTO fx SELECT 'b' || right(license_no, 1), id FROM b;
WITH c AS (
  INSERT INTO cadres (phone, name, level, region_code, title) VALUES
  ('19720010901', '村干部钱', 'village', '972001001001', '社区书记'),
  ('19720010902', '街道干部孙', 'township', '972001001000', '副主任')
  RETURNING id, phone)
INSERT INTO fx SELECT CASE WHEN phone = '19720010901' THEN 'c1' ELSE 'c2' END, id FROM c;
INSERT INTO assignments (cadre_id, business_id, region_code)
SELECT c.id, b.id, bb.region_code FROM fx c, fx b JOIN businesses bb ON bb.id = b.id
WHERE (c.k = 'c1' AND b.k LIKE 'b%') OR (c.k = 'c2' AND b.k = 'b1');
INSERT INTO business_rest_days (business_id, day) SELECT id, '$D' FROM fx WHERE k = 'b3';
INSERT INTO region_contacts (region_code, role, name, webhook) VALUES
  ('972001000000', 'regulator', '甲区市场监管局', 'http://127.0.0.1:9/notice');
INSERT INTO region_contacts (region_code, role, name, email) VALUES
  ('972001001000', 'regulator', '甲街道食安办', 'jia@example.invalid');
SELECT k || '=' || id FROM fx ORDER BY k;
COMMIT;
SQL
)
if [ -z "$fixture" ]; then
    not_ok "the fixture is inserted"
    tap_done
    exit 1
fi
ok "the fixture is inserted"
while IFS='=' read -r k v; do declare "$k=$v"; done <<<"$fixture"
redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" DEL "lz:done:daily:$D" "lz:cnt:daily:$D" >/dev/null 2>&1 ||
    true

now=$(date +%s)
start broker
start intake LZ_CLOCK_OFFSET_S=$((T0 - 4 * 3600 - now)) # D 20:00
intake=$pid
start scheduler LZ_SCHEDULER_SCOPE=$SCOPE LZ_SCHEDULER_AUTO_SWEEP=false
start gateway
lz_wait_http || { not_ok "the stack starts"; tap_done; exit 1; }
ok "the stack starts"
admin=$(lz_token admin "it-sc-admin-$run")
reg_in=$(lz_token regulator "it-sc-reg-in-$run" --region 972001000000)
reg_out=$(lz_token regulator "it-sc-reg-out-$run" --region 972009000000)

codes=$(q "SELECT i.code FROM checklists c JOIN checklist_items i ON i.checklist_id = c.id
           WHERE c.type = 'catering' AND c.kind = 'daily' AND c.version =
           (SELECT max(version) FROM checklists WHERE type = 'catering' AND kind = 'daily')
           ORDER BY i.position")
items=$(for c in $codes; do printf '{"code":"%s","ok":true},' "$c"; done)
rec() { echo "{\"request_id\":\"$1\",\"business_id\":$2,\"kind\":\"daily\",\"period\":\"$D\",\"submitted_by\":\"王芳\",\"items\":[${items%,}]}"; }

# b2 delivers D on time
http POST /api/v1/records "$admin" "$(rec "itsc-$run-b2" "$b2")"
is "b2's record for D is on time" "201 on_time" "$status $(jq -r .status <<<"$body")"

sweep() { http POST /api/v1/admin/sweep "$admin" "{\"request_id\":\"itsc-$run-$1\",\"as_of\":\"$(at "$1")\"}"; }
task_of() { q "SELECT id FROM tasks WHERE business_id = $1 AND kind = 'ledger_daily' AND period = '$D'"; }
# notes TASK STEP: the notification requests a step of a task wrote (one per recipient:
# dedupe keys task:T:step:S, then task:T:step:S:2, ...)
notes() { q "SELECT count(*) FROM outbox WHERE topic = 'notify.request' AND key = '$1'
             AND position(convert_to('task:$1:step:$2', 'UTF8') IN payload) > 0"; }
tmpl() { q "SELECT count(*) FROM outbox WHERE topic = 'notify.request' AND key = '$1'
            AND position(convert_to('$2', 'UTF8') IN payload) > 0"; }

# --- the deadline -----------------------------------------------------------------------------
sweep "$T0"
is "sweep at the deadline: 200" 200 "$status"
is "two tasks opened (b1, b5), one step each" "2 2" "$(jq -r '"\(.opened) \(.escalated)"' <<<"$body")"
t1=$(task_of "$b1")
t5=$(task_of "$b5")
check "b1 and b5 have a daily task for D" [ -n "$t1" ] && [ -n "$t5" ]
is "no task for b2 (on time), b3 (rest day), b4 (closed that day)" 0 \
    "$(q "SELECT count(*) FROM tasks WHERE business_id IN ($b2, $b3, $b4)")"
is "step 1: one reminder to the officer" "1 1" "$(notes "$t1" 1) $(tmpl "$t1" ledger_reminder)"
check "the reminder goes to the officer's phone" \
    [ "$(tmpl "$t1" 19720010201)" = 1 ]

sweep "$T0"
is "the same sweep again opens and sends nothing" "0 0" "$(jq -r '"\(.opened) \(.escalated)"' <<<"$body")"
is "still one notification for step 1" 1 "$(notes "$t1" 1)"

# --- +1 day: the head, and the village cadre -----------------------------------------------
sweep $((T0 + 86400))
is "+1 day: step 2 for b1" 2 "$(q "SELECT step FROM tasks WHERE id = $t1")"
is "+1 day: the head and the village cadre are told" "2 1 1" \
    "$(notes "$t1" 2) $(tmpl "$t1" overdue_warning) $(tmpl "$t1" 19720010901)"

# --- +2 days: b5's late ledger closes its task ------------------------------------------------
lz_stop "$intake"
now=$(date +%s)
start intake LZ_CLOCK_OFFSET_S=$((T0 + 2 * 86400 - 3600 - now))
intake=$pid
for i in $(seq 1 50); do
    http POST /api/v1/records "$admin" "$(rec "itsc-$run-b5" "$b5")"
    [ "$status" = 201 ] && break
    sleep 0.2
done
is "b5's late record for D is accepted late" "201 late" "$status $(jq -r .status <<<"$body")"
for i in $(seq 1 50); do
    [ "$(q "SELECT status FROM tasks WHERE id = $t5")" = closed ] && break
    sleep 0.2
done
is "the late ledger closes b5's task" "closed ledger" "$(q "SELECT status || ' ' || closed_by FROM tasks WHERE id = $t5")"

# --- +3 days: 整改通知书; +7: the district's notice ----------------------------------------------
sweep $((T0 + 3 * 86400))
is "+3 days: b1 at step 3" 3 "$(q "SELECT step FROM tasks WHERE id = $t1")"
letter=$(q "SELECT id FROM letters WHERE task_id = $t1")
check "a letter is issued for b1" [ -n "$letter" ]
is "it is a 整改通知书 numbered by the district" 1 \
    "$(q "SELECT count(*) FROM letters WHERE id = ${letter:-0} AND kind = 'rectification_notice'
          AND number LIKE '甲区〔%〕整改通知书第%号'")"
is "+3 days: the notice to the head and the township cadre" "2 1" \
    "$(notes "$t1" 3) $(tmpl "$t1" 19720010902)"
sweep $((T0 + 7 * 86400))
is "+7 days: b1 at step 4" 4 "$(q "SELECT step FROM tasks WHERE id = $t1")"
is "+7 days: the district's regulator is told by webhook" "1 1" \
    "$(notes "$t1" 4) $(tmpl "$t1" 'http://127.0.0.1:9/notice')"
is "no step after the close fires for b5" "2 0 0" \
    "$(q "SELECT step FROM tasks WHERE id = $t5") $(notes "$t5" 3) $(notes "$t5" 4)"
is "b1's task has no step left" "" "$(q "SELECT next_step_at FROM tasks WHERE id = $t1")"
sweep $((T0 + 7 * 86400))
is "the last sweep again changes nothing" "0 0" "$(jq -r '"\(.opened) \(.escalated)"' <<<"$body")"
is "no notification was written twice" 0 \
    "$(q "SELECT count(*) - count(DISTINCT payload) FROM outbox WHERE topic = 'notify.request'
          AND key IN (SELECT id::text FROM tasks WHERE region_code LIKE '$SCOPE%')")"

# --- statistics -----------------------------------------------------------------------------
http GET "/api/v1/stats/ledgers?region=972001001000&kind=daily&period=$D" "$reg_in"
is "stats: 200" 200 "$status"
sql=$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'on_time') || ' ' ||
                count(*) FILTER (WHERE status = 'late')
         FROM records WHERE region_code LIKE '972001001%' AND kind = 'daily' AND period = '$D'")
is "stats: submitted, on time, late equal a count over the records" "$sql" \
    "$(jq -r '"\(.submitted) \(.on_time) \(.late)"' <<<"$body")"
is "stats: 3 owed, 1 missing, two communities" "3 1 2" \
    "$(jq -r '"\(.required) \(.missing) \(.children | length)"' <<<"$body")"
http GET "/api/v1/stats/ledgers?region=972001001000&kind=daily&period=$D" "$reg_out"
is "stats outside the jurisdiction: 404" 404 "$status"

# --- tasks -----------------------------------------------------------------------------------
http GET "/api/v1/tasks?region=972001000000&kind=ledger_daily&period=$D" "$reg_in"
is "tasks: the regulator sees both" "200 2" "$status $(jq -r '.items | length' <<<"$body")"
check "tasks: fields as API.md" jqt '.items[0] | has("id") and has("business_id") and has("step") and has("opened_at")'
http GET "/api/v1/tasks?status=open&kind=ledger_daily&period=$D&limit=1" "$reg_in"
is "tasks: open only, paged" "1 $b1" "$(jq -r '"\(.items | length) \(.items[0].business_id)"' <<<"$body")"
http GET "/api/v1/tasks?region=972001000000&kind=ledger_daily&period=$D&limit=1" "$reg_in"
p1=$(jq -r '.items[0].id' <<<"$body") cur=$(jq -r '.next_cursor' <<<"$body")
http GET "/api/v1/tasks?region=972001000000&kind=ledger_daily&period=$D&limit=1&cursor=$cur" "$reg_in"
is "tasks: the cursor gives the second task, and the last page has no cursor" "200 1 true null" \
    "$status $(jq -r '"\(.items | length) \(.items[0].id > '"${p1:-0}"') \(.next_cursor)"' <<<"$body")"
http GET "/api/v1/tasks?cursor=x1" "$reg_in"
is "tasks: a cursor not ours is 400" "400 cursor" "$status $(jq -r .error.field <<<"$body")"
http GET "/api/v1/tasks?limit=0" "$reg_in"
is "tasks: limit 0 is 400" "400 limit" "$status $(jq -r .error.field <<<"$body")"
http GET "/api/v1/tasks?kind=ledger_daily&period=$D" "$reg_out"
is "tasks: a regulator elsewhere sees none" "200 0" "$status $(jq -r '.items | length' <<<"$body")"
http GET "/api/v1/tasks?region=972001000000" "$reg_out"
is "tasks: a region outside the jurisdiction is 404" 404 "$status"

# --- letters -----------------------------------------------------------------------------------
http GET "/api/v1/letters/$letter" "$reg_in"
is "letter: JSON" "200 rectification_notice" "$status $(jq -r .kind <<<"$body")"
check "letter: body names the business" jqt '.body | contains("调测<一号>&饭店")'
html=$(curl -s -H "Authorization: Bearer $reg_in" "$LZ_API/api/v1/letters/$letter?format=html")
check "letter: HTML escapes the business name" grep -q '调测&lt;一号&gt;&amp;饭店' <<<"$html"
check "letter: HTML has no raw tag from the data" bash -c '! grep -q "<一号>" <<<"$1"' _ "$html"
http GET "/api/v1/letters/$letter" "$reg_out"
is "letter: outside the jurisdiction is 404" 404 "$status"
http GET "/api/v1/letters?region=972001000000&kind=rectification_notice" "$reg_in"
is "letters list: the district's regulator sees b1's letter, without its body" \
    "200 $letter rectification_notice 整改通知书 null" \
    "$status $(jq -r '[.items[] | select(.id == '"${letter:-0}"')][0] | "\(.id) \(.kind) \(.title) \(.body)"' <<<"$body")"
check "letters list: only letters of tasks in 972001" jqt '(.items | length) >= 1 and ([.items[].region_code | startswith("972001")] | all)'
http GET "/api/v1/letters?region=972001000000" "$reg_out"
is "letters list: another district's region is 404" 404 "$status"
http GET "/api/v1/letters" "$reg_out"
check "letters list: an outside regulator sees none of them" jqt "[.items[] | select(.id == ${letter:-0})] | length == 0"
http GET "/api/v1/letters?cursor=-5" "$reg_in"
is "letters list: a cursor not ours is 400" "400 cursor" "$status $(jq -r .error.field <<<"$body")"
http GET "/api/v1/letters?limit=100000" "$reg_in"
is "letters list: a limit over the maximum is 400" "400 limit" "$status $(jq -r .error.field <<<"$body")"
http GET "/api/v1/letters?kind=notice" "$reg_in"
is "letters list: an unknown kind is 400" 400 "$status"
biz1=$(lz_token business "it-sc-b1-$run" --business "$b1")
http GET "/api/v1/letters?limit=1" "$biz1"
is "letters list: the business sees its own letter, one page" "200 $letter" "$status $(jq -r '.items[0].id' <<<"$body")"

# --- ladders -----------------------------------------------------------------------------------
http GET /api/v1/ladders/ledger "$reg_in"
is "ladder: the default ledger ladder has 4 steps" "200 4 259200 rectification_notice" \
    "$status $(jq -r '"\(.steps | length) \(.steps[2].delay_s) \(.steps[2].letter)"' <<<"$body")"
lad=$(jq -c '{steps: .steps}' <<<"$body")
bad=$(jq -c --arg r "itsc-$run-l1" '. + {request_id: $r} | .steps[0].recipients[0].role = "boss"' <<<"$lad")
http PUT /api/v1/ladders/ledger "$reg_in" "$bad"
is "ladder: an unknown role is refused" "400 steps.recipients.role" "$status $(jq -r .error.field <<<"$body")"
same=$(jq -c --arg r "itsc-$run-l2" '. + {request_id: $r}' <<<"$lad")
http PUT /api/v1/ladders/ledger "$reg_in" "$same"
is "ladder: a valid ladder is stored" "200 4" "$status $(jq -r '.steps | length' <<<"$body")"
http PUT /api/v1/ladders/ledger "$reg_in" "$same"
is "ladder: the same request id answers the same" "200 4" "$status $(jq -r '.steps | length' <<<"$body")"
http GET /api/v1/ladders/nope "$reg_in"
is "ladder: unknown name is 404" 404 "$status"

tap_done
