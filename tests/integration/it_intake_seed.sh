#!/usr/bin/env bash
# it_intake_seed.sh - `liangze seed demo` into a fake province (--region-root 9607,
# 500 businesses, 80 cadres): the cadre level follows the risk grade (D county, C
# township, A/B village), 100 % coverage through GET /api/v1/coverage, a re-seed
# ends an assignment the generator no longer makes, and the ledger history: three
# weeks of daily records (~92 % on time, ~3 % late, ~5 % missing), ~1 in 10 with a
# failed item, problems fixed and open, weekly and monthly records, the Redis
# bitmaps and counters agreeing with PostgreSQL, and a second seed adding nothing.
#
# Everything lives under 960000000000 (phones 19607xxxxxx, licences *960705*...),
# so it never touches other tests' rows; running it again is safe.
export LZ_BROKER_PORT=${LZ_BROKER_PORT:-25610} LZ_HTTP_PORT=${LZ_HTTP_PORT:-18210}
. "$(dirname "$0")/lib.sh"
trap lz_stop_all EXIT
q() { psql -qAt "$LZ_PG_ADMIN_URL" -c "$1"; }
rc() { redis-cli -h "$LZ_REDIS_HOST" -p "$LZ_REDIS_PORT" "$@"; }
day() { TZ=Asia/Shanghai date -d "$1 day" +%F; }
seed() { "$LZ_ROOT/build/bin/liangze" seed demo --businesses 500 --cadres 80 --region-root 9607; }
B="b.region_code LIKE '9607%'"

out=$(seed 2>&1)
check "seed demo --region-root 9607 loads" grep -q "demo city loaded" <<<"$out"
[ -n "$out" ] && sed 's/^/# /' <<<"$out"

# --- who covers whom ---------------------------------------------------------------------
is "500 businesses under 9607" 500 "$(q "SELECT count(*) FROM businesses b WHERE $B")"
cur="FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN businesses b ON b.id = a.business_id
     WHERE a.until IS NULL AND $B"
is "every business has exactly one current cadre" "500 500" \
    "$(q "SELECT count(*), count(DISTINCT a.business_id) $cur" | tr '|' ' ')"
is "no business is covered by a cadre of the wrong level" 0 \
    "$(q "SELECT count(*) $cur AND c.level <> CASE b.risk_grade WHEN 'D' THEN 'county'
          WHEN 'C' THEN 'township' ELSE 'village' END")"
mix=$(q "SELECT string_agg(level || '=' || n, ' ' ORDER BY level) FROM
         (SELECT c.level, count(*) n $cur GROUP BY 1) x")
echo "# level mix: $mix"
check "county, township and village cadres all cover some (D, C, A/B)" \
    grep -Eq 'county=[1-9].* township=[1-9][0-9]*.* village=[1-9]' <<<"$mix"
vil=$(q "SELECT count(*) $cur AND c.level = 'village'")
check "village cadres cover most (A/B about 3/4)" [ "$vil" -ge 300 -a "$vil" -le 420 ]

# --- a re-seed converges: an assignment the generator does not make is ended ------------
stray=$(q "INSERT INTO assignments (cadre_id, business_id, region_code)
           SELECT (SELECT c.id FROM cadres c WHERE c.level = 'village' AND c.region_code LIKE '9607%'
                   ORDER BY c.id LIMIT 1), b.id, b.region_code
           FROM businesses b WHERE $B AND b.risk_grade = 'D'
             AND NOT EXISTS (SELECT 1 FROM assignments x JOIN cadres y ON y.id = x.cadre_id
                             WHERE x.business_id = b.id AND x.until IS NULL AND y.level = 'village')
           ORDER BY b.id LIMIT 1 RETURNING id")
check "a stray village assignment of a D business is made" [ -n "$stray" ]
out2=$(seed 2>&1)
check "the second seed succeeds" grep -q "demo city loaded" <<<"$out2"
is "the second seed imports nothing new (5 imports, all 0 0)" "5 5" \
    "$(grep -Ec '^(regions|businesses|cadres|assignments|inspectors) ' <<<"$out2") $(grep -Ec 'imported +0 +updated +0 ' <<<"$out2")"
check "the second seed ends the stray assignment (kept as history)" \
    [ "$(q "SELECT until IS NOT NULL FROM assignments WHERE id = ${stray:-0}")" = t ]
is "still exactly one current cadre per business" "500 500" \
    "$(q "SELECT count(*), count(DISTINCT a.business_id) $cur" | tr '|' ' ')"

# --- the coverage route ---------------------------------------------------------------------
lz_start broker >/dev/null
lz_start intake >/dev/null
lz_start gateway >/dev/null
if lz_wait_http; then ok "broker, intake, gateway answer"; else not_ok "broker, intake, gateway answer"; fi
admin=$(lz_token admin "it-intake-seed-$$")
http GET "/api/v1/coverage?region=960700000000" "$admin"
is "GET /coverage of the city: 200" 200 "$status"
is "coverage 500 of 500, rate 1, none uncovered" "500 500 1 0" \
    "$(jq -r '"\(.businesses) \(.covered) \(.rate) \(.uncovered_count)"' <<<"$body")"
is "coverage by level matches the database" \
    "$(q "SELECT count(*) FILTER (WHERE c.level = 'county') || ' ' ||
              count(*) FILTER (WHERE c.level = 'township') || ' ' ||
              count(*) FILTER (WHERE c.level = 'village') $cur")" \
    "$(jq -r '"\(.by_level.county // 0) \(.by_level.township // 0) \(.by_level.village // 0)"' <<<"$body")"

# --- ledger history ------------------------------------------------------------------------
from=$(day -21)
to=$(day -1)
read -r n late failed < <(q "SELECT count(*), count(*) FILTER (WHERE status = 'late'),
    count(*) FILTER (WHERE cardinality(failed_codes) > 0) FROM records b
    WHERE $B AND kind = 'daily' AND period BETWEEN '$from' AND '$to'" | tr '|' ' ')
echo "# daily records $n of $((500 * 21)), late $late, with a failed item $failed"
check "about 95 % of the daily records of 21 days are in (90-98 %)" \
    [ "$((n * 100 / 10500))" -ge 90 -a "$((n * 100 / 10500))" -le 98 ]
check "about 3 % are late (1-6 %)" [ "$((late * 100 / n))" -ge 1 -a "$((late * 100 / n))" -le 6 ]
check "about 1 in 10 has a failed item (6-14 %)" \
    [ "$((failed * 100 / n))" -ge 6 -a "$((failed * 100 / n))" -le 14 ]
is "no daily record today (the day is still open)" 0 \
    "$(q "SELECT count(*) FROM records b WHERE $B AND kind = 'daily' AND period = '$(day 0)'")"
chronic=$(q "SELECT count(*) FROM (SELECT business_id FROM records b WHERE $B AND kind = 'daily'
             AND period BETWEEN '$from' AND '$to' GROUP BY 1 HAVING count(*) <= 18) x")
check "gaps vary by business: some are chronic (>= 3 of 21 days missing): $chronic" \
    [ "$chronic" -ge 10 -a "$chronic" -le 150 ]
is "every failed item has a note" 0 \
    "$(q "SELECT count(*) FROM records b WHERE $B AND cardinality(failed_codes) <> cardinality(failed_notes)")"
read -r np nopen nfixed_now < <(q "SELECT count(*), count(*) FILTER (WHERE fixed_at IS NULL),
    count(*) FILTER (WHERE fixed_at = opened_at) FROM problems b WHERE $B AND source = 'ledger'" | tr '|' ' ')
echo "# problems $np, open $nopen, fixed at once $nfixed_now"
check "a problem per failed item" [ "$np" -ge "$failed" ]
check "most problems fixed at once, some left open" \
    [ "$((nfixed_now * 100 / np))" -ge 55 -a "$nopen" -ge 1 -a "$((nopen * 100 / np))" -le 30 ]
is "no problem fixed in the future" 0 \
    "$(q "SELECT count(*) FROM problems b WHERE $B AND fixed_at > now()")"
is "no record submitted in the future" 0 \
    "$(q "SELECT count(*) FROM records b WHERE $B AND submitted_at > now()")"
nw=$(q "SELECT count(DISTINCT period) FROM records b WHERE $B AND kind = 'weekly'")
check "weekly records for the past ISO weeks ($nw weeks)" [ "$nw" -ge 2 ]
lastmonth=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-15) -1 month" +%Y-%m)
nm=$(q "SELECT count(*) FROM records b WHERE $B AND kind = 'monthly' AND period = '$lastmonth'")
check "monthly records for $lastmonth (about 95 % of 500): $nm" [ "$nm" -ge 450 -a "$nm" -le 500 ]
check "weekly summaries count the week's problems" \
    [ "$(q "SELECT count(*) FROM records b WHERE $B AND kind = 'weekly' AND summary LIKE '%发现问题%'")" -ge 1 ]

# --- Redis agrees with PostgreSQL ---------------------------------------------------------
y=$(day -1)
pgn=$(q "SELECT count(*) FROM records b WHERE $B AND kind = 'daily' AND period = '$y'")
pgl=$(q "SELECT count(*) FROM records b WHERE $B AND kind = 'daily' AND period = '$y' AND status = 'late'")
is "lz:cnt:daily:$y 960700000000:submitted = PostgreSQL" "$pgn" \
    "$(rc HGET "lz:cnt:daily:$y" 960700000000:submitted)"
is "lz:cnt:daily:$y 960700000000:late = PostgreSQL" "$pgl" \
    "$(rc HGET "lz:cnt:daily:$y" 960700000000:late | sed 's/^$/0/')"
bits=$(q "SELECT string_agg(business_id::text, ' ') FROM (SELECT business_id FROM records b
          WHERE $B AND kind = 'daily' AND period = '$y' ORDER BY business_id LIMIT 5) x")
set=0
for id in $bits; do set=$((set + $(rc GETBIT "lz:done:daily:$y" "$id"))); done
is "the done bitmap has the seeded businesses' bits" 5 "$set"

# --- a second seed adds nothing ---------------------------------------------------------
before=$(q "SELECT count(*) FROM records b WHERE $B")
pbefore=$(q "SELECT count(*) FROM problems b WHERE $B")
cbefore=$(rc HGET "lz:cnt:daily:$y" 960700000000:submitted)
out3=$(seed 2>&1)
check "a third seed reports no history added" grep -q "daily 0  weekly 0  monthly 0  problems 0" <<<"$out3"
is "records unchanged" "$before" "$(q "SELECT count(*) FROM records b WHERE $B")"
is "problems unchanged" "$pbefore" "$(q "SELECT count(*) FROM problems b WHERE $B")"
is "counters unchanged" "$cbefore" "$(rc HGET "lz:cnt:daily:$y" 960700000000:submitted)"
tap_done
