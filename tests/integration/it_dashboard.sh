#!/usr/bin/env bash
# it_dashboard.sh - the web dashboard end to end: the whole stack on this test's own ports,
# the demo city, two regulator tokens, then tests/e2e/dashboard.spec.mjs in Debian's headless
# Chromium through playwright-core.  Skips (one "ok ... # SKIP" line) only when chromium or
# node cannot be installed; anything else that breaks is a failure.
export LZ_BROKER_PORT=$((25660 + ${LZ_PORT_OFFSET:-0})) LZ_HTTP_PORT=$((18260 + ${LZ_PORT_OFFSET:-0}))
. "$(dirname "$0")/lib.sh"
cd "$LZ_ROOT" || exit 1

skip() {
    echo "ok 1 - dashboard end to end # SKIP $1"
    echo "1..1"
    exit 0
}
chromium=/usr/bin/chromium
if [ ! -x "$chromium" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    deploy/local/deps.sh >/dev/null 2>&1 || true
fi
[ -x "$chromium" ] || skip "chromium cannot be installed"
command -v node >/dev/null || skip "node cannot be installed"
[ -f web/node_modules/playwright-core/package.json ] && [ -s web/vendor/echarts.min.js ] ||
    web/build.sh >/dev/null 2>&1
[ -f web/node_modules/playwright-core/package.json ] || skip "npm packages (web/package-lock.json) cannot be installed"
check "web/vendor/echarts.min.js is built" test -s web/vendor/echarts.min.js

trap lz_stop_all EXIT
check "the demo city is seeded (liangze seed demo)" bash -c 'build/bin/liangze seed demo >/dev/null 2>&1'
lz_start_suite
check "broker, every service and the gateway start" curl -sf -o /dev/null "$LZ_API/healthz"

district=340705000000
town=340705001000
other_town=340705002000
tok_district=$(lz_token regulator "it_dashboard district" --region "$district")
tok_town=$(lz_token regulator "it_dashboard township" --region "$town")
check "a district and a township regulator token are made" test -n "$tok_district" -a -n "$tok_town"
# a service just started may answer 503 for a moment: wait (10 s at most) for the statistics
for _ in $(seq 1 50); do
    http GET "/api/v1/stats/ledgers?region=$district&kind=daily&period=$(TZ=Asia/Shanghai date +%F)" "$tok_district"
    [ "$status" != 503 ] && break
    sleep 0.2
done
http GET "/api/v1/regions/$town" "$tok_district"
town_name=$(echo "$body" | jq -r .name)
http GET "/api/v1/businesses?region=$other_town&limit=1" "$tok_district"
other_biz=$(echo "$body" | jq -r '.items[0].id // empty')
check "a business of another township exists" test -n "$other_biz"
http GET / ""
is "the gateway serves the dashboard at /" 200 "$status"
http GET /vendor/echarts.min.js ""
is "the gateway serves web/vendor/echarts.min.js" 200 "$status"

out="$LZ_LOGDIR/dashboard"
mkdir -p "$out"
spec_out=$(LZ_API="$LZ_API" LZ_OUT="$out" LZ_CHROMIUM="$chromium" \
    LZ_DISTRICT="$district" LZ_TOWN="$town" LZ_TOWN_NAME="$town_name" LZ_OTHER_TOWN="$other_town" \
    LZ_OTHER_BIZ="$other_biz" LZ_TOK_DISTRICT="$tok_district" LZ_TOK_TOWN="$tok_town" \
    timeout 300 node tests/e2e/dashboard.spec.mjs 2>"$out/spec.err")
rc=$?
if [ "$rc" -eq 3 ]; then
    not_ok "chromium starts headless" "$(grep LAUNCH_FAILED <<<"$spec_out")"
fi
n=0
while IFS= read -r line; do
    case "$line" in
    "RESULT ok "*) ok "${line#RESULT ok }" ;;
    "RESULT not_ok "*)
        rest=${line#RESULT not_ok }
        not_ok "${rest%% | *}" "${rest#* | }"
        ;;
    "#"*) echo "$line" ;;
    esac
    n=$((n + 1))
done <<<"$spec_out"
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    not_ok "the browser test runs to its end (exit $rc)" "$(tail -n 5 "$out/spec.err")"
fi
check "screenshots are written under $out" test -s "$out/dashboard-district.png"
echo "# screenshots: $out/dashboard-*.png"
tap_done
