#!/usr/bin/env bash
# it_intake_checklists.sh - through the gateway, broker and intake: a regulator
# publishes a new checklist version (POST /api/v1/checklists/{type}: roles, code and
# text checks, duplicates, version = latest + 1, replay by request id, audit and
# outbox); a record submitted after it answers the new version while the older record
# still shows the old one; rest days (POST/GET /api/v1/businesses/{id}/rest_days:
# who may, today or later only, bounded); and the weekly record view listing the
# problems opened in its ISO week with their status.
#
# Its rows live under a fake province 950000000000.  The published version repeats
# the current small_workshop daily codes and required flags (texts changed), so
# other tests' submissions stay valid.
export LZ_BROKER_PORT=${LZ_BROKER_PORT:-25610} LZ_HTTP_PORT=${LZ_HTTP_PORT:-18210}
. "$(dirname "$0")/lib.sh"
trap lz_stop_all EXIT
q() { psql -qAt "$LZ_PG_ADMIN_URL" -c "$1"; }
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
field() { jq -r '.error.field // empty' <<<"$body" 2>/dev/null; }
run=$$$RANDOM
day() { TZ=Asia/Shanghai date -d "$1 day" +%F; }
today=$(day 0)

comm=$(printf '950101001%03d' $((RANDOM % 999 + 1)))
q "INSERT INTO regions (code, name, level, parent_code) VALUES
   ('950000000000', '测试省九五', 'province', NULL),
   ('950100000000', '测试市', 'city', '950000000000'),
   ('950101000000', '测试区', 'district', '950100000000'),
   ('950101001000', '测试街道', 'township', '950101000000'),
   ('$comm', '测试社区', 'community', '950101001000') ON CONFLICT DO NOTHING" >/dev/null
read -r b1 b2 < <(q "INSERT INTO businesses (license_no, credit_code, name, type, risk_grade,
       region_code, head_name, head_phone, officer_name, officer_phone)
       SELECT 'ITCL$run-' || g, '91340700MA2N000000', '测试作坊' || g, 'small_workshop', 'B',
              '$comm', '张三', '13800000000', '李四', '13900000000'
       FROM generate_series(1, 2) g RETURNING id" | tr '\n' ' ')
check "two test businesses" [ -n "$b2" ]

lz_start broker >/dev/null
lz_start intake >/dev/null
lz_start gateway >/dev/null
if lz_wait_http; then ok "broker, intake, gateway answer"; else not_ok "broker, intake, gateway answer"; fi
admin=$(lz_token admin "it-cl-$run")
reg=$(lz_token regulator "it-cl-reg-$run" --region 950000000000)
other=$(lz_token regulator "it-cl-other-$run" --region 940000000000)
t1=$(lz_token business "it-cl-b1-$run" --business "$b1")
t2=$(lz_token business "it-cl-b2-$run" --business "$b2")
check "tokens are made" [ -n "$admin" -a -n "$reg" -a -n "$t1" -a -n "$t2" -a -n "$other" ]

# --- publish a checklist version ---------------------------------------------------------
http GET "/api/v1/checklists/small_workshop?kind=daily" "$t1"
is "GET the current small_workshop daily checklist: 200" 200 "$status"
v0=$(jq -r .version <<<"$body")
cur=$(jq -c .items <<<"$body")
n0=$(jq length <<<"$cur")
# the same codes and flags, texts marked with this run
newitems=$(jq -c --arg r "$run" '[.[] | {code, text: (.text + "（修订" + $r + "）"), measure, category, required}]' <<<"$cur")
items_ok=$(jq -c '[.[] | {code, ok: true}]' <<<"$cur")

# a record answering the current version, before the new one
http POST /api/v1/records "$t1" "{\"request_id\":\"itcl-$run-r1\",\"business_id\":$b1,\"kind\":\"daily\",\"period\":\"$(day -1)\",\"submitted_by\":\"李四\",\"items\":$items_ok}"
is "a record for yesterday under version $v0: 201" 201 "$status"
r1=$(jq -r .id <<<"$body")

pub() { echo "{\"request_id\":\"$1\",\"kind\":\"${3:-daily}\",\"items\":$2}"; }
http POST /api/v1/checklists/small_workshop "$t1" "$(pub "itcl-$run-p0" "$newitems")"
is "a business may not publish: 403" 403 "$status"
http POST /api/v1/checklists/small_workshop "$reg" \
    "$(pub "itcl-$run-p1" '[{"code":"D01","text":"甲","category":"人员"},{"code":"D01","text":"乙","category":"人员"}]')"
is "a code given twice: 400 on items[1].code" "400 items[1].code" "$status $(field)"
http POST /api/v1/checklists/small_workshop "$reg" \
    "$(pub "itcl-$run-p2" '[{"code":"d1","text":"甲","category":"人员"}]')"
is "a bad code: 400 on items[0].code" "400 items[0].code" "$status $(field)"
http POST /api/v1/checklists/small_workshop "$reg" \
    "$(pub "itcl-$run-p3" '[{"code":"D01","text":"","category":"人员"}]')"
is "an empty text: 400 on items[0].text" "400 items[0].text" "$status $(field)"
http POST /api/v1/checklists/small_workshop "$reg" "$(pub "itcl-$run-p4" '[]')"
check "no items: refused on items" [ "$(field)" = items -a "$status" -ge 400 ]
http POST /api/v1/checklists/small_workshop "$reg" "$(pub "itcl-$run-p5" "$newitems" hourly)"
is "a bad kind: 400 on kind" "400 kind" "$status $(field)"
http POST /api/v1/checklists/pharmacy "$reg" "$(pub "itcl-$run-p6" "$newitems")"
is "a bad type: 400 on type" "400 type" "$status $(field)"
is "nothing published by the refusals" "$v0" \
    "$(q "SELECT max(version) FROM checklists WHERE type = 'small_workshop' AND kind = 'daily'")"

http POST /api/v1/checklists/small_workshop "$reg" "$(pub "itcl-$run-pub" "$newitems")"
is "a regulator publishes: 201" 201 "$status"
v1=$(jq -r .version <<<"$body")
cid=$(jq -r .id <<<"$body")
is "the new version is latest + 1" "$((v0 + 1))" "$v1"
is "with all $n0 items, required kept" "$n0 $(jq '[.[] | select(.required)] | length' <<<"$cur")" \
    "$(jq '.items | length' <<<"$body") $(jq '[.items[] | select(.required)] | length' <<<"$body")"
http POST /api/v1/checklists/small_workshop "$reg" "$(pub "itcl-$run-pub" "$newitems")"
is "the same request id replays the answer" "201 $v1 $cid" "$status $(jq -r .version <<<"$body") $(jq -r .id <<<"$body")"
is "one version made, not two" "$v1" \
    "$(q "SELECT max(version) FROM checklists WHERE type = 'small_workshop' AND kind = 'daily'")"
is "an audit entry checklist.publish" 1 \
    "$(q "SELECT count(*) FROM audit_log WHERE action = 'checklist.publish' AND object = 'checklists/$cid'")"
is "an outbox event checklist.published was written" 1 \
    "$(q "SELECT count(*) FROM audit_log a WHERE a.request_id = 'itcl-$run-pub'")"
sleep 0.5
check "the event reached lz:stream:checklist.published" bash -c \
    "redis-cli -h $LZ_REDIS_HOST -p $LZ_REDIS_PORT XREVRANGE lz:stream:checklist.published + - COUNT 50 | grep -q 'small_workshop:daily'"
http GET "/api/v1/checklists/small_workshop?kind=daily" "$t1"
is "GET shows the new version and text" "$v1 yes" \
    "$(jq -r .version <<<"$body") $(jq -r --arg r "$run" 'if (.items[0].text | contains($r)) then "yes" else "no" end' <<<"$body")"

http POST /api/v1/records "$t1" "{\"request_id\":\"itcl-$run-r2\",\"business_id\":$b1,\"kind\":\"daily\",\"period\":\"$today\",\"submitted_by\":\"李四\",\"items\":$items_ok}"
is "a record for today after publishing: 201" 201 "$status"
r2=$(jq -r .id <<<"$body")
http GET "/api/v1/businesses/$b1/records?kind=daily" "$t1"
is "the new record answered version $v1" "$v1" \
    "$(jq -r --argjson id "$r2" '.items[] | select(.id == $id) | .checklist_version' <<<"$body")"
is "the old record still shows version $v0" "$v0" \
    "$(jq -r --argjson id "$r1" '.items[] | select(.id == $id) | .checklist_version' <<<"$body")"

# --- rest days -----------------------------------------------------------------------------
d1=$(day 1)
d3=$(day 3)
rest() { echo "{\"request_id\":\"$1\",\"days\":$2}"; }
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd1" "[\"$today\",\"$d1\",\"$d3\",\"$d1\"]")"
is "the business declares today, +1, +3: 201, 3 added" "201 3" "$status $(jq -r .added <<<"$body")"
is "the answer lists them" "$today $d1 $d3" "$(jq -r '.days | join(" ")' <<<"$body")"
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd1" "[\"$today\",\"$d1\",\"$d3\"]")"
is "the same request id replays (added 3)" "201 3" "$status $(jq -r .added <<<"$body")"
http POST "/api/v1/businesses/$b1/rest_days" "$reg" "$(rest "itcl-$run-rd2" "[\"$d1\"]")"
is "its regulator declares a known day again: 201, 0 added" "201 0" "$status $(jq -r .added <<<"$body")"
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd3" "[\"$(day -1)\"]")"
is "yesterday: 400 on days[0]" "400 days[0]" "$status $(field)"
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd4" "[\"$d1\",\"2026-13-01\"]")"
is "not a date: 400 on days[1]" "400 days[1]" "$status $(field)"
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd5" "[\"$(day 400)\"]")"
is "400 days ahead: 400 on days[0]" "400 days[0]" "$status $(field)"
many=$(for i in $(seq 1 63); do printf '"%s",' "$(day "$i")"; done)
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd6" "[${many%,}]")"
is "63 days at once: 400 on days" "400 days" "$status $(field)"
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "$(rest "itcl-$run-rd7" '[]')"
check "no days: refused on days" [ "$(field)" = days -a "$status" -ge 400 ]
http POST "/api/v1/businesses/$b1/rest_days" "$t2" "$(rest "itcl-$run-rd8" "[\"$d1\"]")"
is "another business's token: 404" 404 "$status"
http POST "/api/v1/businesses/$b1/rest_days" "$other" "$(rest "itcl-$run-rd9" "[\"$d1\"]")"
is "a regulator of another province: 404" 404 "$status"
http POST "/api/v1/businesses/$b1/rest_days" "$t1" "{\"days\":[\"$d1\"]}"
is "no request_id: 400 on request_id" "400 request_id" "$status $(field)"
http GET "/api/v1/businesses/$b1/rest_days" "$reg"
is "GET lists today and later" "200 $today $d1 $d3" "$status $(jq -r '.days | join(" ")' <<<"$body")"
http GET "/api/v1/businesses/$b1/rest_days?from=$d3" "$t1"
is "GET ?from= limits" "$d3" "$(jq -r '.days | join(" ")' <<<"$body")"
http GET "/api/v1/businesses/$b1/rest_days?from=tomorrow" "$t1"
is "GET ?from=bad: 400 on from" "400 from" "$status $(field)"
http GET "/api/v1/businesses/$b2/rest_days" "$t1"
is "GET another business's: 404" 404 "$status"
is "in the table the scheduler reads" 3 \
    "$(q "SELECT count(*) FROM business_rest_days WHERE business_id = $b1")"
is "an audit entry per declaration" 2 \
    "$(q "SELECT count(*) FROM audit_log WHERE action = 'business.rest_days' AND object = 'businesses/$b1/rest_days'")"

# --- the weekly view ----------------------------------------------------------------------
mon=$(TZ=Asia/Shanghai date -d "$(day -7) -$(( $(TZ=Asia/Shanghai date -d "$(day -7)" +%u) - 1 )) day" +%F)
week=$(TZ=Asia/Shanghai date -d "$mon" +%G-W%V)
wcl=$(q "SELECT id FROM checklists WHERE type = 'small_workshop' AND kind = 'weekly' ORDER BY version DESC LIMIT 1")
q "INSERT INTO records (business_id, region_code, kind, period, period_start, checklist_id, status,
       submitted_by, submitted_at, summary, request_id)
   VALUES ($b1, '$comm', 'weekly', '$week', '$mon'::timestamp AT TIME ZONE 'Asia/Shanghai', $wcl,
           'on_time', '李四', ('$mon'::date + 6)::timestamp AT TIME ZONE 'Asia/Shanghai', '本周小结',
           'itcl-$run-w')" >/dev/null
q "INSERT INTO problems (business_id, region_code, source, source_id, item_code, description,
       opened_at, fixed_at, fixed_action) VALUES
   ($b1, '$comm', 'ledger', 0, 'D02', '本周问题一（未整改）', ('$mon'::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai', NULL, NULL),
   ($b1, '$comm', 'visit', 0, NULL, '本周问题二（已整改）', ('$mon'::date + 2)::timestamp AT TIME ZONE 'Asia/Shanghai',
       ('$mon'::date + 3)::timestamp AT TIME ZONE 'Asia/Shanghai', '已更换'),
   ($b1, '$comm', 'ledger', 0, 'D03', '上周的问题', ('$mon'::date - 1)::timestamp AT TIME ZONE 'Asia/Shanghai', NULL, NULL)" >/dev/null
http GET "/api/v1/businesses/$b1/records?kind=weekly" "$t1"
is "GET weekly records: 200, one record for $week" "200 $week" "$status $(jq -r '.items[0].period' <<<"$body")"
is "it lists the week's two problems, not last week's" "本周问题一（未整改） 本周问题二（已整改）" \
    "$(jq -r '[.items[0].week_problems[].description] | join(" ")' <<<"$body")"
is "with their status" "open fixed" "$(jq -r '[.items[0].week_problems[].status] | join(" ")' <<<"$body")"
is "and the counts open 1, fixed 1" "1 1" \
    "$(jq -r '"\(.items[0].week_problems_open) \(.items[0].week_problems_fixed)"' <<<"$body")"
http GET "/api/v1/businesses/$b1/records?kind=daily" "$t1"
is "daily records carry no week_problems" "null" "$(jq -r '.items[0].week_problems_open' <<<"$body")"
tap_done
