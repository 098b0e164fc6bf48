#!/usr/bin/env bash
# it_registry_read.sh - reading the registry through the gateway: one business with its cadres,
# filtered and paged lists, coverage (应包尽包), each for admin, regulators in and out of the
# jurisdiction, a business token and cadres with and without the assignment.
#
# Fixture (inserted directly, removed and made again on every run): a fake province 970000000000,
# city 970100000000 with district 970101 (township 001, communities 001 and 002) and district
# 970102 (one community); six businesses in 970101 (grades A-D, one closed, one uncovered) and
# one in 970102; a village and a township cadre.
. "$(dirname "$0")/lib.sh"
# ports of our own, so this can run beside other tests on the same stack
export LZ_HTTP_PORT=$((18181 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25581 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
trap lz_stop_all EXIT
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
field() { jq -r '.error.field // empty' <<<"$body" 2>/dev/null; }
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$body"; }
run=$$

# --- fixture ---------------------------------------------------------------------------------
fixture=$(psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<'SQL'
BEGIN;
DELETE FROM problems WHERE region_code LIKE '9701%';
DELETE FROM visits WHERE region_code LIKE '9701%';
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9701%');
DELETE FROM cadres WHERE region_code LIKE '9701%';
DELETE FROM businesses WHERE region_code LIKE '9701%';
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('970000000000', '测试省', 'province', NULL),
  ('970100000000', '测试市', 'city', '970000000000'),
  ('970101000000', '甲区', 'district', '970100000000'),
  ('970101001000', '甲街道', 'township', '970101000000'),
  ('970101001001', '一社区', 'community', '970101001000'),
  ('970101001002', '二社区', 'community', '970101001000'),
  ('970102000000', '乙区', 'district', '970100000000'),
  ('970102001000', '乙镇', 'township', '970102000000'),
  ('970102001001', '乙村', 'community', '970102001000')
ON CONFLICT (code) DO NOTHING;
CREATE TEMP TABLE fx (k text, id bigint);
WITH b AS (
  INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, address,
                          status, head_name, head_phone, officer_name, officer_phone)
  VALUES
  ('ITRR-970101-1', '919701010000000011', '读测一号饭店', 'catering', 'A', '970101001001', '一路1号', 'active', '张一', '19701010101', '李一', '19701010201'),
  ('ITRR-970101-2', '919701010000000022', '读测二号超市', 'sales', 'B', '970101001001', '一路2号', 'active', '张二', '19701010102', '李二', '19701010202'),
  ('ITRR-970101-3', '919701010000000033', '读测三号食品厂', 'production', 'C', '970101001002', '二路3号', 'active', '张三', '19701010103', '李三', '19701010203'),
  ('ITRR-970101-4', '919701010000000044', '读测四号学校食堂', 'canteen', 'D', '970101001002', '二路4号', 'active', '张四', '19701010104', '李四', '19701010204'),
  ('ITRR-970101-5', '919701010000000055', '读测五号100%_小作坊', 'small_workshop', 'B', '970101001002', '二路5号', 'active', '张五', '19701010105', '李五', '19701010205'),
  ('ITRR-970101-6', '919701010000000066', '读测六号已关店', 'catering', 'A', '970101001002', '二路6号', 'closed', '张六', '19701010106', '李六', '19701010206'),
  ('ITRR-970102-7', '919701020000000077', '读测七号乙区饭店', 'catering', 'A', '970102001001', '乙路7号', 'active', '张七', '19701020107', '李七', '19701020207')
  RETURNING id, license_no)
INSERT INTO fx SELECT 'b' || right(license_no, 1), id FROM b;
WITH c AS (
  INSERT INTO cadres (phone, name, level, region_code, title) VALUES
  ('19701010901', '村干部王', 'village', '970101001001', '社区书记'),
  ('19701010902', '街道干部赵', 'township', '970101001000', '副主任')
  RETURNING id, phone)
INSERT INTO fx SELECT CASE WHEN phone = '19701010901' THEN 'c1' ELSE 'c2' END, id FROM c;
INSERT INTO assignments (cadre_id, business_id, region_code)
SELECT c.id, b.id, bb.region_code
FROM (VALUES ('c1', 'b1'), ('c1', 'b2'), ('c2', 'b1'), ('c2', 'b3'), ('c2', 'b4')) AS p (c, b)
JOIN fx c ON c.k = p.c JOIN fx b ON b.k = p.b JOIN businesses bb ON bb.id = b.id;
-- an ended assignment does not count
INSERT INTO assignments (cadre_id, business_id, region_code, since, until)
SELECT c.id, b.id, '970101001002', now() - interval '2 days', now() - interval '1 day'
FROM fx c, fx b WHERE c.k = 'c1' AND b.k = 'b5';
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

admin=$(lz_token admin "it-rr-admin-$run")
reg_in=$(lz_token regulator "it-rr-reg-in-$run" --region 970101000000)
reg_city=$(lz_token regulator "it-rr-reg-city-$run" --region 970100000000)
reg_out=$(lz_token regulator "it-rr-reg-out-$run" --region 970102000000)
biz1=$(lz_token business "it-rr-biz1-$run" --business "$b1")
cad1=$(lz_token cadre "it-rr-cad1-$run" --cadre "$c1")
cad2=$(lz_token cadre "it-rr-cad2-$run" --cadre "$c2")
insp=$(lz_token inspector "it-rr-insp-$run" --inspector 1)
check "tokens are made" test -n "$admin" -a -n "$reg_in" -a -n "$reg_out" -a -n "$biz1" -a -n "$cad1"

# --- one business ----------------------------------------------------------------------------
http GET "/api/v1/businesses/$b1" "$admin"
is "admin gets a business: 200" 200 "$status"
is "it has its licence" ITRR-970101-1 "$(jq -r .license_no <<<"$body")"
is "it has its people" "张一 19701010101 李一" "$(jq -r '"\(.head_name) \(.head_phone) \(.officer_name)"' <<<"$body")"
is "it lists its two current cadres, township first" "township:$c2 village:$c1" \
    "$(jq -r '[.cadres[] | "\(.level):\(.id)"] | join(" ")' <<<"$body")"
check "a cadre shows name, phone, title and since" \
    jqt '.cadres[1] | .name == "村干部王" and .phone == "19701010901" and .title == "社区书记" and (.since | test("\\+08:00$"))'
check "the list fields are there" jqt '.credit_code and .type == "catering" and .risk_grade == "A" and .region_code == "970101001001" and .status == "active" and .address'
http GET "/api/v1/businesses/$b5" "$admin"
check "an uncovered business has no cadres (ended assignments are history)" jqt '(.cadres // []) == []'
http GET "/api/v1/businesses/$b1" "$reg_in"
is "a regulator of its district: 200" 200 "$status"
http GET "/api/v1/businesses/$b1" "$reg_city"
is "a regulator of its city: 200" 200 "$status"
http GET "/api/v1/businesses/$b1" "$reg_out"
is "a regulator of another district: 404" "404 not_found" "$status $(code)"
http GET "/api/v1/businesses/$b7" "$reg_out"
is "that regulator sees its own district's business" 200 "$status"
http GET "/api/v1/businesses/$b1" "$biz1"
is "a business token gets its own business" 200 "$status"
check "with its cadres' phones (its contacts)" jqt '[.cadres[].phone] | length == 2'
http GET "/api/v1/businesses/$b2" "$biz1"
is "a business token on another business: 404" "404 not_found" "$status $(code)"
http GET "/api/v1/businesses/$b1" "$cad1"
is "a cadre on its assigned business: 200" 200 "$status"
http GET "/api/v1/businesses/$b3" "$cad1"
is "a cadre on a business not assigned to it: 404" "404 not_found" "$status $(code)"
http GET "/api/v1/businesses/$b5" "$cad1"
is "a cadre whose assignment ended: 404" 404 "$status"
http GET "/api/v1/businesses/999999999999" "$admin"
is "no such business: 404" 404 "$status"
http GET "/api/v1/businesses/abc" "$admin"
is "a non-numeric id: 400 invalid_field id" "400 invalid_field id" "$status $(code) $(field)"
http GET "/api/v1/businesses/$b1" "$insp"
is "an inspector may not read businesses: 403" 403 "$status"
http GET "/api/v1/businesses/$b1"
is "no token: 401" 401 "$status"

# --- lists -----------------------------------------------------------------------------------
ids() { jq -r '[(.items // [])[].id] | map(tostring) | join(" ")' <<<"$body"; }
http GET "/api/v1/businesses?region=970101000000" "$admin"
is "admin lists a district: all six, by id" "$b1 $b2 $b3 $b4 $b5 $b6" "$(ids)"
check "items have exactly the list fields" \
    jqt '.items[0] | keys == ["address","credit_code","id","license_no","name","region_code","risk_grade","status","type"]'
check "one page only: no next_cursor" jqt '.next_cursor == null'
http GET "/api/v1/businesses?region=970101001002&status=active" "$admin"
is "a community, active only" "$b3 $b4 $b5" "$(ids)"
http GET "/api/v1/businesses?region=970100000000&type=catering" "$admin"
is "type filter over the city" "$b1 $b6 $b7" "$(ids)"
http GET "/api/v1/businesses?region=970100000000&risk_grade=D" "$admin"
is "risk_grade filter" "$b4" "$(ids)"
http GET "/api/v1/businesses?region=970100000000&q=%E9%A3%9F%E5%93%81%E5%8E%82" "$admin"
is "q matches part of the name (食品厂)" "$b3" "$(ids)"
http GET "/api/v1/businesses?region=970100000000&q=itrr-970102" "$admin"
is "q matches the licence, case-insensitively" "$b7" "$(ids)"
http GET "/api/v1/businesses?region=970100000000&q=100%25_" "$admin"
is "q's % and _ are literal" "$b5" "$(ids)"
http GET "/api/v1/businesses?region=970100000000&q=9%25" "$admin"
is "a literal % that is not there matches nothing" "" "$(ids)"
http GET "/api/v1/businesses?region=970101000000&type=restaurant" "$admin"
is "an unknown type: 400 invalid_field type" "400 invalid_field type" "$status $(code) $(field)"
http GET "/api/v1/businesses?region=9701" "$admin"
is "a malformed region: 400 invalid_field region" "400 invalid_field region" "$status $(code) $(field)"
http GET "/api/v1/businesses?region=970199000000" "$admin"
is "a region that does not exist: 404" 404 "$status"
http GET "/api/v1/businesses?region=970101000000&limit=0" "$admin"
is "limit 0: 400 invalid_field limit" "400 invalid_field limit" "$status $(code) $(field)"
http GET "/api/v1/businesses?region=970101000000&limit=1001" "$admin"
is "limit 1001: 400" 400 "$status"

# paging: five active businesses of 970101, two at a time
http GET "/api/v1/businesses?region=970101000000&status=active&limit=2" "$admin"
p1=$(ids)
c1page=$(jq -r '.next_cursor // empty' <<<"$body")
is "page 1 has two" "$b1 $b2" "$p1"
check "page 1 has a next_cursor" [ -n "$c1page" ]
http GET "/api/v1/businesses?region=970101000000&status=active&limit=2&cursor=$c1page" "$admin"
p2=$(ids)
c2page=$(jq -r '.next_cursor // empty' <<<"$body")
is "page 2 has the next two" "$b3 $b4" "$p2"
http GET "/api/v1/businesses?region=970101000000&status=active&limit=2&cursor=$c2page" "$admin"
is "page 3 has the last one and no next_cursor" "$b5 null" "$(ids) $(jq -r '.next_cursor' <<<"$body")"
http GET "/api/v1/businesses?region=970101000000&cursor=bm90LWEtY3Vyc29y" "$admin"
is "a forged cursor: 400 invalid_field cursor" "400 invalid_field cursor" "$status $(code) $(field)"
http GET "/api/v1/businesses?region=970101000000&cursor=%21%21" "$admin"
is "a cursor that is not base64: 400" 400 "$status"

# who sees which list
http GET "/api/v1/businesses" "$reg_in"
is "a regulator without region: its own district" "$b1 $b2 $b3 $b4 $b5 $b6" "$(ids)"
http GET "/api/v1/businesses?region=970101001001" "$reg_in"
is "a regulator narrows to a community" "$b1 $b2" "$(ids)"
http GET "/api/v1/businesses?region=970101000000" "$reg_out"
is "a regulator asking for another district: 404" "404 not_found region" "$status $(code) $(field)"
http GET "/api/v1/businesses?region=970100000000" "$reg_in"
is "a regulator asking for its parent city: 404" 404 "$status"
http GET "/api/v1/businesses" "$cad1"
is "a cadre lists its assigned businesses" "$b1 $b2" "$(ids)"
http GET "/api/v1/businesses?risk_grade=D" "$cad2"
is "a cadre filters its own businesses" "$b4" "$(ids)"
http GET "/api/v1/businesses" "$biz1"
is "a business token lists only itself" "$b1" "$(ids)"

# --- coverage --------------------------------------------------------------------------------
http GET "/api/v1/coverage?region=970101000000" "$admin"
is "coverage: 200" 200 "$status"
is "coverage counts: 5 active, 4 covered" "5 4 1" \
    "$(jq -r '"\(.businesses) \(.covered) \(.uncovered_count)"' <<<"$body")"
is "coverage lists the uncovered business" "$b5" "$(jq -r '.uncovered | map(tostring) | join(" ")' <<<"$body")"
is "by level: village 2, township 3, county 0" "0 2 3" \
    "$(jq -r '"\(.by_level.county) \(.by_level.village) \(.by_level.township)"' <<<"$body")"
is "rate 0.8" "0.8" "$(jq -r .rate <<<"$body")"
http GET "/api/v1/coverage" "$reg_in"
is "a regulator without region: its own, the same numbers" "970101000000 5 4" \
    "$(jq -r '"\(.region) \(.businesses) \(.covered)"' <<<"$body")"
http GET "/api/v1/coverage?region=970101001001" "$reg_in"
is "a community fully covered: rate 1, none uncovered" "2 2 1 0" \
    "$(jq -r '"\(.businesses) \(.covered) \(.rate) \(.uncovered | length)"' <<<"$body")"
http GET "/api/v1/coverage?region=970101000000" "$reg_out"
is "coverage outside the jurisdiction: 404" "404 not_found" "$status $(code)"
http GET "/api/v1/coverage?region=970102000000" "$reg_out"
is "its own district: one active business, uncovered" "1 0 $b7" \
    "$(jq -r '"\(.businesses) \(.covered) \(.uncovered[0])"' <<<"$body")"
http GET "/api/v1/coverage" "$admin"
is "admin without region: 400 missing_field region" "400 missing_field region" "$status $(code) $(field)"
http GET "/api/v1/coverage?region=970101000000" "$cad1"
is "a cadre may not ask for coverage: 403" 403 "$status"

tap_done
