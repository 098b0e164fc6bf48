#!/usr/bin/env bash
# it_sampler.sh - quarterly spot checks through the gateway: a plan drawn from a fixture
# district (a stratum of 4 taken whole, strata of 10 and 8 drawn down to 6), two inspectors
# per business never one of its cadres nor a declared conflict, the same inputs giving the
# same list again, another seed another list, verification over HTTP and by the CLI (a
# second process), a tampered list detected, the list hidden from business and cadre
# tokens, inspections by assigned inspectors only, and the published results (JSON, CSV).
# The inspection checklist: a version published by a regulator (kind inspection), the brief
# of a drawn business on a plan of the current quarter (ledgers owed/submitted/late/missing,
# open and overdue problems, the cadre's visits - each compared with a direct SQL count over
# the fixture; 404 for business, cadre, outside and unassigned tokens), bad answers refused
# with 422 and nothing written, failed items become problems, the outcome derived and a
# disagreeing one refused, a retried request id answering the same with one row, the stored
# record check, the inspection.recorded fields; listing plans (jurisdiction, quarter,
# cursor, inspectors, 403 for business and cadre tokens).
# LZ_SAMPLER_WRAP="valgrind ..." runs the sampler under a tool.
#
# Fixture (inserted directly, removed and made again on every run): city 964000000000 of
# the fake province 960000000000, district 964001 (township 001 with communities 001 (4
# businesses) and 002 (10), township 002 with community 001 (8)), district 964002 for a
# regulator outside; 5 inspectors in 964001, one of them (phone 19640010901) also the
# cadre of every business of community 964001001002; for the brief, records, rest days,
# problems, a second cadre (19640010902) and a visit of one drawn business of 964001002001.
# Inspection checklist versions published by the test (published_by it-sa-...) are removed.
export LZ_BROKER_PORT=$((25640 + ${LZ_PORT_OFFSET:-0})) LZ_HTTP_PORT=$((18240 + ${LZ_PORT_OFFSET:-0}))
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18240 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25640 + ${LZ_PORT_OFFSET:-0}))
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
DELETE FROM records WHERE region_code LIKE '964001%';
DELETE FROM visits WHERE region_code LIKE '964001%';
DELETE FROM business_rest_days WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9640%');
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
DELETE FROM businesses WHERE region_code LIKE '9640%';
DELETE FROM checklist_items WHERE checklist_id IN (SELECT id FROM checklists WHERE kind = 'inspection' AND published_by LIKE 'it-sa-%');
DELETE FROM checklists WHERE kind = 'inspection' AND published_by LIKE 'it-sa-%';"
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
if [ -n "${LZ_SAMPLER_WRAP:-}" ]; then
    # e.g. LZ_SAMPLER_WRAP="valgrind --error-exitcode=9 --leak-check=full": the sampler under a tool
    $LZ_SAMPLER_WRAP "$LZ_ROOT/build/bin/lz-sampler" >>"$LZ_LOGDIR/sampler-wrap.$$.log" 2>&1 &
    echo "sampler $$" >"$LZ_PIDDIR/$!.pid"
    sleep 3
else
    lz_start sampler >/dev/null
fi
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
wsel="weights[array_position(business_ids, $other::bigint)]"
q "UPDATE sampling_frame SET $wsel = $wsel % 4 + 1 WHERE plan_id = $plan AND $other = ANY (business_ids)" >/dev/null
http GET "/api/v1/sampling/plans/$plan/verify" "$admin"
is "a stored frame altered: match false" "false" "$(jq -r .match <<<"$body")"
q "UPDATE sampling_frame SET $wsel = CASE $wsel WHEN 1 THEN 4 ELSE $wsel - 1 END WHERE plan_id = $plan AND $other = ANY (business_ids)" >/dev/null
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
# the inspection checklist of the business's type (catering), latest version
ok_answers=$(q "SELECT string_agg(format('{\"code\":\"%s\",\"ok\":true}', i.code), ',' ORDER BY i.position) FROM checklist_items i WHERE i.checklist_id = (SELECT id FROM checklists WHERE type = 'catering' AND kind = 'inspection' ORDER BY version DESC LIMIT 1) AND i.code NOT IN ('I04')")
insp_body="{\"request_id\":\"it-sa-insp-$run\",\"plan_id\":$plan,\"business_id\":$fb,\"outcome\":\"fail\",
 \"answers\":[$ok_answers,{\"code\":\"I04\",\"ok\":false,\"note\":\"两项问题超期未整改\"}],
 \"findings\":[{\"item_code\":\"I04\",\"description\":\"冷库温度超标问题超期未整改\",\"action\":\"责令整改\",\"fixed\":false},
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
is "an inspection without answers: 422 answers" "422 answers" "$status $(jq -r .error.field <<<"$body")"
is "the failed key item I04 gave fail, version 1, 1 item failed" "fail 1 1 1" \
    "$(q "SELECT outcome || ' ' || c.version || ' ' || jsonb_array_length(answers) - $(jq length <<<"[$ok_answers]") || ' ' || (SELECT count(*) FROM jsonb_array_elements(answers) a WHERE NOT (a->>'ok')::bool) FROM inspections i JOIN checklists c ON c.id = i.checklist_id WHERE i.id = $iid")"
is "the I04 problem is the finding that names it" "I04|冷库温度超标问题超期未整改|" \
    "$(q "SELECT item_code || '|' || description || '|' || coalesce(fixed_at::text, '') FROM problems WHERE source = 'inspection' AND source_id = $iid AND item_code IS NOT NULL")"
is "the record check is stored with the inspection" "3" "$(q "SELECT jsonb_array_length(record_check->'ledgers') FROM inspections WHERE id = $iid")"
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

# --- the inspection brief and the checklist, on a plan of the current quarter ------------------
# a regulator publishes a new version of the catering inspection checklist (same items)
v_before=$(q "SELECT max(version) FROM checklists WHERE type = 'catering' AND kind = 'inspection'")
items_json=$(q "SELECT json_agg(json_build_object('code', code, 'text', text, 'category', category, 'required', required, 'measure', measure) ORDER BY position) FROM checklist_items WHERE checklist_id = (SELECT id FROM checklists WHERE type = 'catering' AND kind = 'inspection' ORDER BY version DESC LIMIT 1)")
http POST /api/v1/checklists/catering "$reg" "{\"request_id\":\"it-sa-cl-$run\",\"kind\":\"inspection\",\"items\":$items_json}"
is "a regulator publishes an inspection checklist version: 201, the next version" "201 $((v_before + 1))" "$status $(jq -r .version <<<"$body")"
http GET "/api/v1/checklists/catering?kind=inspection" "$reg"
is "and reads it back by kind" "200 12" "$status $(jq '.items | length' <<<"$body")"
QN=$(TZ=Asia/Shanghai date +%Y-Q$(( ($(TZ=Asia/Shanghai date +%-m) - 1) / 3 + 1 )))
http POST /api/v1/sampling/plans "$reg" "{\"request_id\":\"it-sa-plan3-$run\",\"quarter\":\"$QN\",\"region\":\"964001002000\",\"seed\":\"brief\",\"settings\":{\"exclude_previous\":false}}"
is "a plan of the current quarter ($QN) for township 964001002000: 201" 201 "$status"
p3=$(jq -r .id <<<"$body")
row=$(q "SELECT business_id || ' ' || inspector_1 FROM sampling_items WHERE plan_id = $p3 ORDER BY stratum, position LIMIT 1")
bb=${row% *}
bi=${row#* }
bk=
ok3=
for k in 1 2 3 4 5; do
    v=i$k
    [ "${!v}" = "$bi" ] && bk=$k
    [ -z "$(q "SELECT 1 FROM sampling_items WHERE plan_id = $p3 AND business_id = $bb AND ${!v} IN (inspector_1, inspector_2)")" ] && ok3=$k
done
# the business's quarter: records (some late, one on a rest day), problems, a cadre and visits
q "BEGIN;
INSERT INTO business_rest_days (business_id, day)
SELECT $bb, (date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai'))::date + 6 ON CONFLICT DO NOTHING;
INSERT INTO records (business_id, region_code, kind, period, period_start, checklist_id, status, submitted_by, submitted_at, request_id)
SELECT $bb, '964001002001', 'daily', to_char(d, 'YYYY-MM-DD'), (d::timestamp AT TIME ZONE 'Asia/Shanghai'), 0,
       CASE WHEN g % 5 = 0 THEN 'late' ELSE 'on_time' END, 'it', now(), 'it-sa-rec-$run-' || g
FROM (SELECT (date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai'))::date + g AS d, g FROM generate_series(0, 19) g) x
WHERE g NOT IN (2, 3) AND d < (now() AT TIME ZONE 'Asia/Shanghai')::date;
INSERT INTO records (business_id, region_code, kind, period, period_start, checklist_id, status, submitted_by, submitted_at, request_id)
SELECT $bb, '964001002001', 'weekly', to_char(m, 'IYYY-\"W\"IW'), (m::timestamp AT TIME ZONE 'Asia/Shanghai'), 0, 'late', 'it', now(), 'it-sa-recw-$run'
FROM (SELECT min(m)::date AS m FROM generate_series(date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai'), date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai') + interval '6 days', '1 day') m WHERE extract(isodow FROM m) = 1) x;
INSERT INTO records (business_id, region_code, kind, period, period_start, checklist_id, status, submitted_by, submitted_at, request_id)
SELECT $bb, '964001002001', 'monthly', to_char(m, 'YYYY-MM'), (m::timestamp AT TIME ZONE 'Asia/Shanghai'), 0, 'on_time', 'it', now(), 'it-sa-recm-$run'
FROM (SELECT date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai') AS m) x;
INSERT INTO problems (business_id, region_code, source, source_id, item_code, description, opened_at, fixed_at)
VALUES ($bb, '964001002001', 'ledger', 0, 'D01', '健康证过期', now() - interval '30 days', NULL),
       ($bb, '964001002001', 'ledger', 0, 'D05', '消毒记录缺失', now() - interval '1 day', NULL),
       ($bb, '964001002001', 'visit', 0, NULL, '垃圾桶未加盖', now() - interval '2 days', now() - interval '1 day');
INSERT INTO cadres (phone, name, level, region_code, title)
VALUES ('19640010902', '包保干部二', 'village', '964001002001', '村书记');
INSERT INTO assignments (cadre_id, business_id, region_code, since)
SELECT id, $bb, '964001002001', now() - interval '200 days' FROM cadres WHERE phone = '19640010902';
INSERT INTO visits (cadre_id, business_id, region_code, visited_at, mode, request_id)
SELECT id, $bb, '964001002001', date_trunc('quarter', now()) + interval '3 days', 'on_site', 'it-sa-vis-$run'
FROM cadres WHERE phone = '19640010902';
COMMIT;" >/dev/null
cad2=$(q "SELECT id FROM cadres WHERE phone = '19640010902'")
cad2tok=$(lz_token cadre "it-sa-cad2-$run" --cadre "$cad2")
biz3=$(lz_token business "it-sa-biz3-$run" --business "$bb")
brief="/api/v1/sampling/plans/$p3/businesses/$bb/brief"
http GET "$brief" "${insp[$bk]}"
is "the assigned inspector reads the brief: 200" 200 "$status"
# the same numbers counted directly in SQL over the fixture (grace 0: a day is owed once over)
expect=$(q "WITH b AS (SELECT date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai')::date AS qs,
  (now() AT TIME ZONE 'Asia/Shanghai')::date AS today),
 od AS (SELECT to_char(d, 'YYYY-MM-DD') p FROM b, generate_series(b.qs, b.today - 1, '1 day') d
        WHERE d::date NOT IN (SELECT day FROM business_rest_days WHERE business_id = $bb)),
 ow AS (SELECT to_char(m, 'IYYY-\"W\"IW') p FROM b, generate_series(b.qs, b.today, '1 day') m
        WHERE extract(isodow FROM m) = 1 AND m::date + 7 <= b.today),
 om AS (SELECT to_char(m, 'YYYY-MM') p FROM b, generate_series(b.qs, b.qs + interval '2 months', '1 month') m
        WHERE (m + interval '1 month')::date <= b.today),
 o AS (SELECT 'daily' k, p FROM od UNION ALL SELECT 'weekly', p FROM ow UNION ALL SELECT 'monthly', p FROM om)
SELECT string_agg(x, ' ' ORDER BY ord) FROM (
 SELECT k.ord, k.k || ':' || (SELECT count(*) FROM o WHERE o.k = k.k) || '/' ||
   (SELECT count(*) FROM records r JOIN o ON o.k = r.kind AND o.p = r.period WHERE r.business_id = $bb AND r.kind = k.k) || '/' ||
   (SELECT count(*) FROM records r JOIN o ON o.k = r.kind AND o.p = r.period WHERE r.business_id = $bb AND r.kind = k.k AND r.status = 'late') || '/' ||
   (SELECT count(*) FROM o WHERE o.k = k.k AND NOT EXISTS (SELECT 1 FROM records r WHERE r.business_id = $bb AND r.kind = o.k AND r.period = o.p)) AS x
 FROM (VALUES (1, 'daily'), (2, 'weekly'), (3, 'monthly')) k (ord, k)) y")
is "ledgers owed/submitted/late/missing equal a direct SQL count" "$expect" \
    "$(jq -r '[.check.ledgers[] | "\(.kind):\(.owed)/\(.submitted)/\(.late)/\(.missing)"] | join(" ")' <<<"$body")"
check "and the business did owe daily ledgers this quarter" test "$(jq '.check.ledgers[0].owed' <<<"$body")" -gt 0
is "open and overdue problems equal a direct SQL count" \
    "$(q "SELECT count(*) FILTER (WHERE fixed_at IS NULL) || ' ' || count(*) FILTER (WHERE fixed_at IS NULL AND opened_at < now() - interval '7 days') FROM problems WHERE business_id = $bb")" \
    "$(jq -r '"\(.check.problems_open) \(.check.problems_overdue)"' <<<"$body")"
is "the open problems are listed, the old one overdue" "D01 true,D05 false" \
    "$(jq -r '[.problems[] | "\(.item_code) \(.overdue)"] | join(",")' <<<"$body")"
is "the cadre's visits in the quarter equal a direct SQL count (village: quarterly)" \
    "$cad2 village quarterly $(q "SELECT count(*) FROM visits WHERE business_id = $bb AND visited_at >= date_trunc('quarter', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'") $QN" \
    "$(jq -r '.check.visits[] | "\(.cadre_id) \(.level) \(.frequency) \(.visits) \(.current_period)"' <<<"$body")"
is "the checklist to answer: the 12 items of the new version, 8 key" "12 8 $((v_before + 1))" \
    "$(jq -r '"\(.items | length) \([.items[] | select(.required)] | length) \(.checklist_version)"' <<<"$body")"
http GET "$brief" "$reg"
is "the plan's regulator reads the brief: 200" 200 "$status"
for who in biz3 cad2tok reg_out; do
    http GET "$brief" "${!who}"
    is "$who asking for the brief: 404" 404 "$status"
done
http GET "$brief" "${insp[$ok3]}"
is "an inspector not assigned to it: 404" 404 "$status"
http GET "/api/v1/sampling/plans/$p3/businesses/$bsmall/brief" "$reg"
is "a business not drawn in the plan: 404" 404 "$status"

# bad answers: 422 and nothing written
all_ok=$(q "SELECT string_agg(format('{\"code\":\"%s\",\"ok\":true}', code), ',' ORDER BY position) FROM checklist_items WHERE checklist_id = (SELECT id FROM checklists WHERE type = 'catering' AND kind = 'inspection' ORDER BY version DESC LIMIT 1) AND code NOT IN ('I01', 'I09')")
ib() { echo "{\"request_id\":\"it-sa-ib-$1-$run\",\"plan_id\":$p3,\"business_id\":$bb$2,\"answers\":[$all_ok$3]}"; }
http POST /api/v1/inspections "${insp[$bk]}" "$(ib miss '' '')"
is "a key item not answered: 422 answers" "422 invalid_field answers" "$status $(code) $(jq -r .error.field <<<"$body")"
check "and the message names it" grep -q I01 <<<"$(jq -r .error.message <<<"$body")"
http POST /api/v1/inspections "${insp[$bk]}" "$(ib unknown '' ',{"code":"I01","ok":true},{"code":"D01","ok":true}')"
is "an item not on the checklist: 422" "422 answers[11].code" "$status $(jq -r .error.field <<<"$body")"
http POST /api/v1/inspections "${insp[$bk]}" "$(ib nonote '' ',{"code":"I01","ok":false}')"
is "a failed item without a note: 422" "422 answers[10].note" "$status $(jq -r .error.field <<<"$body")"
http POST /api/v1/inspections "${insp[$bk]}" "$(ib twice '' ',{"code":"I01","ok":true},{"code":"I01","ok":true}')"
is "an item answered twice: 422" 422 "$status"
http POST /api/v1/inspections "${insp[$bk]}" "$(ib disagree ',"outcome":"pass"' ',{"code":"I01","ok":false,"note":"10天无记录"}')"
is "an outcome the answers do not give (pass with a failed key item): 422 outcome" "422 outcome" "$status $(jq -r .error.field <<<"$body")"
http POST /api/v1/inspections "${insp[$bk]}" "$(ib oldver ',"checklist_version":99' ',{"code":"I01","ok":true}')"
is "a checklist version that does not exist: 422" "422 checklist_version" "$status $(jq -r .error.field <<<"$body")"
is "nothing was written by the refused requests" "0 0 0" \
    "$(q "SELECT (SELECT count(*) FROM inspections WHERE plan_id = $p3) || ' ' || (SELECT count(*) FROM problems WHERE business_id = $bb AND source = 'inspection') || ' ' || (SELECT count(*) FROM write_requests WHERE request_id LIKE 'it-sa-ib-%-$run')")"

# a good one: a general item failed -> pass_with_remarks; the failed item becomes a problem
good=$(ib good '' ',{"code":"I01","ok":true},{"code":"I09","ok":false,"note":"冷藏柜温度9℃"}')
http POST /api/v1/inspections "${insp[$bk]}" "$good"
is "one general item failed: 201 pass_with_remarks" "201 pass_with_remarks 1 0" \
    "$status $(jq -r '"\(.outcome) \(.items_failed) \(.key_items_failed)"' <<<"$body")"
gid=$(jq -r .id <<<"$body")
is "the failed item is an open problem (source inspection)" "I09|贮存条件：冷藏柜温度9℃|open" \
    "$(q "SELECT item_code || '|' || description || '|' || CASE WHEN fixed_at IS NULL THEN 'open' ELSE 'fixed' END FROM problems WHERE source = 'inspection' AND source_id = $gid")"
http POST /api/v1/inspections "${insp[$bk]}" "$good"
is "the same request_id again: the same answer" "201 $gid pass_with_remarks" "$status $(jq -r '"\(.id) \(.outcome)"' <<<"$body")"
is "and one inspection row, one problem" "1 1" \
    "$(q "SELECT (SELECT count(*) FROM inspections WHERE plan_id = $p3 AND business_id = $bb) || ' ' || (SELECT count(*) FROM problems WHERE source = 'inspection' AND source_id = $gid)")"
is "the stored record check equals what the brief showed" \
    "$(jq -c '[.check.ledgers[] | [.kind, .owed, .submitted, .late, .missing]]' <<<"$(curl -s -H "Authorization: Bearer $reg" "$LZ_API$brief")")" \
    "$(q "SELECT jsonb_agg(jsonb_build_array(l->>'kind', (l->>'owed')::int, (l->>'submitted')::int, (l->>'late')::int, (l->>'missing')::int)) FROM inspections, jsonb_array_elements(record_check->'ledgers') l WHERE id = $gid" | jq -c .)"
ev=$(q "SELECT encode(payload, 'hex') FROM outbox WHERE topic = 'inspection.recorded' AND key = '$bb' ORDER BY id DESC LIMIT 1")
check "inspection.recorded is written for the scorer" test -n "$ev"
# its protobuf fields by number (a few lines of varint decoding; no protoc here)
pbfields() {
    python3 -c '
import sys
b = bytes.fromhex(sys.argv[1]); i = 0; out = {}
def varint():
    global i
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v
while i < len(b):
    k = varint(); f, t = k >> 3, k & 7
    if t == 0: out[f] = varint()
    elif t == 2:
        n = varint(); out[f] = b[i:i + n].decode(); i += n
    else: break
print(" ".join(str(out.get(int(x), "-")) for x in sys.argv[2:]))' "$@"
}
if command -v python3 >/dev/null; then
    is "the event: outcome, checklist version, items failed, key items failed, ledgers owed/missing, visits owed, overdue problems" \
        "pass_with_remarks $((v_before + 1)) 1 0 $(jq -r '"\([.check.ledgers[].owed] | add) \([.check.ledgers[].missing] | add) \(.check.visits_owed) \(.check.problems_overdue)"' <<<"$(curl -s -H "Authorization: Bearer $reg" "$LZ_API$brief")")" \
        "$(pbfields "$ev" 4 11 12 13 14 15 17 19)"
else
    ok "# SKIP no python3 to decode the event"
fi
http GET "$brief" "${insp[$bk]}"
is "the brief now shows the outcome" pass_with_remarks "$(jq -r .outcome <<<"$body")"

# --- listing plans ---------------------------------------------------------------------------------
http GET "/api/v1/sampling/plans?region=964001000000" "$reg"
is "the regulator lists the plans of its district" "200 $plan,$p3" "$status $(jq -r '[.items[].id] | join(",")' <<<"$body")"
is "without their lists" 0 "$(jq '[.items[] | .strata | length] | add' <<<"$body")"
http GET "/api/v1/sampling/plans?quarter=$QN" "$reg"
is "by quarter" "$p3" "$(jq -r '[.items[].id] | join(",")' <<<"$body")"
http GET "/api/v1/sampling/plans?limit=1" "$reg"
is "limit 1: one plan and a cursor" "$plan 1" "$(jq -r '"\(.items[0].id) \(.next_cursor != null | if . then 1 else 0 end)"' <<<"$body")"
http GET "/api/v1/sampling/plans?limit=1&cursor=$(jq -r .next_cursor <<<"$body")" "$reg"
is "the next page: the other plan, the last" "$p3 null" "$(jq -r '"\(.items[0].id) \(.next_cursor)"' <<<"$body")"
http GET "/api/v1/sampling/plans?region=964002000000" "$reg"
is "a region outside the jurisdiction: 404" 404 "$status"
http GET "/api/v1/sampling/plans" "$reg_out"
is "the other district's regulator sees none of them" 0 "$(jq '[.items[] | select(.region | startswith("964001"))] | length' <<<"$body")"
http GET "/api/v1/sampling/plans" "${insp[$bk]}"
is "an inspector lists the plans it is assigned in" "$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM sampling_plans p WHERE EXISTS (SELECT 1 FROM sampling_items si WHERE si.plan_id = p.id AND $bi IN (si.inspector_1, si.inspector_2))")" \
    "$(jq -r '[.items[].id] | join(",")' <<<"$body")"
for who in biz cad; do
    http GET "/api/v1/sampling/plans" "${!who}"
    is "$who listing plans: 403" 403 "$status"
done
http GET "/api/v1/sampling/plans?cursor=zz" "$reg"
is "a cursor that is not one: 400" "400 cursor" "$status $(jq -r .error.field <<<"$body")"

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
