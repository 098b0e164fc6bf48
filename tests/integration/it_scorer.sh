#!/usr/bin/env bash
# it_scorer.sh - the scorer end to end: a randomised sequence of ledgers, visits and problem
# fixes through intake; the running aggregates equal the full recompute from PostgreSQL; a
# redelivered event changes nothing; a grade crossing a band is one event; scores answer why and
# are jurisdiction-scoped; rankings; the red list leaves out an uninsured business and one with
# an open problem; a closed list does not change when late events arrive; rewards; CSV export.
# Then the other services' events through the real services: an inspection recorded through
# the sampler (a plan drawn, the assigned inspector posts a failed inspection) changes the
# business's score and grade (one grade event) and its cadre's evaluation as hand-computed; a
# visit task opened by the scheduler's sweep counts as an overdue task of its cadre; a warning
# issued through the notifier costs its penalty until the business answers it.
#
# Fixture (made again on every run): district 975101 of the fake province 975000000000, two
# townships, eight businesses created 40 days ago (b1..b8, the random sequence's), three created
# a minute ago (r1 insured, r2 uninsured, r3 insured; for the red list), two cadres; b9 (40 days
# old) with its own village cadre c3 (the scheduler's task); two inspectors of the district.
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18250 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25650 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
trap lz_stop_all EXIT
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
jqr() { jq -r "$1" <<<"$body" 2>/dev/null; }
jqe() { jq -e "$1" >/dev/null 2>&1 <<<"$body"; }
day() { TZ=Asia/Shanghai date -d "$1" '+%Y-%m-%d'; }
at() { TZ=Asia/Shanghai date -d "$1" '+%Y-%m-%dT%H:%M:%S+08:00'; }
run=$$-$(date +%s)
RANDOM=${LZ_SCORER_SEED:-4242}
QNOW=$(TZ=Asia/Shanghai date '+%Y')-Q$(( ($(TZ=Asia/Shanghai date '+%-m') + 2) / 3 ))

# --- fixture -----------------------------------------------------------------------------------
fixture=$(psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" <<'SQL'
BEGIN;
DELETE FROM letters WHERE task_id IN (SELECT id FROM tasks WHERE region_code LIKE '9751%');
DELETE FROM tasks WHERE region_code LIKE '9751%';
DELETE FROM ledger_stats WHERE region_code LIKE '9751%';
DELETE FROM visit_obligations WHERE region_code LIKE '9751%';
DELETE FROM scheduler_deadlines WHERE scope = '975101';
DELETE FROM scheduler_watermark WHERE scope = '975101';
DELETE FROM warnings WHERE region_code LIKE '9751%';
DELETE FROM score_warnings WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM score_inspections WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM inspections WHERE region_code LIKE '9751%';
DELETE FROM sampling_items WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9751%');
DELETE FROM sampling_exclusions WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9751%');
DELETE FROM sampling_roster WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9751%');
DELETE FROM sampling_frame WHERE plan_id IN (SELECT id FROM sampling_plans WHERE region_code LIKE '9751%');
DELETE FROM sampling_plans WHERE region_code LIKE '9751%';
DELETE FROM inspection_conflicts WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM inspectors WHERE region_code LIKE '9751%';
DELETE FROM score_rewards WHERE list_id IN (SELECT id FROM score_lists WHERE region_code LIKE '9751%');
DELETE FROM score_list_entries WHERE list_id IN (SELECT id FROM score_lists WHERE region_code LIKE '9751%');
DELETE FROM score_lists WHERE region_code LIKE '9751%';
DELETE FROM score_grade_history WHERE region_code LIKE '9751%';
DELETE FROM score_grades WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM score_business_q WHERE region_code LIKE '9751%';
DELETE FROM score_visit_pairs WHERE cadre_id IN (SELECT id FROM cadres WHERE region_code LIKE '9751%');
DELETE FROM score_cadre_q WHERE cadre_id IN (SELECT id FROM cadres WHERE region_code LIKE '9751%');
DELETE FROM score_rankings WHERE region_code LIKE '9751%';
DELETE FROM outbox WHERE topic = 'score.grade_changed' AND key IN (SELECT id::text FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM problems WHERE region_code LIKE '9751%';
DELETE FROM records WHERE region_code LIKE '9751%';
DELETE FROM visits WHERE region_code LIKE '9751%';
DELETE FROM assignments WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM cadres WHERE region_code LIKE '9751%';
DELETE FROM business_rest_days WHERE business_id IN (SELECT id FROM businesses WHERE region_code LIKE '9751%');
DELETE FROM businesses WHERE region_code LIKE '9751%';
INSERT INTO regions (code, name, level, parent_code) VALUES
  ('975000000000', '评测省', 'province', NULL),
  ('975100000000', '评测市', 'city', '975000000000'),
  ('975101000000', '评测区', 'district', '975100000000'),
  ('975101001000', '甲街道', 'township', '975101000000'),
  ('975101001001', '甲一社区', 'community', '975101001000'),
  ('975101002000', '乙街道', 'township', '975101000000'),
  ('975101002001', '乙一社区', 'community', '975101002000'),
  ('975102000000', '评测二区', 'district', '975100000000')
ON CONFLICT (code) DO NOTHING;
CREATE TEMP TABLE fx (k text, id bigint);
WITH b AS (
  INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, scale, region_code,
                          status, head_name, head_phone, officer_name, officer_phone, insured, created_at)
  SELECT 'ITSC-' || k, '919751010000000011', '评测' || k || '号', t, 'B', s,
         CASE WHEN n % 2 = 0 THEN '975101001001' ELSE '975101002001' END, 'active', '周', '1975101' || lpad(n::text, 4, '0'),
         '吴', '1975102' || lpad(n::text, 4, '0'), ins, now() - make_interval(days => d)
  FROM (VALUES ('b1', 1, 'catering', 'small', true, 40), ('b2', 2, 'sales', 'micro', true, 40),
               ('b3', 3, 'canteen', 'medium', false, 40), ('b4', 4, 'catering', 'small', true, 40),
               ('b5', 5, 'production', 'large', true, 40), ('b6', 6, 'small_workshop', 'micro', true, 40),
               ('b7', 7, 'sales', 'small', true, 40), ('b8', 8, 'catering', 'medium', true, 40),
               ('b9', 10, 'catering', 'small', true, 40),
               ('r1', 11, 'catering', 'small', true, 0), ('r2', 12, 'catering', 'small', false, 0),
               ('r3', 13, 'catering', 'small', true, 0)) AS v (k, n, t, s, ins, d)
  RETURNING id, license_no)
INSERT INTO fx SELECT substr(license_no, 6), id FROM b;
UPDATE businesses SET created_at = now() - interval '1 minute' WHERE license_no IN ('ITSC-r1', 'ITSC-r2', 'ITSC-r3');
WITH c AS (
  INSERT INTO cadres (phone, name, level, region_code, title) VALUES
  ('19751019901', '村干部甲', 'village', '975101001001', '书记'),
  ('19751019902', '街道干部乙', 'township', '975101002000', '主任'),
  ('19751019903', '村干部丙', 'village', '975101001001', '委员')
  RETURNING id, phone)
INSERT INTO fx SELECT CASE phone WHEN '19751019901' THEN 'c1' WHEN '19751019902' THEN 'c2' ELSE 'c3' END, id FROM c;
INSERT INTO assignments (cadre_id, business_id, region_code, since)
SELECT c.id, b.id, bb.region_code, now() - interval '60 days'
FROM fx b JOIN businesses bb ON bb.id = b.id
JOIN fx c ON c.k = CASE WHEN bb.region_code = '975101001001' THEN 'c1' ELSE 'c2' END
WHERE (b.k LIKE 'b%' AND b.k <> 'b9') OR b.k LIKE 'r%';
INSERT INTO assignments (cadre_id, business_id, region_code, since)
SELECT c.id, b.id, '975101001001', now() - interval '60 days' FROM fx c, fx b WHERE c.k = 'c3' AND b.k = 'b9';
WITH i AS (
  INSERT INTO inspectors (phone, name, region_code, badge_no) VALUES
  ('19751019801', '检查员甲', '975101000000', 'ITSC-I1'), ('19751019802', '检查员乙', '975101000000', 'ITSC-I2')
  RETURNING id, phone)
INSERT INTO fx SELECT 'i' || right(phone, 1), id FROM i;
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

# the scheduler sweeps only when asked, from the start of this month (Asia/Shanghai) on, with
# monthly visits for village cadres: the sweep at now passes the end of last month's visits
month_start=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date '+%Y-%m-01') 00:00" +%s)
lz_start broker >/dev/null
lz_start intake >/dev/null
lz_start scorer LZ_SCORER_RANK_INTERVAL_S=0 >/dev/null
lz_start sampler >/dev/null
lz_start scheduler LZ_SCHEDULER_SCOPE=975101 LZ_SCHEDULER_AUTO_SWEEP=false LZ_VISIT_FREQ_VILLAGE=monthly \
    LZ_SCHEDULER_LOOKBACK_S=$(($(date +%s) - month_start + 7200)) >/dev/null
lz_start notifier >/dev/null
lz_start gateway >/dev/null
if lz_wait_http; then ok "broker, intake, scorer, sampler, scheduler, notifier and gateway start"; else not_ok "the suite starts"; tap_done; exit 1; fi

admin=$(lz_token admin "it-sc-admin-$run")
reg=$(lz_token regulator "it-sc-reg-$run" --region 975101000000)
reg_out=$(lz_token regulator "it-sc-reg-out-$run" --region 975102000000)

# checklist item codes per type and kind
declare -A items
for t in catering sales canteen production small_workshop; do
    for k in daily weekly monthly; do
        http GET "/api/v1/checklists/$t?kind=$k" "$admin"
        items[$t.$k]=$(jq -c '[.items[] | select(.required) | .code]' <<<"$body")
    done
done
btype() { q "SELECT type FROM businesses WHERE id = $1"; }

# submit BUSINESS KIND PERIOD FAIL(0|1) FIXED(0|1)
submit() {
    local b=$1 kind=$2 period=$3 fail=$4 fixed=$5 t codes
    t=$(btype "$b")
    codes=${items[$t.$kind]}
    local body_json
    body_json=$(jq -cn --arg rid "it-sc-$run-$RANDOM$RANDOM" --argjson b "$b" --arg k "$kind" --arg p "$period" \
        --argjson codes "$codes" --argjson fail "$fail" --argjson fixed "$fixed" '
        {request_id: $rid, business_id: $b, kind: $k, period: $p, submitted_by: "测试员"}
        + (if $k == "daily" then {} else {summary: "本期小结"} end) + {
         items: [$codes | to_entries[] | {code: .value, ok: (if $fail == 1 and .key == 0 then false else true end)}
                 | if .ok then . else . + {note: "温度超标"} end],
         problems: (if $fail == 1 then [{item: $codes[0], description: "冷柜温度超标", action: "已调整",
                                          fixed: ($fixed == 1)}] else [] end)}')
    http POST /api/v1/records "$admin" "$body_json"
    [ "$status" = 201 ] || [ "$status" = 409 ] || echo "# $kind $period of $b: $status $(jqr '.error.message')" >&2
}

# --- a randomised sequence --------------------------------------------------------------------
B=("$b1" "$b2" "$b3" "$b4" "$b6" "$b7" "$b8")
days=("$(day today)" "$(day '1 day ago')" "$(day '2 days ago')" "$(day '3 days ago')")
weeks=("$(TZ=Asia/Shanghai date '+%G-W%V')" "$(TZ=Asia/Shanghai date -d '7 days ago' '+%G-W%V')")
months=("$(TZ=Asia/Shanghai date '+%Y-%m')")
accepted=0 visits=0 fixes=0
for i in $(seq 1 70); do
    b=${B[$((RANDOM % ${#B[@]}))]}
    case $((RANDOM % 10)) in
    0 | 1 | 2 | 3 | 4) submit "$b" daily "${days[$((RANDOM % 4))]}" $((RANDOM % 3 == 0)) $((RANDOM % 2)) ;;
    5) submit "$b" weekly "${weeks[$((RANDOM % 2))]}" $((RANDOM % 3 == 0)) $((RANDOM % 2)) ;;
    6) submit "$b" monthly "${months[0]}" $((RANDOM % 3 == 0)) $((RANDOM % 2)) ;;
    7 | 8)
        c=$(q "SELECT cadre_id FROM assignments WHERE business_id = $b AND until IS NULL LIMIT 1")
        f=$((RANDOM % 3))
        findings=$(jq -cn --argjson n "$f" --argjson fx $((RANDOM % 2)) \
            '[range($n)] | map({description: "地面湿滑", action: "已清理", fixed: ($fx == 1)})')
        http POST /api/v1/visits "$admin" "{\"request_id\":\"it-sc-v-$run-$i\",\"cadre_id\":$c,\"business_id\":$b,\"visited_at\":\"$(at "$((RANDOM % 48)) hours ago")\",\"mode\":\"on_site\",\"findings\":$findings,\"note\":\"\"}"
        [ "$status" = 201 ] && visits=$((visits + 1))
        ;;
    9)
        p=$(q "SELECT id FROM problems WHERE region_code LIKE '9751%' AND fixed_at IS NULL ORDER BY random() LIMIT 1")
        if [ -n "$p" ]; then
            http POST "/api/v1/problems/$p/fix" "$admin" "{\"request_id\":\"it-sc-f-$run-$i\",\"action\":\"已整改\"}"
            [ "$status" = 200 ] && fixes=$((fixes + 1))
        fi
        ;;
    esac
    [ "$status" = 201 ] && [ -n "$(jqr '.status // empty')" ] && accepted=$((accepted + 1))
done
echo "# $accepted ledgers, $visits visits, $fixes fixes accepted"
check "the random sequence was accepted in part (ledgers and visits)" [ "$accepted" -gt 10 ]

# the running aggregates catch up and equal the recompute, for every quarter touched
quarters=$(q "SELECT DISTINCT to_char(period_start AT TIME ZONE 'Asia/Shanghai', 'YYYY-\"Q\"Q') FROM records WHERE region_code LIKE '9751%'
              UNION SELECT to_char(visited_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-\"Q\"Q') FROM visits WHERE region_code LIKE '9751%'")
equal=1
for qq in $quarters; do
    out=""
    # the scorer catches up within seconds; a loaded machine gets a minute
    for try in $(seq 1 120); do
        out=$(liangze score check --quarter "$qq" --region 9751 2>&1) && break
        sleep 0.5
    done
    case "$out" in equal*) ;; *) equal=0; echo "# $qq: $out" ;; esac
done
is "the running aggregates equal the full recompute after the random sequence" 1 "$equal"
n_rows=$(q "SELECT count(*) FROM score_business_q WHERE region_code LIKE '9751%'")
check "running rows exist for the fixture ($n_rows)" [ "$n_rows" -gt 3 ]

# --- redelivery ------------------------------------------------------------------------------
before=$(q "SELECT string_agg(concat_ws('/', business_id, quarter, daily_on_time, daily_late, weekly_on_time, weekly_late, monthly_on_time, monthly_late, problems_opened, problems_fixed), ';' ORDER BY business_id, quarter) FROM score_business_q WHERE region_code LIKE '9751%'")
redelivered=0
# copy the newest ledger.accepted entry of one of ours, fields and all (same outbox id)
python3 - "$LZ_REDIS_PORT" "$b1,$b2,$b3,$b4,$b6,$b7,$b8" <<'PY' && redelivered=1
import socket, sys
port, ours = int(sys.argv[1]), set(sys.argv[2].split(','))
s = socket.create_connection(('127.0.0.1', port))
f = s.makefile('rb')
def cmd(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    s.sendall(out)
    return read()
def read():
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b'*':
        n = int(rest)
        return None if n < 0 else [read() for _ in range(n)]
    if t == b'$':
        n = int(rest)
        if n < 0: return None
        d = f.read(n + 2)[:-2]
        return d
    if t == b':': return int(rest)
    if t == b'-': raise Exception(rest)
    return rest
for eid, fields in cmd('XREVRANGE', 'lz:stream:ledger.accepted', '+', '-', 'COUNT', 500):
    kv = dict(zip(fields[0::2], fields[1::2]))
    if kv.get(b'key', b'').decode() in ours:
        args = ['XADD', 'lz:stream:ledger.accepted', '*']
        for k, v in zip(fields[0::2], fields[1::2]):
            args += [k, v]
        cmd(*args)
        sys.exit(0)
sys.exit(1)
PY
check "an event of the fixture is put in its stream a second time" [ "$redelivered" = 1 ]
sleep 2
after=$(q "SELECT string_agg(concat_ws('/', business_id, quarter, daily_on_time, daily_late, weekly_on_time, weekly_late, monthly_on_time, monthly_late, problems_opened, problems_fixed), ';' ORDER BY business_id, quarter) FROM score_business_q WHERE region_code LIKE '9751%'")
is "a redelivered event changes nothing" "$before" "$after"
out=$(liangze score check --quarter "$QNOW" --region 9751 2>&1)
is "the recompute still equals the running aggregates" "equal" "${out%% *}"
# the same new event twice in one read (one batch): counted once.  A made-up ledger of a far
# quarter (2031-Q1) with a made-up outbox id, so no real aggregate is touched; removed after.
q "DELETE FROM score_business_q WHERE business_id = $b1 AND quarter = '2031-Q1'" >/dev/null
python3 - "$LZ_REDIS_PORT" "$b1" "$((9000000000000000 + $$ * 1000 + RANDOM % 1000))" <<'PY'
import socket, sys
port, biz, oid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def varint(n):
    out = b''
    while True:
        b, n = n & 0x7f, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def field(tag, v):
    if isinstance(v, int): return varint(tag << 3) + varint(v)
    v = v.encode(); return varint(tag << 3 | 2) + varint(len(v)) + v
payload = field(2, biz) + field(3, '975101001001') + field(4, 'daily') + field(5, '2031-01-05') + field(6, 'on_time')
s = socket.create_connection(('127.0.0.1', port))
def cmd(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out
req = b''.join(cmd('XADD', 'lz:stream:ledger.accepted', '*', 'id', oid, 'key', str(biz), 'payload', payload, 'at', '0') for _ in range(2))
s.sendall(cmd('MULTI') + req + cmd('EXEC'))
s.recv(4096)
PY
got=$(for try in $(seq 1 60); do
    v=$(q "SELECT daily_on_time FROM score_business_q WHERE business_id = $b1 AND quarter = '2031-Q1'")
    [ -n "$v" ] && break
    sleep 0.5
done; sleep 1; q "SELECT daily_on_time FROM score_business_q WHERE business_id = $b1 AND quarter = '2031-Q1'")
is "the same event twice in one batch counts once" 1 "$got"
q "DELETE FROM score_business_q WHERE business_id = $b1 AND quarter = '2031-Q1'" >/dev/null

# --- scores answer why, jurisdiction-scoped ------------------------------------------------------
submit "$r1" daily "$(day today)" 0 0
is "r1's daily ledger for today is accepted" 201 "$status" 
submit "$r2" daily "$(day today)" 0 0
submit "$r3" daily "$(day today)" 1 0
is "r3's daily ledger with an open problem is accepted" "201 1" "$status $(jqr '.problems_open')"
sleep 1.5
http GET "/api/v1/scores/businesses/$r1" "$reg"
is "GET /scores/businesses/{id}: 200" 200 "$status"
is "a business with everything owed done scores 100" 100 "$(jqr '.score')"
is "catering small (20 + 5) with full compliance is grade A" A "$(jqr '.grade')"
is "the components say why (six, with weights)" "6 40" "$(jqr '[(.components | length), (.components[0].weight)] | join(" ")')"
is "the daily component counts one owed, one on time" "owed 1, on time 1, late 0 (late counts 50%)" "$(jqr '.components[0].detail')"
http GET "/api/v1/scores/businesses/$r1" "$reg_out"
is "a regulator of another district gets 404" 404 "$status"
http GET "/api/v1/scores/businesses/$r1?quarter=2026-13" "$reg"
is "a bad quarter is 400" 400 "$status"
http GET "/api/v1/scores/cadres/$c1" "$reg"
is "GET /scores/cadres/{id}: 200" 200 "$status"
check "a cadre score has rank and five components" jqe '.rank >= 1 and (.components | length) == 5'

# --- a grade crossing a band is one event ----------------------------------------------------
# b5 (production large, static 40) never submits: its compliance falls and its grade with it
http POST /api/v1/visits "$admin" "{\"request_id\":\"it-sc-g1-$run\",\"cadre_id\":$(q "SELECT cadre_id FROM assignments WHERE business_id = $b5 LIMIT 1"),\"business_id\":$b5,\"visited_at\":\"$(at '1 hour ago')\",\"mode\":\"on_site\",\"findings\":[],\"note\":\"\"}"
for try in $(seq 1 240); do
    n=$(q "SELECT count(*) FROM score_grade_history WHERE business_id = $b5")
    [ "$n" -ge 1 ] && break
    sleep 0.25
done
is "the grade change of b5 is in the history" 1 "$n"
is "it went from the registry's B to D" "B D" "$(q "SELECT old_grade || ' ' || new_grade FROM score_grade_history WHERE business_id = $b5")"
check "the history keeps the reasons" [ "$(q "SELECT jsonb_array_length(reasons->'risk') FROM score_grade_history WHERE business_id = $b5")" = 4 ]
is "one score.grade_changed event" 1 "$(q "SELECT count(*) FROM outbox WHERE topic = 'score.grade_changed' AND key = '$b5'")"
http POST /api/v1/visits "$admin" "{\"request_id\":\"it-sc-g2-$run\",\"cadre_id\":$(q "SELECT cadre_id FROM assignments WHERE business_id = $b5 LIMIT 1"),\"business_id\":$b5,\"visited_at\":\"$(at '30 minutes ago')\",\"mode\":\"on_site\",\"findings\":[],\"note\":\"\"}"
sleep 2
is "a later event with the same grade emits nothing more" 1 "$(q "SELECT count(*) FROM outbox WHERE topic = 'score.grade_changed' AND key = '$b5'")"

# --- rankings ------------------------------------------------------------------------------------
http POST /api/v1/admin/rankings "$admin" "{\"request_id\":\"it-sc-rk-$run\"}"
is "POST /admin/rankings: 200" 200 "$status"
for try in $(seq 1 60); do
    [ "$(q "SELECT count(*) FROM score_rankings WHERE level = 'district' AND period = '$QNOW' AND region_code LIKE '9751%' AND computed_at > now() - interval '1 minute'")" = 1 ] && break
    sleep 0.5
done
http GET "/api/v1/rankings?region=975101000000&level=township" "$reg"
is "GET /rankings: 200" 200 "$status"
is "both townships of the district are ranked (from redis)" "975101001000,975101002000 redis" \
    "$(jqr '[([.items[].region] | sort | join(",")), .source] | join(" ")')"
check "each rank is 1 + the number of townships scoring higher (a tie shares the rank)" \
    jqe '.items as $i | all($i[]; . as $x | .rank == 1 + ([$i[] | select(.score > $x.score)] | length))'
check "the score is the mean of on-time rate and visit completion (weights 50/50)" \
    jqe '.items | all(((.ledger_on_time_rate + .visit_completion) / 2 - .score) | fabs < 0.001)'
check "the rates are the counts'" \
    jqe '.items | all((.ledgers_on_time / .ledgers_owed - .ledger_on_time_rate | fabs < 0.001) and (.visits_done / .visits_owed - .visit_completion | fabs < 0.001))' 
check "each item has its on-time rate and visit completion" jqe '.items | all(.ledger_on_time_rate >= 0 and .ledger_on_time_rate <= 1 and .visit_completion >= 0)'
is "the quarter's ranking is stored in PostgreSQL" 2 "$(q "SELECT count(*) FROM score_rankings WHERE level = 'township' AND period = '$QNOW' AND region_code LIKE '9751%'")"
http GET "/api/v1/rankings?region=975101000000&level=county" "$reg"
is "an unknown level is 400" 400 "$status"

# --- red and notice lists ---------------------------------------------------------------------------
http GET "/api/v1/lists/red?region=975101000000" "$reg"
is "GET /lists/red: 200" 200 "$status"
is "the red list holds r1 only of r1 r2 r3 (uninsured r2, r3 with an open problem left out)" "$r1" \
    "$(jqr "[.items[].id | select(. == $r1 or . == $r2 or . == $r3)] | map(tostring) | join(\",\")")"
http GET "/api/v1/lists/notice?region=975101000000" "$reg"
check "b5 (nothing submitted) is on the notice list with its reason" jqe ".items | any(.id == $b5 and .subject == \"business\" and (.reasons[0] | startswith(\"compliance\")))"
http POST /api/v1/lists/red/close "$reg" "{\"request_id\":\"it-sc-close-$run\",\"region\":\"975101000000\"}"
is "closing the red list: 201" 201 "$status"
entries=$(jqr '.entries')
http POST /api/v1/lists/red/close "$reg" "{\"request_id\":\"it-sc-close-$run\",\"region\":\"975101000000\"}"
is "the same close again answers the same" "201 $entries" "$status $(jqr '.entries')"
http POST /api/v1/lists/red/close "$reg" "{\"request_id\":\"it-sc-close2-$run\",\"region\":\"975101000000\"}"
is "closing it again with another request is 409" 409 "$status"
# a late event: r1 opens a problem; the live score drops it from the criteria, the closed list keeps it
submit "$r1" weekly "${weeks[0]}" 1 0
sleep 1.5
http GET "/api/v1/scores/businesses/$r1" "$reg"
is "r1 now has an open problem" 1 "$(jqr '.open_problems')"
http GET "/api/v1/lists/red?region=975101000000" "$reg"
is "the closed list does not change when late events arrive" "true $entries true" \
    "$(jqr "[.closed, (.items | length), (.items | any(.id == $r1))] | map(tostring) | join(\" \")")"
http POST /api/v1/lists/red/rewards "$reg" "{\"request_id\":\"it-sc-rw-$run\",\"region\":\"975101000000\",\"business_id\":$r1,\"amount\":5000,\"note\":\"食责险奖励\"}"
is "a reward against a red-list business: 201" 201 "$status"
rid=$(jqr '.id')
http POST /api/v1/lists/red/rewards "$reg" "{\"request_id\":\"it-sc-rw-$run\",\"region\":\"975101000000\",\"business_id\":$r1,\"amount\":5000}"
is "the same reward request again answers the same id" "201 $rid" "$status $(jqr '.id')"
http POST /api/v1/lists/red/rewards "$reg" "{\"request_id\":\"it-sc-rw2-$run\",\"region\":\"975101000000\",\"business_id\":$r2,\"amount\":5000}"
is "a reward for a business not on the red list: 409" 409 "$status"
http GET "/api/v1/lists/red?region=975101000000" "$reg"
is "the reward amount shows on the list" 5000 "$(jqr ".items[] | select(.id == $r1) | .reward_amount")"
csv=$(curl -s -H "Authorization: Bearer $reg" "$LZ_API/api/v1/lists/red?region=975101000000&format=csv")
is "CSV export: a header and the entries" "kind,quarter,region,closed,subject,id,name,region_code,score,reasons,reward_amount" "$(head -n 1 <<<"$csv" | tr -d '\r')"
check "CSV export holds r1 with its reward" grep -q "^red,$QNOW,975101000000,true,business,$r1,.*,5000.00" <<<"$(tr -d '\r' <<<"$csv")"
http GET "/api/v1/lists/red?region=975102000000" "$reg"
is "a region outside the caller's jurisdiction is 404" 404 "$status"
http GET "/api/v1/lists/blue?region=975101000000" "$reg"
is "an unknown list is 404" 404 "$status"

# --- an inspection through the sampler ---------------------------------------------------------
# r2 (catering small, static 20 + 5; one daily ledger owed and on time, nothing else owed) scores
# 100, grade A.  A failed inspection (its one finding fixed on the spot: no rectification owed)
# takes the latest-inspection component from 15 to 0: compliance 85.00; risk 25 + 45 x 15 / 100
# + 15 (failed inspection) = 46.75: grade C.  Its cadre c1's inspections component goes from 1
# (none) to 0 (one fail): 15 points less, nothing else changes.
bscore() { http GET "/api/v1/scores/businesses/$1" "$reg"; }
cscore() { http GET "/api/v1/scores/cadres/$1" "$reg"; }
comp() { jqr ".components[] | select(.name == \"$1\") | \"\(.value) \(.points)\""; }
# wait_for CMD EXPECTED: up to a minute for the scorer to catch up
wait_for() {
    local got try
    for try in $(seq 1 120); do
        got=$(eval "$1")
        [ "$got" = "$2" ] && break
        sleep 0.5
    done
    echo "$got"
}
bscore "$r2"
is "r2 before the inspection: 100, grade A" "100 A" "$(jqr '"\(.score) \(.grade)"')"
cscore "$c1"
c1_before=$(jqr '.score')
is "c1's inspections component before: none inspected, 1 x 15" "1 15" "$(comp inspections)"
hist_before=$(q "SELECT count(*) FROM score_grade_history WHERE business_id = $r2")
ev_before=$(q "SELECT count(*) FROM outbox WHERE topic = 'score.grade_changed' AND key = '$r2'")

i1=$(lz_token inspector "it-sc-i1-$run" --inspector "$i1")
i2=$(lz_token inspector "it-sc-i2-$run" --inspector "$i2")
http POST /api/v1/sampling/plans "$reg" "{\"request_id\":\"it-sc-plan-$run\",\"quarter\":\"$QNOW\",\"region\":\"975101000000\",\"seed\":\"it-scorer $run\",\"settings\":{\"n_per_stratum\":50,\"exclude_previous\":false}}"
is "a regulator draws a plan of the district for this quarter: 201" 201 "$status"
plan=$(jqr '.id')
insp_id=$(q "SELECT inspector_1 FROM sampling_items WHERE plan_id = $plan AND business_id = $r2")
check "r2 is drawn, with an inspector" [ -n "$insp_id" ]
insp_tok=$i1
[ "$insp_id" = "$(q "SELECT id FROM inspectors WHERE badge_no = 'ITSC-I2'")" ] && insp_tok=$i2
# the inspection checklist when there is one (the sampler asks for every key item answered):
# the first key item failed, its finding fixed on the spot
icodes=$(q "SELECT string_agg(i.code || ':' || i.required, ' ' ORDER BY i.position) FROM checklist_items i
            WHERE i.checklist_id = (SELECT id FROM checklists WHERE type = 'catering' AND kind = 'inspection'
                                    ORDER BY version DESC LIMIT 1)" 2>/dev/null)
failed_code=
answers='[]'
for ic in $icodes; do
    code=${ic%%:*} req=${ic#*:}
    if [ -z "$failed_code" ] && { [ "$req" = t ] || [ "$req" = true ]; }; then
        failed_code=$code
        answers=$(jq -c --arg c "$code" '. + [{code: $c, ok: false, note: "冷柜温度超标"}]' <<<"$answers")
    else
        answers=$(jq -c --arg c "$code" '. + [{code: $c, ok: true}]' <<<"$answers")
    fi
done
insp_body=$(jq -cn --arg rid "it-sc-insp-$run" --argjson p "$plan" --argjson b "$r2" --argjson a "$answers" \
    --arg fc "$failed_code" '{request_id: $rid, plan_id: $p, business_id: $b, outcome: "fail",
      findings: [{description: "冷柜温度超标", action: "当场调至4度以下", fixed: true}
                 + (if $fc != "" then {item_code: $fc} else {} end)], note: "评测"}
      + (if ($a | length) > 0 then {answers: $a} else {} end)')
http POST /api/v1/inspections "$insp_tok" "$insp_body"
is "the assigned inspector records a failed inspection of r2: 201, nothing left open" "201 0" "$status $(jqr '.problems_open')"
[ "$status" = 201 ] || echo "# $body"
is "the scorer consumed inspection.recorded (score_inspections)" "fail" \
    "$(wait_for "q \"SELECT outcome FROM score_inspections WHERE plan_id = $plan AND business_id = $r2\"" fail)"
is "no problem of r2 is left open by it" 0 "$(q "SELECT count(*) FROM problems WHERE business_id = $r2 AND fixed_at IS NULL")"
got=$(wait_for "bscore $r2; jqr '\"\(.score) \(.grade)\"'" "85 C")
is "r2 after the failed inspection: compliance 85, grade C (hand-computed)" "85 C" "$got"
bscore "$r2"
is "its latest-inspection component: 0 x 15" "0 0" "$(comp latest_inspection)"
is "its risk: 46.75 (25 static + 6.75 dynamic compliance + 15 failed inspection)" 46.75 "$(jqr '.risk')"
got=$(wait_for "q \"SELECT count(*) - $hist_before FROM score_grade_history WHERE business_id = $r2\"" 1)
is "the grade change is one history row" 1 "$got"
is "from A to C" "A C" "$(q "SELECT old_grade || ' ' || new_grade FROM score_grade_history WHERE business_id = $r2 ORDER BY id DESC LIMIT 1")"
is "and one score.grade_changed event" 1 "$(($(q "SELECT count(*) FROM outbox WHERE topic = 'score.grade_changed' AND key = '$r2'") - ev_before))"
cscore "$c1"
is "c1's inspections component: one fail, 0 x 15" "0 0" "$(comp inspections)"
is "c1's score is 15 lower (hand-computed)" "$(printf %.2f "$(jq -n "$c1_before - 15")")" "$(printf %.2f "$(jqr '.score')")"
check "its detail names the inspection" jqe '.components[] | select(.name == "inspections") | .detail | startswith("1 inspected: 0 pass, 0 with remarks, 1 fail")'
out=$(liangze score check --quarter "$QNOW" --region 9751 2>&1)
is "the recompute still equals the running aggregates" "equal" "${out%% *}"

# --- a task opened by the scheduler's sweep -------------------------------------------------------
# c3 (village, monthly here) owes one visit to b9 for last month and made none: the sweep opens
# one visit task for c3 at the month's end.  Overdue tasks: 1 - 1 x 20 % = 0.8, 12 of 15 points.
cscore "$c3"
c3_before=$(jqr '.score')
is "c3 before the sweep: no overdue task, 1 x 15" "1 15" "$(comp overdue_tasks)"
http POST /api/v1/admin/sweep "$admin" "{\"request_id\":\"it-sc-sweep-$run\",\"as_of\":\"$(at now)\"}"
is "the scheduler's sweep: 200" 200 "$status"
is "it opened one visit task for c3" "1 visit" "$(q "SELECT count(*) || ' ' || min(kind) FROM tasks WHERE cadre_id = $c3")"
cscore "$c3"
is "c3's overdue-tasks component: 0.8 x 15 = 12" "0.8 12" "$(comp overdue_tasks)"
is "c3's score is 3 lower (hand-computed)" "$(printf %.2f "$(jq -n "$c3_before - 3")")" "$(printf %.2f "$(jqr '.score')")"
check "its detail counts the task" jqe '.components[] | select(.name == "overdue_tasks") | .detail | startswith("1 overdue tasks")'

# --- a warning through the notifier ---------------------------------------------------------------
# r3 (an open problem of its ledger: rectification 0 of 1, 85) gets a warning; once its
# rectify-by time has passed unanswered it costs 5 (80); answered, nothing (85 again).
bscore "$r3"
is "r3 before the warning: 85" 85 "$(jqr '.score')"
http POST /api/v1/warnings "$reg" "{\"request_id\":\"it-sc-warn-$run\",\"business_id\":$r3,\"reason\":\"冷柜温度超标未整改\",\"rectify_by\":\"$(at '3 seconds')\"}"
is "a regulator issues a warning through the notifier: 201" 201 "$status"
wid=$(jqr '.id')
is "the scorer consumed warning.issued (score_warnings)" 1 \
    "$(wait_for "q \"SELECT count(*) FROM score_warnings WHERE warning_id = $wid AND business_id = $r3 AND rectify_by IS NOT NULL\"" 1)"
sleep 4
bscore "$r3"
is "past its rectify-by time, unanswered: 80 (hand-computed)" 80 "$(jqr '.score')"
is "the warnings component: 1 x -5" "1 -5" "$(comp unanswered_warnings)"
biz3=$(lz_token business "it-sc-biz3-$run" --business "$r3")
http POST "/api/v1/warnings/$wid/reply" "$biz3" "{\"request_id\":\"it-sc-wr-$run\",\"rectification\":\"已更换温控器\"}"
is "the business answers it: 200" 200 "$status"
is "the scorer consumed warning.answered" 1 \
    "$(wait_for "q \"SELECT count(*) FROM score_warnings WHERE warning_id = $wid AND answered_at IS NOT NULL\"" 1)"
bscore "$r3"
is "answered, the penalty is gone: 85" 85 "$(jqr '.score')"
tap_done
