#!/usr/bin/env bash
# it_records.sh - ledgers through the gateway, broker and intake against the real
# PostgreSQL and Redis: POST /api/v1/records with its rules (scope, items, notes,
# back-fill window), idempotency under concurrent retries, 409 for a second record,
# problems opened / listed / fixed, the checklist's open problems, the Redis done
# bitmap and region counters (never counted twice, `liangze cache rebuild`), and
# kill -9 of the intake worker during a burst of 200 submissions.
#
# It makes its own region tree (fake province 980000000000) and businesses with
# psql; dates are relative to today (+08:00), so the window edges to the second
# are in tests/unit/test_intake_ledger.c.
. "$(dirname "$0")/lib.sh"
trap lz_stop_all EXIT
q() { psql -qAt "$LZ_PG_ADMIN_URL" -c "$1"; }
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
field() { jq -r '.error.field // empty' <<<"$body" 2>/dev/null; }
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$body"; }
rc() { redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" "$@"; }
run=$$$RANDOM
day() { TZ=Asia/Shanghai date -d "$1 day" +%F; }
today=$(day 0)

# --- a region tree and businesses of our own --------------------------------------------
comm=$(printf '980101001%03d' $((RANDOM % 999 + 1)))
q "INSERT INTO regions (code, name, level, parent_code) VALUES
   ('980000000000', '测试省', 'province', NULL),
   ('980100000000', '测试市', 'city', '980000000000'),
   ('980101000000', '测试区', 'district', '980100000000'),
   ('980101001000', '测试街道', 'township', '980101000000'),
   ('$comm', '测试社区', 'community', '980101001000') ON CONFLICT DO NOTHING" >/dev/null
# mk N: make N catering businesses in our community; prints their ids
mk() {
    q "INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code,
           head_name, head_phone, officer_name, officer_phone)
       SELECT 'ITR$run-' || g || '-' || $RANDOM, '91340700MA2N000000', '测试餐馆' || g, 'catering',
              'B', '$comm', '张三', '13800000000', '李四', '13900000000'
       FROM generate_series(1, $1) g RETURNING id"
}
read -r b1 b2 b3 b4 < <(mk 4 | tr '\n' ' ')
check "four test businesses exist" [ -n "$b4" ]
# old submissions of this community and period (a rerun picks a fresh community; a clash
# only makes the counter checks below compare against PostgreSQL)
lz_start_suite || { not_ok "the suite starts"; tap_done; exit 1; }
admin=$(lz_token admin "it-records-$run")
t1=$(lz_token business "itr-b1-$run" --business "$b1")
t2=$(lz_token business "itr-b2-$run" --business "$b2")
check "tokens are made" [ -n "$admin" ] && [ -n "$t2" ]

codes=$(q "SELECT i.code || ':' || i.required FROM checklists c JOIN checklist_items i
           ON i.checklist_id = c.id WHERE c.type = 'catering' AND c.kind = 'daily' AND c.version =
           (SELECT max(version) FROM checklists WHERE type = 'catering' AND kind = 'daily')
           ORDER BY i.position")
# items [FAILED_CODE] [SKIP_CODE]: the items array, all ok but FAILED (noted) and without SKIP
items() {
    local out="" c
    for c in $codes; do
        c=${c%%:*}
        [ "$c" = "${2:-}" ] && continue
        if [ "$c" = "${1:-}" ]; then
            out+="{\"code\":\"$c\",\"ok\":false,\"note\":\"冷柜温度 9℃\"},"
        else
            out+="{\"code\":\"$c\",\"ok\":true},"
        fi
    done
    echo "[${out%,}]"
}
# rec RID BUSINESS PERIOD ITEMS [PROBLEMS]: a daily record body
rec() {
    echo "{\"request_id\":\"$1\",\"business_id\":$2,\"kind\":\"daily\",\"period\":\"$3\",\"submitted_by\":\"王芳\",\"items\":$4,\"problems\":${5:-[]}}"
}

# --- submit ---------------------------------------------------------------------------------
good=$(rec "itr-$run-1" "$b1" "$today" "$(items)")
http POST /api/v1/records "$t1" "$good"
is "a good daily record: 201" 201 "$status"
is "on time, no problem open" "on_time 0" "$(jq -r '"\(.status) \(.problems_open)"' <<<"$body")"
first=$body
id1=$(jq -r .id <<<"$body")
http POST /api/v1/records "$t1" "$good"
is "the same request_id again: the first answer" "201 $first" "$status $body"
is "one row for it" 1 "$(q "SELECT count(*) FROM records WHERE business_id = $b1")"
http POST /api/v1/records "$t1" "$(rec "itr-$run-2" "$b1" "$today" "$(items)")"
is "another request_id for the same period: 409" "409 conflict" "$status $(code)"
http POST /api/v1/records "$t1" "$(rec "itr-$run-3" "$b2" "$today" "$(items)")"
is "a business token for another business: 404" "404 not_found" "$status $(code)"
http POST /api/v1/records "$t2" "$(rec "itr-$run-4" "$b2" "$today" "$(items "" D03)")"
is "a missing required item: 400 naming it" "400 items" "$status $(field)"
check "the message names D03" grep -q D03 <<<"$body"
bad=$(items | jq -c '(.[2]) |= {"code": .code, "ok": false}')
http POST /api/v1/records "$t2" "$(rec "itr-$run-5" "$b2" "$today" "$bad")"
is "a failed item without note: 400 items[2].note" "400 invalid_field items[2].note" \
    "$status $(code) $(field)"
bad=$(items | jq -c '. + [{"code":"Z99","ok":true}]')
http POST /api/v1/records "$t2" "$(rec "itr-$run-6" "$b2" "$today" "$bad")"
is "an item not on the checklist: 400" "400 invalid_field" "$status $(code)"
bad=$(items | jq -c '. + [.[0]]')
http POST /api/v1/records "$t2" "$(rec "itr-$run-7" "$b2" "$today" "$bad")"
is "an item answered twice: 400" "400 invalid_field" "$status $(code)"
http POST /api/v1/records "$t2" "$(rec "itr-$run-8" "$b2" "$(day 1)" "$(items)")"
is "tomorrow: 400 period" "400 period" "$status $(field)"
http POST /api/v1/records "$t2" "$(rec "itr-$run-9" "$b2" "$(day -4)" "$(items)")"
is "four days ago: refused, 400 period" "400 period" "$status $(field)"
check "the refusal says a regulator may reopen" grep -q regulator <<<"$body"
http POST /api/v1/records "$t2" "$(rec "itr-$run-10" "$b2" "$(day -3)" "$(items)")"
is "three days ago: 201 late" "201 late" "$status $(jq -r .status <<<"$body")"
http POST /api/v1/records "$t2" "{\"request_id\":\"itr-$run-11\",\"business_id\":$b2,\"kind\":\"daily\",\"period\":\"$(TZ=Asia/Shanghai date +%G-W%V)\",\"submitted_by\":\"x\",\"items\":[]}"
is "a week as a daily period: 400 period" "400 period" "$status $(field)"

# --- problems ------------------------------------------------------------------------------
http POST /api/v1/records "$t2" "$(rec "itr-$run-12" "$b2" "$today" "$(items D07)" \
    '[{"item":"D07","description":"冷柜温度超标","action":"已报修"}]')"
is "a failed unfixed item: 201 with one problem open" "201 1" \
    "$status $(jq -r .problems_open <<<"$body")"
http GET "/api/v1/checklists/catering?kind=daily&business_id=$b2" "$t2"
is "the next daily checklist shows it" "200 D07" "$status $(jq -r '.open_problems[0].item' <<<"$body")"
check "the checklist has items with text" jqt '.version >= 1 and (.items | length) > 5 and .items[0].text' 
pid=$(jq -r '.open_problems[0].id' <<<"$body")
http GET "/api/v1/businesses/$b2/problems?status=open" "$t2"
is "open problems list it" "$pid" "$(jq -r '.items[0].id' <<<"$body")"
http POST "/api/v1/problems/$pid/fix" "$t1" "{\"request_id\":\"itr-$run-f0\",\"action\":\"x\"}"
is "another business may not fix it: 404" 404 "$status"
http POST "/api/v1/problems/$pid/fix" "$t2" "{\"request_id\":\"itr-$run-f1\",\"action\":\"更换温控器，复测 3℃\"}"
is "fix it: 200 fixed" "200 fixed" "$status $(jq -r .status <<<"$body")"
first_fix=$(jq -cS . <<<"$body")
http POST "/api/v1/problems/$pid/fix" "$t2" "{\"request_id\":\"itr-$run-f1\",\"action\":\"更换温控器，复测 3℃\"}"
is "the same fix again: the same answer" "200 fixed" "$status $(jq -r .status <<<"$body")"
is "the same fix again: the very first body (fixed_at included)" "$first_fix" "$(jq -cS . <<<"$body")"
http POST "/api/v1/problems/$pid/fix" "$t2" "{\"request_id\":\"itr-$run-f2\",\"action\":\"again\"}"
is "fixing a fixed problem: 409" 409 "$status"
http GET "/api/v1/checklists/catering?kind=daily&business_id=$b2" "$t2"
is "fixed: gone from the checklist" 0 "$(jq -r '.open_problems | length' <<<"$body")"
is "events: ledger.accepted, problem.opened, problem.fixed" "1 1 1" \
    "$(q "SELECT (SELECT count(*) FROM outbox WHERE topic = 'ledger.accepted' AND key = '$b1'),
                 (SELECT count(*) FROM outbox WHERE topic = 'problem.opened' AND key = '$b2'),
                 (SELECT count(*) FROM outbox WHERE topic = 'problem.fixed' AND key = '$b2')" | tr '|' ' ')"
is "audit entries for the records and the fix" 3 \
    "$(q "SELECT count(*) FROM audit_log WHERE request_id IN ('itr-$run-1', 'itr-$run-12', 'itr-$run-f1')")"
http GET "/api/v1/businesses/$b2/records?kind=daily&from=$(day -7)&to=$today" "$t2"
is "records list: two, the failed item with its note" "2 D07 冷柜温度 9℃" \
    "$(jq -r '"\(.items | length) \(.items[1].failed[0].code) \(.items[1].failed[0].note)"' <<<"$body")"

# --- Redis: done bitmap and counters -----------------------------------------------------
is "the done bit of business 1 is set" 1 "$(rc GETBIT "lz:done:daily:$today" "$b1")"
is "the community counter is 2 (b1, b2)" 2 "$(rc HGET "lz:cnt:daily:$today" "$comm:submitted")"
is "the community's problems counter is 1" 1 "$(rc HGET "lz:cnt:daily:$today" "$comm:problems")"
http POST /api/v1/records "$t1" "$good"
is "a redelivered record does not count twice" 2 "$(rc HGET "lz:cnt:daily:$today" "$comm:submitted")"
rc DEL "lz:done:daily:$today" >/dev/null 2>&1 || true
rc HDEL "lz:cnt:daily:$today" "$comm:submitted" >/dev/null
"$LZ_ROOT/build/bin/liangze" cache rebuild --kind daily --period "$today" >/dev/null
is "cache rebuild restores the bit" 1 "$(rc GETBIT "lz:done:daily:$today" "$b1")"
is "cache rebuild restores the counter" 2 "$(rc HGET "lz:cnt:daily:$today" "$comm:submitted")"
is "the district counter matches PostgreSQL" \
    "$(q "SELECT count(*) FROM records WHERE kind = 'daily' AND period = '$today' AND region_code LIKE '980101%'")" \
    "$(rc HGET "lz:cnt:daily:$today" "980101000000:submitted")"

# --- concurrent retries with one request_id --------------------------------------------------
t3=$(lz_token business "itr-b3-$run" --business "$b3")
body3=$(rec "itr-$run-c" "$b3" "$today" "$(items)")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; lz_stop_all' EXIT
cpids=()
for i in $(seq 1 10); do
    curl -s -o "$tmp/c$i" -w '%{http_code}\n' -H "Authorization: Bearer $t3" \
        -H 'Content-Type: application/json' --data-binary "$body3" "$LZ_API/api/v1/records" >"$tmp/s$i" &
    cpids+=($!)
done
wait "${cpids[@]}"
is "10 parallel retries: all 201" 10 "$(cat "$tmp"/s* | grep -c '^201$')"
is "10 parallel retries: one answer" 1 "$(cat "$tmp"/c* | sort -u | wc -l)"
is "10 parallel retries: exactly one row" 1 "$(q "SELECT count(*) FROM records WHERE business_id = $b3")"

# --- a parallel burst: groups on both lanes, counters summed per group, exact ----------------
# 60 late records (yesterday's) in a community of their own, every other one with a failed
# item, 30 at a time: the workers' lanes write them in groups, and the Redis script of each
# group sums the counters of its new records; every counter must equal PostgreSQL.
comm3=$(printf '980101001%03d' $(((10#${comm:9:3} + 500) % 999 + 1)))
q "INSERT INTO regions (code, name, level, parent_code) VALUES
   ('$comm3', '测试社区三', 'community', '980101001000') ON CONFLICT DO NOTHING" >/dev/null
mapfile -t grp < <(mk 60)
q "UPDATE businesses SET region_code = '$comm3' WHERE id IN ($(IFS=,; echo "${grp[*]}"))" >/dev/null
yday=$(day -1)
fail1=${codes%% *}
fail1=${fail1%%:*}
town0=$(rc HGET "lz:cnt:daily:$yday" "980101001000:submitted")
k=0
for b in "${grp[@]}"; do
    if [ $((k++ % 2)) = 0 ]; then
        rec "itr-$run-g-$b" "$b" "$yday" "$(items "$fail1")" >"$tmp/g$b"
    else
        rec "itr-$run-g-$b" "$b" "$yday" "$(items)" >"$tmp/g$b"
    fi
done
printf '%s\n' "${grp[@]}" | xargs -P 30 -I{} curl -s -m 30 -o /dev/null -w '%{http_code}\n' \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    --data-binary "@$tmp/g{}" "$LZ_API/api/v1/records" >"$tmp/grp"
is "the parallel burst: 60 answered 201" 60 "$(grep -c '^201$' "$tmp/grp")"
sql3() { q "SELECT $1 FROM records WHERE kind = 'daily' AND period = '$yday' AND region_code = '$comm3'"; }
is "its records are late, 60 in PostgreSQL" 60 "$(sql3 "count(*) FILTER (WHERE status = 'late')")"
is "the community's submitted counter equals PostgreSQL" "$(sql3 'count(*)')" \
    "$(rc HGET "lz:cnt:daily:$yday" "$comm3:submitted")"
is "its late counter equals PostgreSQL" "$(sql3 "count(*) FILTER (WHERE status = 'late')")" \
    "$(rc HGET "lz:cnt:daily:$yday" "$comm3:late")"
is "its problems counter equals PostgreSQL (30 failed items)" "$(sql3 'sum(cardinality(failed_codes))')" \
    "$(rc HGET "lz:cnt:daily:$yday" "$comm3:problems")"
is "the township counted the 60 once each" 60 \
    $(($(rc HGET "lz:cnt:daily:$yday" "980101001000:submitted") - ${town0:-0}))
missing=0
for b in "${grp[@]}"; do
    [ "$(rc GETBIT "lz:done:daily:$yday" "$b")" = 1 ] || missing=$((missing + 1))
done
is "every one of them is in the bitmap" 0 "$missing"

# --- kill -9 of the intake worker during a burst of 200 --------------------------------------
mapfile -t burst < <(mk 200)
is "200 more businesses" 200 "${#burst[@]}"
: >"$tmp/burst"
for b in "${burst[@]}"; do
    rec "itr-$run-k-$b" "$b" "$today" "$(items)" >"$tmp/k$b"
done
printf '%s\n' "${burst[@]}" | xargs -P 16 -I{} curl -s -m 30 -o /dev/null -w '{} %{http_code}\n' \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    --data-binary "@$tmp/k{}" "$LZ_API/api/v1/records" >>"$tmp/burst" &
burst_pid=$!
sleep 0.2
for f in "$LZ_PIDDIR"/*.pid; do
    [ "$(cat "$f")" = intake ] || continue
    p=$(basename "$f" .pid)
    [ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$$" ] || continue
    kill -9 "$p"
    wait "$p" 2>/dev/null
    rm -f "$f"
done
echo "# killed intake -9 with $(q "SELECT count(*) FROM records WHERE kind = 'daily' AND period = '$today'
    AND region_code = '$comm'") records of this community written"
lz_start intake >/dev/null
wait $burst_pid
got=$(awk '$2 == 201 {print $1}' "$tmp/burst")
n201=$(wc -w <<<"$got")
echo "# burst: $n201 of 200 answered 201, $(awk '$2 != 201' "$tmp/burst" | wc -l) otherwise"
check "some of the burst answered 201" [ "$n201" -gt 0 ]
ids=$(tr '\n' ',' <<<"$got")
ids=${ids%,}
is "every 201 is in PostgreSQL" "$n201" \
    "$(q "SELECT count(*) FROM records WHERE kind = 'daily' AND period = '$today' AND business_id IN (${ids:-0})")"
missing=0
for b in $got; do
    [ "$(rc GETBIT "lz:done:daily:$today" "$b")" = 1 ] || missing=$((missing + 1))
done
is "every 201 is in the bitmap" 0 "$missing"
is "none twice in PostgreSQL" 0 \
    "$(q "SELECT count(*) FROM (SELECT business_id FROM records WHERE period = '$today' AND kind = 'daily'
          AND region_code = '$comm' GROUP BY business_id HAVING count(*) > 1) x")"
rows=$(q "SELECT count(*) FROM records WHERE kind = 'daily' AND period = '$today' AND region_code = '$comm'")
cnt=$(rc HGET "lz:cnt:daily:$today" "$comm:submitted")
check "the counter never passes PostgreSQL ($cnt <= $rows)" [ "$cnt" -le "$rows" ]
"$LZ_ROOT/build/bin/liangze" cache rebuild --kind daily --period "$today" >/dev/null
is "after a rebuild the counter equals PostgreSQL" "$rows" "$(rc HGET "lz:cnt:daily:$today" "$comm:submitted")"

# --- a business moved or suspended after its last record (nothing of it may be remembered) ----
comm2=$(printf '980101001%03d' $(((10#${comm:9:3}) % 999 + 1)))
q "INSERT INTO regions (code, name, level, parent_code) VALUES
   ('$comm2', '测试社区二', 'community', '980101001000') ON CONFLICT DO NOTHING" >/dev/null
read -r b5 b6 < <(mk 2 | tr '\n' ' ')
t5=$(lz_token business "itr-b5-$run" --business "$b5")
t6=$(lz_token business "itr-b6-$run" --business "$b6")
http POST /api/v1/records "$t5" "$(rec "itr-$run-h1" "$b5" "$(day -1)" "$(items)")"
is "a first record of b5: 201" 201 "$status"
http POST /api/v1/records "$t6" "$(rec "itr-$run-h2" "$b6" "$(day -1)" "$(items)")"
is "a first record of b6: 201" 201 "$status"
q "UPDATE businesses SET region_code = '$comm2' WHERE id = $b5" >/dev/null
q "UPDATE businesses SET status = 'suspended' WHERE id = $b6" >/dev/null
http POST /api/v1/records "$t5" "$(rec "itr-$run-h3" "$b5" "$today" "$(items)")"
is "b5 moved to another community since: 201" 201 "$status"
is "its record lies in its new community" "$comm2" \
    "$(q "SELECT region_code FROM records WHERE id = $(jq -r '.id // 0' <<<"$body")")"
http POST /api/v1/records "$t6" "$(rec "itr-$run-h4" "$b6" "$today" "$(items)")"
is "b6 suspended since: 400 business_id" "400 business_id" "$status $(field)"
tap_done
