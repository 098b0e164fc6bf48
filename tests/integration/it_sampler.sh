#!/usr/bin/env bash
# it_sampler.sh - quarterly spot checks through the gateway: a plan drawn from a fixture
# district (a stratum of 4 taken whole, strata of 10 and 8 drawn down to 6), two inspectors
# per business never one of its cadres nor a declared conflict, the same inputs giving the
# same list again, another seed another list, verification over HTTP and by the CLI (a
# second process), a tampered list detected, the list hidden from business and cadre
# tokens, inspections by assigned inspectors only, and the published results (JSON, CSV).
#
# Fixture (inserted directly, removed and made again on every run): city 964000000000 of
# the fake province 960000000000, district 964001 (township 001 with communities 001 (4
# businesses) and 002 (10), township 002 with community 001 (8)), district 964002 for a
# regulator outside; 5 inspectors in 964001, one of them (phone 19640010901) also the
# cadre of every business of community 964001001002.
export LZ_BROKER_PORT=55640 LZ_HTTP_PORT=18240
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=18240 LZ_BROKER_PORT=55640
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
CLI=${LZ_SAMPLE_CLI:-$LZ_ROOT/build/bin/liangze}
trap lz_stop_all EXIT
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
run=$$-$(date +%s)
Q1=2031-Q1
Q2=2031-Q2

# --- fixture ---------------------------------------------------------------------------------
cleanup_sql="
DELETE FROM problems WHERE region_code LIKE '964001%';
DELETE FROM inspections WHERE region_code LIKE '964001%';
DELETE FROM sampling_items WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9640%');
DELETE FROM sampling_exclusions WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9640%');
DELETE FROM sampling_roster WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9640%');
DELETE FROM sampling_frame WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9640%');
DELETE FROM sampling_plans WHERE region_code LIKE '9640%';
DELETE FROM inspection_conflicts WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9640%');
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9640%');
DELETE FROM cadres WHERE region_code LIKE '9640%';
DELETE FROM inspectors WHERE region_code LIKE '9640%';
DELETE FROM businesses WHERE region_code LIKE '9640%';"
fixture=$(psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<SQL
BEGIN;
$cleanup_sql
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('960000000000', '抽测省', 'province', NULL),
  ('964000000000', '抽测市', 'city', '960000000000'),
  ('964001000000', '抽一区', 'district', '964000000000'),
  ('964001001000', '抽一街道', 'township', '964001000000'),
  ('964001001001', '抽一社区', 'community', '964001001000'),
  ('964001001002', '抽二社区', 'community', '964001001000'),
  ('964001002000', '抽二街道', 'township', '964001000000'),
  ('964001002001', '抽三社区', 'community', '964001002000'),
  ('964002000000', '抽二区', 'district', '964000000000')
ON CONFLICT (code) DO NOTHING;
INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, status,
                        head_name, head_phone, officer_name, officer_phone)
SELECT 'ITSA-' || c || '-' || i, '919640010000000000', '抽测' || c || '号店' || i, 'catering',
       (ARRAY['A','B','C','D'])[1 + i % 4], c, 'active', '头' || i, '19640010' || lpad(i::text, 3, '0'),
       '员' || i, '19640011' || lpad(i::text, 3, '0')
FROM (VALUES ('964001001001', 4), ('964001001002', 10), ('964001002001', 8)) AS s (c, n),
     generate_series(1, n) AS i;
INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, status,
                        head_name, head_phone, officer_name, officer_phone)
VALUES ('ITSA-closed', '919640010000000000', '抽测已关店', 'sales', 'A', '964001001001', 'closed',
        '关', '19640012001', '关', '19640012002');
INSERT INTO inspectors (phone, name, region_code, badge_no)
SELECT '1964001090' || i, '检查员' || i, '964001000000', 'ITSA-B' || i FROM generate_series(1, 5) i;
INSERT INTO inspectors (phone, name, region_code, badge_no)
VALUES ('19640020901', '外区检查员', '964002000000', 'ITSA-OUT');
INSERT INTO cadres (phone, name, level, region_code, title)
VALUES ('19640010901', '检查员1兼干部', 'village', '964001001002', '社区书记');
INSERT INTO assignments (cadre_id, business_id, region_code)
SELECT c.id, b.id, b.region_code FROM cadres c, businesses b
WHERE c.phone = '19640010901' AND b.region_code = '964001001002';
SELECT 'i' || right(phone, 1) || '=' || id FROM inspectors WHERE region_code = '964001000000'
UNION ALL SELECT 'cad=' || id FROM cadres WHERE phone = '19640010901'
UNION ALL SELECT 'bsmall=' || min(id) FROM businesses WHERE region_code = '964001001001'
UNION ALL SELECT 'bconf=' || min(id) FROM businesses WHERE region_code = '964001002001';
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

lz_start broker >/dev/null
lz_start intake >/dev/null
lz_start sampler >/dev/null
lz_start gateway >/dev/null
lz_wait_http || {
    not_ok "broker, intake, sampler and gateway start"
    tap_done
    exit 1
}
ok "broker, intake, sampler and gateway start"

admin=$(lz_token admin "it-sa-admin-$run")
reg=$(lz_token regulator "it-sa-reg-$run" --region 964001000000)
reg_out=$(lz_token regulator "it-sa-reg-out-$run" --region 964002000000)
biz=$(lz_token business "it-sa-biz-$run" --business "$bsmall")
cad=$(lz_token cadre "it-sa-cad-$run" --cadre "$cad")
declare -A insp
for k in 1 2 3 4 5; do
    v=i$k
    insp[$k]=$(lz_token inspector "it-sa-insp$k-$run" --inspector "${!v}")
done
check "tokens are made" test -n "$admin" -a -n "$reg" -a -n "$biz" -a -n "$cad" -a -n "${insp[5]}"

# --- a declared conflict, before the draw -----------------------------------------------------
http POST /api/v1/sampling/conflicts "${insp[2]}" \
    "{\"request_id\":\"it-sa-conf-$run\",\"business_id\":$bconf,\"reason\":\"亲属经营\"}"
is "an inspector declares a conflict: 201" 201 "$status"
is "the conflict is stored" 1 "$(q "SELECT count(*) FROM inspection_conflicts WHERE inspector_id = $i2 AND business_id = $bconf")"

# --- drawing ---------------------------------------------------------------------------------
plan_body="{\"request_id\":\"it-sa-plan-$run\",\"quarter\":\"$Q1\",\"region\":\"964001000000\",\"seed\":\"2031-01-05 双色球 03 11 17 21 28 33 + 09\",\"settings\":{\"n_per_stratum\":6}}"
http POST /api/v1/sampling/plans "$reg" "$plan_body"
is "a regulator draws a plan: 201" 201 "$status"
plan=$(jq -r .id <<<"$body")
hash1=$(jq -r .list_hash <<<"$body")
is "3 strata, 22 active in the frame, 4 + 6 + 6 drawn" "3 22 16 lz-sample-v1" \
    "$(jq -r '"\(.strata_count) \(.frame_size) \(.drawn) \(.algorithm)"' <<<"$body")"
http POST /api/v1/sampling/plans "$reg" "$plan_body"
is "the same request_id again: the same plan" "201 $plan" "$status $(jq -r .id <<<"$body")"
http POST /api/v1/sampling/plans "$reg" "${plan_body/it-sa-plan-/it-sa-plan-again-}"
is "a second plan for the same quarter and region: 409" "409 conflict" "$status $(code)"
http POST /api/v1/sampling/plans "$reg_out" "${plan_body/it-sa-plan-/it-sa-plan-out-}"
is "a regulator of another district: 404" 404 "$status"
http POST /api/v1/sampling/plans "$biz" "${plan_body/it-sa-plan-/it-sa-plan-biz-}"
is "a business token cannot draw: 403" 403 "$status"
http POST /api/v1/sampling/plans "$reg" "{\"request_id\":\"it-sa-bad-$run\",\"quarter\":\"2031-13\",\"region\":\"964001000000\",\"seed\":\"x\"}"
is "a quarter that is not one: 400 quarter" "400 quarter" "$status $(jq -r .error.field <<<"$body")"

http GET "/api/v1/sampling/plans/$plan" "$reg"
is "the regulator reads the plan" 200 "$status"
is "the stratum of 4 is drawn whole, the others down to 6" "964001001001 4 4
964001001002 10 6
964001002001 8 6" "$(jq -r '.strata[] | "\(.region) \(.size) \(.drawn | length)"' <<<"$body")"
is "every drawn business has two different inspectors" 16 \
    "$(jq '[.strata[].drawn[] | select((.inspectors | length) == 2 and .inspectors[0].id != .inspectors[1].id)] | length' <<<"$body")"
is "all pending" 16 "$(jq '[.strata[].drawn[] | select(.status == "pending")] | length' <<<"$body")"
is "no inspector is one of the business's cadres (same phone)" 0 \
    "$(q "SELECT count(*) FROM sampling_items si JOIN assignments a ON a.business_id = si.business_id AND a.until IS NULL JOIN cadres c ON c.id = a.cadre_id JOIN inspectors i ON i.phone = c.phone AND i.id IN (si.inspector_1, si.inspector_2) WHERE si.plan_id = $plan")"
is "inspector 1 (their cadre) is excluded from the 6 drawn of community 964001001002" 6 \
    "$(q "SELECT count(*) FROM sampling_exclusions WHERE plan_id = $plan AND inspector_id = $i1 AND reason = 'cadre'")"
is "no inspector is one with a declared conflict" 0 \
    "$(q "SELECT count(*) FROM sampling_items WHERE plan_id = $plan AND business_id = $bconf AND $i2 IN (inspector_1, inspector_2)")"
is "the load is spread: 32 slots over 5 inspectors, at most 1 apart" 1 \
    "$(q "SELECT max(n) - min(n) <= 1 FROM (SELECT i, count(*) n FROM sampling_items, LATERAL (VALUES (inspector_1), (inspector_2)) v (i) WHERE plan_id = $plan GROUP BY i) x" | sed 's/t/1/;s/f/0/')"
is "no event announces the plan" 0 "$(q "SELECT count(*) FROM outbox WHERE payload::text LIKE '%964001%' AND topic LIKE 'sampling%'")"

# --- verification ----------------------------------------------------------------------------
http GET "/api/v1/sampling/plans/$plan/verify" "$reg"
is "verify over HTTP: match" "200 true" "$status $(jq -r .match <<<"$body")"
is "verify names the stored and recomputed hash" "$hash1 $hash1" \
    "$(jq -r '"\(.stored_hash) \(.recomputed_hash)"' <<<"$body")"
out=$("$CLI" sample verify "$plan" 2>&1)
rc=$?
is "liangze sample verify (a second process): match, exit 0" "0 match" "$rc $(tail -n1 <<<"$out")"

# tamper with the stored list: swap a drawn business for one that was not drawn
victim=$(q "SELECT business_id FROM sampling_items WHERE plan_id = $plan AND stratum = '964001001002' ORDER BY position LIMIT 1")
other=$(q "SELECT id FROM businesses WHERE region_code = '964001001002' AND status = 'active' AND id NOT IN (SELECT business_id FROM sampling_items WHERE plan_id = $plan) LIMIT 1")
q "UPDATE sampling_items SET business_id = $other WHERE plan_id = $plan AND business_id = $victim" >/dev/null
http GET "/api/v1/sampling/plans/$plan/verify" "$admin"
is "a list altered in the database: match false" "200 false" "$status $(jq -r .match <<<"$body")"
check "the altered rows hash differently from the stored hash" \
    test "$(jq -r .items_hash <<<"$body")" != "$(jq -r .stored_hash <<<"$body")"
out=$("$CLI" sample verify "$plan" 2>&1)
rc=$?
is "the CLI says MISMATCH, exit 1" "1 MISMATCH" "$rc $(tail -n1 <<<"$out")"
q "UPDATE sampling_items SET business_id = $victim WHERE plan_id = $plan AND business_id = $other" >/dev/null
q "UPDATE sampling_frame SET weight = weight % 4 + 1 WHERE plan_id = $plan AND business_id = $other" >/dev/null
http GET "/api/v1/sampling/plans/$plan/verify" "$admin"
is "a stored frame altered: match false" "false" "$(jq -r .match <<<"$body")"
q "UPDATE sampling_frame SET weight = CASE weight WHEN 1 THEN 4 ELSE weight - 1 END WHERE plan_id = $plan AND business_id = $other" >/dev/null
http GET "/api/v1/sampling/plans/$plan/verify" "$admin"
is "restored: match again" "true" "$(jq -r .match <<<"$body")"

# --- hidden until visited --------------------------------------------------------------------
for who in biz cad reg_out; do
    http GET "/api/v1/sampling/plans/$plan" "${!who}"
    is "$who asking for the plan: 404" 404 "$status"
    http GET "/api/v1/sampling/plans/$plan/verify" "${!who}"
    is "$who asking to verify it: 404" 404 "$status"
done
http GET "/api/v1/sampling/plans/$plan/results" "$biz"
is "a business token asking for the results: 404" 404 "$status"

# an assigned inspector sees its own businesses only
first=$(q "SELECT business_id || ' ' || inspector_1 FROM sampling_items WHERE plan_id = $plan ORDER BY stratum, position LIMIT 1")
fb=${first% *}
fi_id=${first#* }
fk=
for k in 1 2 3 4 5; do v=i$k; [ "${!v}" = "$fi_id" ] && fk=$k; done
http GET "/api/v1/sampling/plans/$plan" "${insp[$fk]}"
is "an assigned inspector reads the plan: 200" 200 "$status"
is "and sees only the businesses it is assigned to" \
    "$(q "SELECT count(*) FROM sampling_items WHERE plan_id = $plan AND $fi_id IN (inspector_1, inspector_2)")" \
    "$(jq '[.strata[].drawn[]] | length' <<<"$body")"

# --- inspections -----------------------------------------------------------------------------
nk=
for k in 1 2 3 4 5; do
    v=i$k
    [ -z "$(q "SELECT 1 FROM sampling_items WHERE plan_id = $plan AND business_id = $fb AND ${!v} IN (inspector_1, inspector_2)")" ] && nk=$k
done
insp_body="{\"request_id\":\"it-sa-insp-$run\",\"plan_id\":$plan,\"business_id\":$fb,\"outcome\":\"fail\",
 \"findings\":[{\"description\":\"冷库温度超标\",\"action\":\"责令整改\",\"fixed\":false},
               {\"description\":\"台账缺三天\",\"action\":\"当场补录\",\"fixed\":true}]}"
http POST /api/v1/inspections "${insp[$nk]}" "${insp_body/it-sa-insp-/it-sa-insp-other-}"
is "an inspection by an inspector not assigned: 403" "403 forbidden" "$status $(code)"
http POST /api/v1/inspections "$reg" "${insp_body/it-sa-insp-/it-sa-insp-reg-}"
is "an inspection by a regulator: 403" 403 "$status"
http POST /api/v1/inspections "${insp[$fk]}" "$insp_body"
is "the assigned inspector records the inspection: 201" 201 "$status"
iid=$(jq -r .id <<<"$body")
is "one problem stays open" 1 "$(jq -r .problems_open <<<"$body")"
is "findings became problems with source inspection" "2 1" \
    "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE fixed_at IS NULL) FROM problems WHERE source = 'inspection' AND source_id = $iid")"
is "outbox: inspection.recorded and problem.opened" "inspection.recorded|$fb
problem.opened|$fb" \
    "$(q "SELECT topic, key FROM outbox WHERE key = '$fb' AND topic IN ('inspection.recorded', 'problem.opened') ORDER BY topic")"
is "an audit entry" 1 "$(q "SELECT count(*) FROM audit_log WHERE request_id = 'it-sa-insp-$run' AND object = 'inspections/$iid'")"
http POST /api/v1/inspections "${insp[$fk]}" "$insp_body"
is "the same request_id again: 201 with the same id" "201 $iid" "$status $(jq -r .id <<<"$body")"
http POST /api/v1/inspections "${insp[$fk]}" "${insp_body/it-sa-insp-/it-sa-insp-2-}"
is "a second inspection of the same business: 409" 409 "$status"
http POST /api/v1/inspections "${insp[$fk]}" "{\"request_id\":\"it-sa-insp-3-$run\",\"plan_id\":$plan,\"business_id\":$fb,\"outcome\":\"fail\"}"
is "a fail without findings: 400 findings" "400 findings" "$status $(jq -r .error.field <<<"$body")"
http GET "/api/v1/sampling/plans/$plan" "$reg"
is "progress: one inspected, 15 pending" "1 15" \
    "$(jq -r '"\([.strata[].inspected] | add) \([.strata[].pending] | add)"' <<<"$body")"

# --- published results -----------------------------------------------------------------------
http GET "/api/v1/sampling/plans/$plan/public" ""
is "anyone reads the published results: 200" 200 "$status"
is "only the inspected business, with its outcome" "$fb fail 2" \
    "$(jq -r '.items[] | "\(.business_id) \(.outcome) \(.findings)"' <<<"$body")"
is "with the seed and the list hash" "$hash1" "$(jq -r .list_hash <<<"$body")"
csv=$(curl -s "$LZ_API/api/v1/sampling/plans/$plan/public?format=csv")
is "as CSV: a header and one row" "plan_id,quarter,stratum,business_id,business_name,license_no,region_code,outcome,inspected_at,findings
2" "$(head -n1 <<<"$csv" | tr -d '\r')
$(wc -l <<<"$csv" | tr -d ' ')"
check "the CSV row names the business and outcome" grep -q "^$plan,$Q1,.*,$fb,.*,fail," <<<"$csv"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$LZ_API/api/v1/sampling/plans/$plan/public?format=csv")
is "served as text/csv" "text/csv; charset=utf-8" "$ctype"
http GET "/api/v1/sampling/plans/$plan/results" "$reg"
is "the regulator reads the same with a token" "200 1" "$status $(jq '.items | length' <<<"$body")"

# --- reproducible: the same inputs give the same list; another seed another ---------------------
q "DELETE FROM sampling_items WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code = '964001000000' AND quarter = '$Q2');
   DELETE FROM sampling_exclusions WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code = '964001000000' AND quarter = '$Q2');
   DELETE FROM sampling_roster WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code = '964001000000' AND quarter = '$Q2');
   DELETE FROM sampling_frame WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code = '964001000000' AND quarter = '$Q2');
   DELETE FROM sampling_plans WHERE region_code = '964001000000' AND quarter = '$Q2'" >/dev/null
b2="{\"request_id\":\"it-sa-q2a-$run\",\"quarter\":\"$Q2\",\"region\":\"964001000000\",\"seed\":\"seed-q2\",\"settings\":{\"exclude_previous\":false}}"
http POST /api/v1/sampling/plans "$admin" "$b2"
h2a=$(jq -r .list_hash <<<"$body")
p2=$(jq -r .id <<<"$body")
is "a plan for the next quarter: 201" 201 "$status"
q "DELETE FROM sampling_items WHERE plan_id = $p2; DELETE FROM sampling_exclusions WHERE plan_id = $p2;
   DELETE FROM sampling_roster WHERE plan_id = $p2; DELETE FROM sampling_frame WHERE plan_id = $p2;
   DELETE FROM sampling_plans WHERE id = $p2" >/dev/null
http POST /api/v1/sampling/plans "$admin" "${b2/q2a/q2b}"
is "drawn again from the same inputs: the same list hash" "201 $h2a" "$status $(jq -r .list_hash <<<"$body")"
p2=$(jq -r .id <<<"$body")
q "DELETE FROM sampling_items WHERE plan_id = $p2; DELETE FROM sampling_exclusions WHERE plan_id = $p2;
   DELETE FROM sampling_roster WHERE plan_id = $p2; DELETE FROM sampling_frame WHERE plan_id = $p2;
   DELETE FROM sampling_plans WHERE id = $p2" >/dev/null
http POST /api/v1/sampling/plans "$admin" "$(sed 's/q2a/q2c/; s/seed-q2/another-seed/' <<<"$b2")"
check "another seed: another list hash" test "$status $(jq -r .list_hash <<<"$body")" != "201 $h2a" -a "$status" = 201

# --- clean up --------------------------------------------------------------------------------
q "BEGIN; $cleanup_sql COMMIT;" >/dev/null
tap_done
