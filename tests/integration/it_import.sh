#!/usr/bin/env bash
# it_import.sh - bulk CSV imports through the gateway, broker and intake against the
# real PostgreSQL: regions, businesses, cadres, assignments, inspectors; counts on the
# first import and {"imported":0,"updated":0} on the second; one changed row counted as
# updated; a bad credit code refused naming line and field with nothing written; roles
# and jurisdiction; request ids required and replayed; audit entries and outbox events.
#
# Its data lives under a fake province 990000000000 (licences ITIMP-*, phones 199/198...)
# so other tests' rows never collide; it is safe to run again on the same database.
. "$(dirname "$0")/lib.sh"
trap lz_stop_all EXIT
q() { psql -qAt "$LZ_PG_ADMIN_URL" -c "$1"; }
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
run=$$.$RANDOM

# csv PATH TOKEN REQUEST_ID TEXT: POST text/csv; sets $status and $body
csv() {
    local path=$1 token=$2 rid=$3 text=$4 args=() out
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$rid" ] && path="$path?request_id=$rid"
    out=$(curl -s -X POST -w '\n%{http_code}' "${args[@]}" -H 'Content-Type: text/csv' \
        --data-binary "$text" "$LZ_API$path")
    status=${out##*$'\n'}
    body=${out%$'\n'*}
}
# counts: "imported updated" of $body
counts() { jq -r '"\(.imported) \(.updated)"' <<<"$body" 2>/dev/null; }

if ! lz_start_suite; then
    not_ok "the suite starts and answers /healthz"
    tap_done
    exit 1
fi
ok "the suite starts and answers /healthz"
admin=$(lz_token admin "it-import-$run")

REGIONS='code,name,level,parent_code
990000000000,测试省,province,
990100000000,测试市,city,990000000000
990101000000,测试一区,district,990100000000
990101001000,测试一街道,township,990101000000
990101001001,测试一社区,community,990101001000
990101001002,测试二社区,community,990101001000
990102000000,测试二区,district,990100000000
990102001000,测试二街道,township,990102000000
990102001001,测试三社区,community,990102001000'
H='license_no,credit_code,name,type,risk_grade,region_code,address,head_name,head_phone,officer_name,officer_phone'
B1='ITIMP-0001,92990101MA0000001U,测试一区幸福路张记面馆,catering,A,990101001001,幸福路1号,张三,13812340001,李四,13912340001'
B2='ITIMP-0002,92990101MA0000002Y,幸福路惠民超市,sales,B,990101001001,幸福路2号,王五,13812340002,赵六,13912340002'
B3='ITIMP-0003,92990101MA00000032,测试一小学食堂,canteen,C,990101001002,学院路3号,"陈,七",13812340003,周八,13912340003'
B4='ITIMP-0004,92990101MA00000045,测试豆腐坊,small_workshop,D,990101001002,老街4号,吴九,13812340004,郑十,13912340004'
B5='ITIMP-0005,92990102MA0000007W,测试食品有限公司,production,B,990102001001,工业园5号,冯一,13812340005,褚二,13912340005'
BUSINESSES="$H
$B1
$B2
$B3
$B4
$B5"
CADRES='phone,name,level,region_code,title
19900000001,县干部甲,county,990101000000,测试一区副区长
19900000002,镇干部乙,township,990101001000,街道办事处主任
19900000003,村干部丙,village,990101001001,社区书记
19900000004,村干部丁,village,990101001002,社区主任
19900000005,县干部戊,county,990102000000,测试二区副区长'
ASSIGNMENTS='cadre_phone,license_no
19900000003,ITIMP-0001
19900000003,ITIMP-0002
19900000002,ITIMP-0003
19900000001,ITIMP-0004
19900000005,ITIMP-0005'
INSPECTORS='phone,name,region_code,badge_no
19800000001,执法员甲,990101000000,ITIMP-B1
19800000002,执法员乙,990101000000,ITIMP-B2
19800000003,执法员丙,990102000000,ITIMP-B3'

# expected "imported updated" of a first import: rows not there yet, 0 updated
# (a rerun of this test finds them all: "0 0")
before() { echo "$(($2 - $(q "$1"))) 0"; }

exp=$(before "SELECT count(*) FROM regions WHERE code LIKE '99%'" 9)
csv /api/v1/import/regions "$admin" "it-imp-r-$run" "$REGIONS"
is "regions import: 200" 200 "$status"
is "regions import: counts" "$exp" "$(counts)"
exp=$(before "SELECT count(*) FROM businesses WHERE license_no LIKE 'ITIMP-%'" 5)
csv /api/v1/import/businesses "$admin" "it-imp-b-$run" "$BUSINESSES"
is "businesses import: 200" 200 "$status"
is "businesses import: counts" "$exp" "$(counts)"
first_b=$(counts)
exp=$(before "SELECT count(*) FROM cadres WHERE phone LIKE '1990000000%'" 5)
csv /api/v1/import/cadres "$admin" "it-imp-c-$run" "$CADRES"
is "cadres import: 200" 200 "$status"
is "cadres import: counts" "$exp" "$(counts)"
exp=$(before "SELECT count(*) FROM assignments a JOIN businesses b ON b.id = a.business_id
              WHERE b.license_no LIKE 'ITIMP-%' AND a.until IS NULL" 5)
csv /api/v1/import/assignments "$admin" "it-imp-a-$run" "$ASSIGNMENTS"
is "assignments import: 200" 200 "$status"
is "assignments import: counts" "$exp" "$(counts)"
exp=$(before "SELECT count(*) FROM inspectors WHERE badge_no LIKE 'ITIMP-%'" 3)
csv /api/v1/import/inspectors "$admin" "it-imp-i-$run" "$INSPECTORS"
is "inspectors import: 200" 200 "$status"
is "inspectors import: counts" "$exp" "$(counts)"

is "the quoted comma is kept in a name" '陈,七' \
    "$(q "SELECT head_name FROM businesses WHERE license_no = 'ITIMP-0003'")"
seq() { q "SELECT last_value FROM $(q "SELECT pg_get_serial_sequence('businesses', 'id')")"; }
seq0=$(seq)

# --- the same files again: nothing changes ---------------------------------------------------
for kind in regions businesses cadres assignments inspectors; do
    case $kind in
    regions) text=$REGIONS ;; businesses) text=$BUSINESSES ;; cadres) text=$CADRES ;;
    assignments) text=$ASSIGNMENTS ;; inspectors) text=$INSPECTORS ;;
    esac
    csv "/api/v1/import/$kind" "$admin" "it-imp-2$kind-$run" "$text"
    is "$kind again: 200 with imported 0 updated 0" "200 0 0" "$status $(counts)"
done
is "importing known businesses burns no business id" "$seq0" "$(seq)"
is "no duplicate businesses" 5 "$(q "SELECT count(*) FROM businesses WHERE license_no LIKE 'ITIMP-%'")"
is "no duplicate current assignments" 5 "$(q "SELECT count(*) FROM assignments a JOIN businesses b
    ON b.id = a.business_id WHERE b.license_no LIKE 'ITIMP-%' AND a.until IS NULL")"
is "every test business is covered" 0 "$(q "SELECT count(*) FROM businesses b WHERE b.license_no
    LIKE 'ITIMP-%' AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.business_id = b.id
    AND a.until IS NULL)")"

# --- one changed row is an update, and only that one ------------------------------------------
id2=$(q "SELECT id FROM businesses WHERE license_no = 'ITIMP-0002'")
csv /api/v1/import/businesses "$admin" "it-imp-b3-$run" "${BUSINESSES/幸福路惠民超市/幸福路惠民生鲜超市}"
is "a file with one changed name: imported 0 updated 1" "200 0 1" "$status $(counts)"
is "the business keeps its id" "$id2" "$(q "SELECT id FROM businesses WHERE name = '幸福路惠民生鲜超市'
    AND license_no = 'ITIMP-0002'")"
csv /api/v1/import/businesses "$admin" "it-imp-b4-$run" "$BUSINESSES"
is "the first file again puts it back: updated 1" "200 0 1" "$status $(counts)"

# --- a bad row refuses the whole file ---------------------------------------------------------
nbiz=$(q "SELECT count(*) FROM businesses")
B6='ITIMP-0006,92990101MA0000006B,新店,catering,A,990101001001,路,甲,13812340006,乙,13912340006'
bad="$H
$B6
${B1/92990101MA0000001U/92990101MA0000001A}"
csv /api/v1/import/businesses "$admin" "it-imp-bad-$run" "$bad"
is "a bad credit code: 422" 422 "$status"
is "a bad credit code: invalid_rows" invalid_rows "$(code)"
is "the error names line 3 and credit_code" "3 credit_code" \
    "$(jq -r '.error.rows[0] | "\(.line) \(.field)"' <<<"$body")"
is "only the bad row is listed" 1 "$(jq '.error.rows | length' <<<"$body")"
is "nothing was imported (the good row neither)" "$nbiz" "$(q "SELECT count(*) FROM businesses")"
csv /api/v1/import/businesses "$admin" "it-imp-hdr-$run" "${BUSINESSES/risk_grade/grade}"
is "a wrong header: 422 naming line 1" "422 1" "$status $(jq -r '.error.rows[0].line' <<<"$body")"
csv /api/v1/import/assignments "$admin" "it-imp-bada-$run" 'cadre_phone,license_no
19900000003,ITIMP-0003
19900000009,ITIMP-0001'
is "assignment outside the cadre's region and unknown cadre: 422" 422 "$status"
is "both rows are named" "2 license_no 3 cadre_phone" \
    "$(jq -r '[.error.rows[] | "\(.line) \(.field)"] | join(" ")' <<<"$body")"
csv /api/v1/import/businesses "$admin" "it-imp-reg-$run" "$H
${B1/990101001001/990101001000}"
is "a business in a township: 422 region_code" "422 region_code" \
    "$status $(jq -r '.error.rows[0].field' <<<"$body")"

# --- request ids -------------------------------------------------------------------------------
csv /api/v1/import/businesses "$admin" "" "$BUSINESSES"
is "no request_id: 400 missing_field" "400 missing_field" "$status $(code)"
csv /api/v1/import/businesses "$admin" "it-imp-b-$run" "$H
$B6"
is "a request id used before answers its first answer" "200 $first_b" "$status $(counts)"
is "and writes nothing" 0 "$(q "SELECT count(*) FROM businesses WHERE license_no = 'ITIMP-0006'")"

# --- roles and jurisdiction ---------------------------------------------------------------------
regulator=$(lz_token regulator "it-import-reg-$run" --region 990101000000)
cadre=$(lz_token cadre "it-import-cadre-$run" --cadre 1)
csv /api/v1/import/businesses "$cadre" "it-imp-cadre-$run" "$BUSINESSES"
is "a cadre may not import: 403" 403 "$status"
csv /api/v1/import/businesses "" "it-imp-none-$run" "$BUSINESSES"
is "no token: 401" 401 "$status"
csv /api/v1/import/businesses "$regulator" "it-imp-regout-$run" "$BUSINESSES"
is "a regulator's file with a row outside its district: 422" 422 "$status"
is "the row outside is line 6, region_code" "6 region_code" \
    "$(jq -r '.error.rows[0] | "\(.line) \(.field)"' <<<"$body")"
csv /api/v1/import/businesses "$regulator" "it-imp-regin-$run" "$H
$B1
$B2"
is "a regulator imports inside its district: 200" "200 0 0" "$status $(counts)"
csv /api/v1/import/assignments "$regulator" "it-imp-regas-$run" 'cadre_phone,license_no
19900000005,ITIMP-0005'
is "a regulator may not assign outside its district: 422" 422 "$status"

# --- a region businesses lie in never disappears (no foreign key: migration 0014) -----------------
sqlerr() { psql -qAt "$LZ_PG_URL" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" 2>&1 | grep -o '23503' | head -1; }
is "a community with businesses cannot be deleted: 23503" 23503 \
    "$(sqlerr "DELETE FROM regions WHERE code = '990101001001'")"
is "nor recoded: 23503" 23503 \
    "$(sqlerr "UPDATE regions SET code = '990101001009' WHERE code = '990101001001'")"
is "and still exists" 1 "$(q "SELECT count(*) FROM regions WHERE code = '990101001001'")"
q "INSERT INTO regions (code, name, level, parent_code) VALUES
    ('990102001008', '测试空社区', 'community', '990102001000') ON CONFLICT DO NOTHING" >/dev/null
q "DELETE FROM regions WHERE code = '990102001008'" >/dev/null
is "a community without businesses can be deleted" 0 \
    "$(q "SELECT count(*) FROM regions WHERE code = '990102001008'")"

# --- audit and outbox ------------------------------------------------------------------------------
is "each import is audited" 1 "$(q "SELECT count(*) FROM audit_log WHERE action = 'import.businesses'
    AND request_id = 'it-imp-b-$run'")"
check "import events are in the outbox" [ "$(q "SELECT count(*) FROM outbox
    WHERE topic = 'registry.imported' AND key = 'inspectors'")" -ge 2 ]

tap_done
