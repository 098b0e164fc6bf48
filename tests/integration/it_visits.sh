#!/usr/bin/env bash
# it_visits.sh - cadre visits through the gateway: who may record what, the rules (D grade on
# site, time window, findings), findings becoming problems, idempotent request ids, the outbox
# events and the audit entry in the same transaction, and listing a cadre's visits.
#
# Fixture (inserted directly, removed and made again on every run): city 970200000000 of the
# fake province 970000000000, district 970201 (township 001, communities 001 and 002), district
# 970202 for a regulator outside; three businesses (A, D, B), a village and a township cadre.
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18182 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25582 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
trap lz_stop_all EXIT
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
field() { jq -r '.error.field // empty' <<<"$body" 2>/dev/null; }
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$body"; }
# at OFFSET: an RFC 3339 local time OFFSET from now ("-1 hour", "+1 day")
at() { TZ=Asia/Shanghai date -d "$1" '+%Y-%m-%dT%H:%M:%S+08:00'; }
run=$$-$(date +%s)

# --- fixture ---------------------------------------------------------------------------------
fixture=$(psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<'SQL'
BEGIN;
DELETE FROM problems WHERE region_code LIKE '9702%';
DELETE FROM visits WHERE region_code LIKE '9702%';
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9702%');
DELETE FROM cadres WHERE region_code LIKE '9702%';
DELETE FROM businesses WHERE region_code LIKE '9702%';
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('970000000000', '测试省', 'province', NULL),
  ('970200000000', '访测市', 'city', '970000000000'),
  ('970201000000', '丙区', 'district', '970200000000'),
  ('970201001000', '丙街道', 'township', '970201000000'),
  ('970201001001', '丙一社区', 'community', '970201001000'),
  ('970201001002', '丙二社区', 'community', '970201001000'),
  ('970202000000', '丁区', 'district', '970200000000')
ON CONFLICT (code) DO NOTHING;
CREATE TEMP TABLE fx (k text, id bigint);
WITH b AS (
  INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, address,
                          status, head_name, head_phone, officer_name, officer_phone)
  VALUES
  ('ITVI-970201-1', '919702010000000011', '访测一号饭店', 'catering', 'A', '970201001001', '丙路1号', 'active', '周一', '19702010101', '吴一', '19702010201'),
  ('ITVI-970201-2', '919702010000000022', '访测二号学校食堂', 'canteen', 'D', '970201001002', '丙路2号', 'active', '周二', '19702010102', '吴二', '19702010202'),
  ('ITVI-970201-3', '919702010000000033', '访测三号超市', 'sales', 'B', '970201001002', '丙路3号', 'active', '周三', '19702010103', '吴三', '19702010203')
  RETURNING id, license_no)
INSERT INTO fx SELECT 'b' || right(license_no, 1), id FROM b;
WITH c AS (
  INSERT INTO cadres (phone, name, level, region_code, title) VALUES
  ('19702010901', '村干部钱', 'village', '970201001001', '社区书记'),
  ('19702010902', '街道干部孙', 'township', '970201001000', '副主任')
  RETURNING id, phone)
INSERT INTO fx SELECT CASE WHEN phone = '19702010901' THEN 'c1' ELSE 'c2' END, id FROM c;
INSERT INTO assignments (cadre_id, business_id, region_code)
SELECT c.id, b.id, bb.region_code
FROM (VALUES ('c1', 'b1'), ('c2', 'b2'), ('c2', 'b3')) AS p (c, b)
JOIN fx c ON c.k = p.c JOIN fx b ON b.k = p.b JOIN businesses bb ON bb.id = b.id;
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

lz_start_suite || {
    not_ok "the suite starts"
    tap_done
    exit 1
}
ok "the suite starts"

admin=$(lz_token admin "it-vi-admin-$run")
reg_in=$(lz_token regulator "it-vi-reg-in-$run" --region 970201000000)
reg_out=$(lz_token regulator "it-vi-reg-out-$run" --region 970202000000)
biz1=$(lz_token business "it-vi-biz1-$run" --business "$b1")
cad1=$(lz_token cadre "it-vi-cad1-$run" --cadre "$c1")
cad2=$(lz_token cadre "it-vi-cad2-$run" --cadre "$c2")
check "tokens are made" test -n "$admin" -a -n "$reg_in" -a -n "$reg_out" -a -n "$cad1" -a -n "$cad2"

# --- recording -------------------------------------------------------------------------------
t1=$(at '-1 hour')
rid="it-vi-1-$run"
visit1="{\"request_id\":\"$rid\",\"cadre_id\":$c1,\"business_id\":$b1,\"visited_at\":\"$t1\",
 \"findings\":[{\"description\":\"冷柜温度 9℃\",\"action\":\"已通知调整\",\"fixed\":false},
               {\"description\":\"留样不足\",\"action\":\"当场补足留样\",\"fixed\":true}],
 \"note\":\"联系电话 13800138000\"}"
http POST /api/v1/visits "$cad1" "$visit1"
is "an assigned cadre records a visit: 201" 201 "$status"
v1=$(jq -r .id <<<"$body")
is "one problem stays open" 1 "$(jq -r .problems_open <<<"$body")"
is "the visit is stored on site, at its time" "$c1|$b1|on_site|970201001001|$t1" \
    "$(q "SELECT cadre_id, business_id, mode, region_code, to_char(visited_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"') FROM visits WHERE id = $v1")"
is "findings became problems: one fixed at the visit, one open" "f|留样不足|t|当场补足留样
t|冷柜温度 9℃|f|" \
    "$(q "SELECT fixed_at IS NULL, description, coalesce(fixed_at = opened_at, false), coalesce(fixed_action, '') FROM problems WHERE source = 'visit' AND source_id = $v1 ORDER BY fixed_at IS NULL")"
is "problems are opened at visited_at" 2 \
    "$(q "SELECT count(*) FROM problems p JOIN visits v ON v.id = p.source_id WHERE p.source = 'visit' AND v.id = $v1 AND p.opened_at = v.visited_at")"
is "outbox: visit.recorded and problem.opened, keyed by the business" "problem.opened|$b1
visit.recorded|$b1" \
    "$(q "SELECT topic, key FROM outbox WHERE key = '$b1' AND topic IN ('visit.recorded', 'problem.opened') AND created_at > now() - interval '5 minutes' ORDER BY topic")"
is "an audit entry names the visit and the request id" "visit.record|cadre" \
    "$(q "SELECT action, actor_role FROM audit_log WHERE request_id = '$rid' AND object = 'visits/$v1'")"
check "the phone in the note is not logged unmasked" \
    bash -c "! grep -rqs 13800138000 '$LZ_LOGDIR'"

http POST /api/v1/visits "$cad1" "$visit1"
is "the same request_id again: 201 with the same id" "201 $v1" "$status $(jq -r .id <<<"$body")"
is "and still one visit row" 1 "$(q "SELECT count(*) FROM visits WHERE request_id = '$rid'")"
is "and still two problems" 2 "$(q "SELECT count(*) FROM problems WHERE source = 'visit' AND source_id = $v1")"
http POST /api/v1/visits "$admin" "$visit1"
is "the same request_id from another caller: 409" "409 conflict" "$status $(code)"

# concurrent duplicates: exactly one row
rid2="it-vi-burst-$run"
body2="{\"request_id\":\"$rid2\",\"business_id\":$b1,\"visited_at\":\"$(at '-2 hours')\",\"mode\":\"video\"}"
burst=()
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -H "Authorization: Bearer $cad1" -H 'Content-Type: application/json' \
        --data-binary "$body2" "$LZ_API/api/v1/visits" &
    burst+=($!)
done
wait "${burst[@]}" # only the curls: the suite's processes are children too
is "six concurrent retries of one request_id: one row" 1 "$(q "SELECT count(*) FROM visits WHERE request_id = '$rid2'")"
http POST /api/v1/visits "$cad1" "$body2"
is "cadre_id may be left out by a cadre; video is fine for grade A" "201 video" \
    "$status $(q "SELECT mode FROM visits WHERE request_id = '$rid2'")"

http POST /api/v1/visits "$cad1" \
    "{\"request_id\":\"it-vi-2-$run\",\"cadre_id\":$c1,\"business_id\":$b3,\"visited_at\":\"$t1\"}"
is "a business not assigned to the cadre: 404 business_id" "404 not_found business_id" "$status $(code) $(field)"
http POST /api/v1/visits "$cad1" \
    "{\"request_id\":\"it-vi-3-$run\",\"cadre_id\":$c2,\"business_id\":$b2,\"visited_at\":\"$t1\"}"
is "a cadre recording as another cadre: 403 cadre_id" "403 forbidden cadre_id" "$status $(code) $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-4-$run\",\"cadre_id\":$c2,\"business_id\":$b2,\"visited_at\":\"$t1\",\"mode\":\"video\"}"
is "a D-grade business by video: 400 invalid_field mode" "400 invalid_field mode" "$status $(code) $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-4-$run\",\"cadre_id\":$c2,\"business_id\":$b2,\"visited_at\":\"$t1\",\"mode\":\"on_site\"}"
is "the same request_id after a refusal, on site: 201 (a refusal stores nothing)" 201 "$status"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-5-$run\",\"business_id\":$b3,\"visited_at\":\"$(at '+1 day')\"}"
is "a visit in the future: 400 invalid_field visited_at" "400 invalid_field visited_at" "$status $(code) $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-6-$run\",\"business_id\":$b3,\"visited_at\":\"$(at '-40 days')\"}"
is "a visit older than 30 days: 400 visited_at" "400 visited_at" "$status $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-7-$run\",\"business_id\":$b3,\"visited_at\":\"yesterday\"}"
is "visited_at not RFC 3339: 400" "400 visited_at" "$status $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-8-$run\",\"business_id\":$b3,\"visited_at\":\"$t1\",\"mode\":\"phone\"}"
is "an unknown mode: 400 mode" "400 mode" "$status $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-9-$run\",\"business_id\":$b3,\"visited_at\":\"$t1\",\"findings\":[{\"description\":\"x\"},{\"action\":\"y\"}]}"
is "a finding without description: 400 naming it" "400 missing_field findings[1].description" \
    "$status $(code) $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-10-$run\",\"business_id\":$b3,\"visited_at\":\"$t1\",\"findings\":[{\"description\":\"x\",\"fixed\":true}]}"
is "a fixed finding without its action: 400 naming it" "400 findings[0].action" "$status $(field)"
http POST /api/v1/visits "$cad2" \
    "{\"request_id\":\"it-vi-11-$run\",\"business_id\":$b3,\"visited_at\":\"$t1\",\"colour\":1}"
is "an unknown member: 400 invalid_field" "400 invalid_field colour" "$status $(code) $(field)"
http POST /api/v1/visits "$reg_in" \
    "{\"request_id\":\"it-vi-12-$run\",\"cadre_id\":$c1,\"business_id\":$b1,\"visited_at\":\"$t1\"}"
is "a regulator may not record visits: 403" 403 "$status"
http POST /api/v1/visits "$admin" \
    "{\"request_id\":\"it-vi-13-$run\",\"cadre_id\":$c2,\"business_id\":$b3,\"visited_at\":\"$t1\",\"mode\":\"joint\"}"
is "an admin records for an assigned cadre: 201" "201 0" "$status $(jq -r .problems_open <<<"$body")"
http POST /api/v1/visits "$admin" \
    "{\"request_id\":\"it-vi-14-$run\",\"cadre_id\":$c2,\"business_id\":$b1,\"visited_at\":\"$t1\"}"
is "an admin for a cadre not assigned: 404 business_id" "404 business_id" "$status $(field)"
http POST /api/v1/visits "$admin" \
    "{\"request_id\":\"it-vi-15-$run\",\"business_id\":$b1,\"visited_at\":\"$t1\"}"
is "an admin must name the cadre: 400 missing_field cadre_id" "400 missing_field cadre_id" \
    "$status $(code) $(field)"
http POST /api/v1/visits "$admin" \
    "{\"request_id\":\"it-vi-16-$run\",\"cadre_id\":999999999999,\"business_id\":$b1,\"visited_at\":\"$t1\"}"
is "an admin naming no such cadre: 404 cadre_id" "404 cadre_id" "$status $(field)"
refused=""
for n in 2 3 5 6 7 8 9 10 11 12 14 15 16; do refused+="${refused:+,}'it-vi-$n-$run'"; done
is "refused visits wrote nothing, nor claimed their request ids" "0|0" \
    "$(q "SELECT (SELECT count(*) FROM visits WHERE request_id IN ($refused)), (SELECT count(*) FROM write_requests WHERE request_id IN ($refused))")"

# --- listing a cadre's visits ------------------------------------------------------------------
vids() { jq -r '[(.items // [])[].id] | map(tostring) | join(" ")' <<<"$body"; }
http GET "/api/v1/cadres/$c1/visits" "$cad1"
is "a cadre lists its own visits: 200, two" "200 2" "$status $(jq -r '.items | length' <<<"$body")"
check "oldest first, with the business name and local time" \
    jqt ".items[1].id == $v1 and .items[1].business_name == \"访测一号饭店\" and .items[1].visited_at == \"$t1\" and .items[1].mode == \"on_site\""
http GET "/api/v1/cadres/$c1/visits?limit=1" "$cad1"
cur=$(jq -r '.next_cursor // empty' <<<"$body")
first=$(vids)
http GET "/api/v1/cadres/$c1/visits?limit=1&cursor=$cur" "$cad1"
is "paging by one: the second page has the other visit, no more" "$v1 null" "$(vids) $(jq -r .next_cursor <<<"$body")"
check "and the first page had another one" test -n "$first" -a "$first" != "$v1"
http GET "/api/v1/cadres/$c1/visits?from=$(at '-90 minutes' | sed 's/+/%2B/')" "$cad1"
is "from narrows the window" "$v1" "$(vids)"
http GET "/api/v1/cadres/$c2/visits" "$cad1"
is "a cadre on another cadre's visits: 404" "404 not_found" "$status $(code)"
http GET "/api/v1/cadres/$c1/visits" "$reg_in"
is "a regulator of the cadre's district: 200" 200 "$status"
http GET "/api/v1/cadres/$c1/visits" "$reg_out"
is "a regulator of another district: 404" 404 "$status"
http GET "/api/v1/cadres/$c2/visits" "$admin"
is "admin: the township cadre's two visits" 2 "$(jq -r '.items | length' <<<"$body")"
http GET "/api/v1/cadres/$c1/visits" "$biz1"
is "a business token: 403" 403 "$status"
http GET "/api/v1/cadres/$c1/visits?from=2026-13-01" "$admin"
is "a bad from: 400 invalid_field from" "400 invalid_field from" "$status $(code) $(field)"

tap_done
