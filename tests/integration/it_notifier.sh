#!/usr/bin/env bash
# it_notifier.sh - the notifier against a fake SMS provider, webhook receiver and SMTP sink
# (tests/integration/fake_provider.c): signed SendSms with the right text, a retry after a 500,
# no retry after a permanent error, dead after the attempts, a request twice on the stream sent
# once, quiet hours (the clock driven by LZ_CLOCK_OFFSET_S), the daily SMS cap, webhooks, e-mail
# with an escaped <script>, kill -9 mid-batch, warnings, templates, delivery receipts.
#
# Fixture: fake province 930000000000 (city 9301, district 930101, community 930101001001), one
# business; phones 193xxxxxxxx made per run, dedupe keys itn-<run>-*.
. "$(dirname "$0")/lib.sh"
export LZ_HTTP_PORT=$((18230 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25630 + ${LZ_PORT_OFFSET:-0}))
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT" LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
FP=$((18231 + ${LZ_PORT_OFFSET:-0}))
SMTP=$((18232 + ${LZ_PORT_OFFSET:-0}))
# notifiers are started inside $(...), so lz_stop_all (our own children only) would miss them:
# their PIDs go to a file of this run's own and are stopped from it
nt_pids="$LZ_RUN_DIR/it_notifier.$$.pids"
: >"$nt_pids"
start_nt() {
    local p
    p=$(lz_start notifier "$@")
    echo "$p" >>"$nt_pids"
    echo "$p"
}
stop_nts() {
    local p
    while read -r p; do lz_stop "$p"; done <"$nt_pids"
    rm -f "$nt_pids"
}
trap 'stop_nts; lz_stop_all; [ -n "${fp_pid:-}" ] && kill "$fp_pid" 2>/dev/null' EXIT
q() { psql -qAt -v ON_ERROR_STOP=1 "$LZ_PG_ADMIN_URL" -c "$1"; }
run=$$-$(date +%s)
# a topic and Redis keys of this run's own: other stacks on the machine may run notifiers too
export LZ_NOTIFY_TOPIC="itnotify.r${run//-/_}" LZ_NOTIFY_KEY_PREFIX="lz:itnotify:$run"
pfx=$(printf '193%04d' $((RANDOM % 10000)))
ph() { printf '%s%04d' "$pfx" "$1"; } # ph N: the run's phone number N
log="$LZ_LOGDIR/fake_provider.$run.jsonl"
: >"$log"

# local 10:00 today (or HH:MM on day +D) as an offset from the real clock
offset_to() { echo $(($(TZ=Asia/Shanghai date -d "$1" +%s) - $(date +%s))); }
OFF_DAY=$(offset_to "today 10:00")

export LZ_SMS_URL="http://127.0.0.1:$FP/" LZ_SMS_SECRET_ID=AKIDtest LZ_SMS_SECRET_KEY=tc3-test-key \
    LZ_SMS_SDK_APP_ID=1400000001 LZ_SMS_SIGN_NAME=两责测试 \
    LZ_SMS_TEMPLATE_IDS="ledger_reminder=1001,overdue_warning=1002,warning=1009" \
    LZ_SMS_CALLBACK_SECRET=cb-secret LZ_WEBHOOK_SECRET=hook-secret \
    LZ_SMTP_URL="smtp://127.0.0.1:$SMTP" LZ_SMTP_FROM=notify@liangze.test \
    LZ_NOTIFY_BACKOFF_BASE_MS=100 LZ_NOTIFY_BACKOFF_MAX_MS=400 LZ_NOTIFY_MAX_ATTEMPTS=3 \
    LZ_NOTIFY_TIMEOUT_MS=2000 LZ_NOTIFY_CLAIM_IDLE_MS=1000 LZ_NOTIFY_TEMPLATE_TTL_MS=0

"$LZ_ROOT/build/tests/fake_provider" --port $FP --smtp-port $SMTP --log "$log" \
    --secret-key tc3-test-key --webhook-secret hook-secret >>"$LZ_LOGDIR/fake_provider.log" 2>&1 &
fp_pid=$!

# --- fixture ---------------------------------------------------------------------------------
q "DELETE FROM warnings WHERE region_code LIKE '9301%';
   DELETE FROM businesses WHERE region_code LIKE '9301%';
   INSERT INTO regions (code, name, level, parent_code) VALUES
     ('930000000000', '通知测试省', 'province', NULL),
     ('930100000000', '通知测试市', 'city', '930000000000'),
     ('930101000000', '通测区', 'district', '930100000000'),
     ('930101001000', '通测街道', 'township', '930101000000'),
     ('930101001001', '通测社区', 'community', '930101001000')
   ON CONFLICT (code) DO NOTHING;"
BID=$(q "INSERT INTO businesses (license_no, credit_code, name, type, risk_grade, region_code, address,
         status, head_name, head_phone, officer_name, officer_phone)
         VALUES ('ITNT-930101-1', '919301010000000011', '通测<b>饭店</b>', 'catering', 'A', '930101001001',
         '通路1号', 'active', '郑一', '$(ph 9001)', '王一', '$(ph 9002)') RETURNING id")

lz_start broker >/dev/null
NT=$(start_nt LZ_CLOCK_OFFSET_S="$OFF_DAY")
lz_start gateway >/dev/null
lz_wait_http || not_ok "gateway answers /healthz"
ADMIN=$(lz_token admin itn-admin)
REG=$(lz_token regulator itn-reg --region 930101000000)
OUT=$(lz_token regulator itn-out --region 930102000000)
BIZ=$(lz_token business itn-biz --business "$BID")

# send JSON-LINE [TIMES]: put one request on the stream
send() { echo "$1" | "$LZ_ROOT/build/tests/notify_send" --topic "$LZ_NOTIFY_TOPIC" --times "${2:-1}" >/dev/null; }
# req KEY PHONE [EXTRA]: a ledger reminder request as JSON
req() {
    echo "{\"dedupe_key\":\"itn-$run-$1\",\"template\":\"ledger_reminder\",\"channel\":\"sms\",\"to\":\"$2\",\"region_code\":\"930101001001\",\"business_id\":$BID,\"params\":[{\"key\":\"business_name\",\"value\":\"通测饭店\"},{\"key\":\"owed\",\"value\":\"日管控台账\"},{\"key\":\"period\",\"value\":\"2026-11-29\"},{\"key\":\"deadline\",\"value\":\"11月30日24时\"}]${3:-}}"
}
st() { q "SELECT status || '/' || attempts FROM deliveries WHERE dedupe_key = 'itn-$run-$1'"; }
# wait_st KEY PATTERN [TRIES]: wait until status/attempts matches PATTERN
wait_st() {
    local i s
    for i in $(seq 1 "${3:-100}"); do
        s=$(st "$1")
        [[ "$s" == $2 ]] && return 0
        sleep 0.1
    done
    echo "# $1 is '$s'"
    return 1
}
calls() { jq -c "select(.key == \"$1\")" "$log" | wc -l; }
plan() { curl -s -X POST "http://127.0.0.1:$FP/ctl/plan?key=$1&plan=$2" >/dev/null; }

# --- SMS: signed, right text, accepted -------------------------------------------------------
send "$(req r1 "$(ph 1)")"
check "a reminder is sent" wait_st r1 'sent/1'
line=$(jq -c "select(.key == \"$(ph 1)\")" "$log" | head -1)
is "the provider saw a valid TC3-HMAC-SHA256 signature" true "$(jq -r .sig_ok <<<"$line")"
is "template id and sign name from the settings" "1001/两责测试" "$(jq -r '.template_id + "/" + .sign_name' <<<"$line")"
is "template parameters carry the name, what is owed, period and deadline" \
    '["通测饭店","2026-11-29","日管控台账","11月30日24时"]' "$(jq -c .params <<<"$line")"
is "the dedupe key travels as SessionContext" "itn-$run-r1" "$(jq -r .dedupe <<<"$line")"
is "the attempt is recorded with its outcome" "1|ok|200" \
    "$(q "SELECT attempt || '|' || outcome || '|' || http_status FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.dedupe_key = 'itn-$run-r1'")"

# --- 500 then 200: one delivery after a retry ------------------------------------------------
plan "$(ph 2)" 500
send "$(req r2 "$(ph 2)")"
check "500 then 200: sent on the second attempt" wait_st r2 'sent/2'
is "the provider was called twice" 2 "$(calls "$(ph 2)")"
is "both attempts recorded" "transient,ok" \
    "$(q "SELECT string_agg(outcome, ',' ORDER BY attempt) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.dedupe_key = 'itn-$run-r2'")"

# --- permanent error: failed, no retry -------------------------------------------------------
plan "$(ph 3)" bad
send "$(req r3 "$(ph 3)")"
check "an invalid number fails at once" wait_st r3 'failed/1'
sleep 0.6
is "a permanent error is not retried" 1 "$(calls "$(ph 3)")"
is "the provider's code is kept" "InvalidParameterValue.IncorrectPhoneNumber: refused" \
    "$(q "SELECT last_error FROM deliveries WHERE dedupe_key = 'itn-$run-r3'")"

# --- N transient failures: dead, visible to regulators ---------------------------------------
plan "$(ph 4)" 500,tfail,500,500
send "$(req r4 "$(ph 4)")"
check "after 3 transient failures the request is dead" wait_st r4 'dead/3'
is "no fourth attempt" 3 "$(calls "$(ph 4)")"
http GET "/api/v1/notifications?status=dead&business_id=$BID" "$REG"
is "GET /notifications?status=dead answers 200" 200 "$status"
is "the dead one is listed for the regulator" "itn-$run-r4 dead 3" \
    "$(jq -r ".items[] | select(.dedupe_key == \"itn-$run-r4\") | \"\(.dedupe_key) \(.status) \(.attempts)\"" <<<"$body")"
http GET "/api/v1/notifications?status=dead" "$OUT"
is "a regulator elsewhere does not see it" 0 \
    "$(jq "[.items[] | select(.dedupe_key == \"itn-$run-r4\")] | length" <<<"$body")"
http GET "/api/v1/notifications?status=nonsense" "$REG"
is "an unknown status is 400" 400 "$status"

# --- the same request twice on the stream: one provider call ---------------------------------
send "$(req r5 "$(ph 5)")" 2
check "a request seen twice is delivered" wait_st r5 'sent/1'
sleep 0.5
is "one provider call" 1 "$(calls "$(ph 5)")"
is "one delivery row" 1 "$(q "SELECT count(*) FROM deliveries WHERE dedupe_key = 'itn-$run-r5'")"

# --- webhook: signed JSON with the rendered text ---------------------------------------------
send "{\"dedupe_key\":\"itn-$run-w1\",\"template\":\"cadre_notice\",\"channel\":\"webhook\",\"to\":\"http://127.0.0.1:$FP/hook/w$run\",\"to_name\":\"李四\",\"params\":[{\"key\":\"business_name\",\"value\":\"通测饭店\"},{\"key\":\"owed\",\"value\":\"周排查\"},{\"key\":\"period\",\"value\":\"2026-W48\"},{\"key\":\"deadline\",\"value\":\"12月1日\"}]}"
check "a webhook is delivered" wait_st w1 'sent/1'
line=$(jq -c "select(.key == \"w$run\")" "$log" | head -1)
is "the webhook's X-Lz-Signature verifies" true "$(jq -r .sig_ok <<<"$line")"
check "the webhook carries the rendered Chinese text" grep -q '李四同志：您包保的通测饭店2026-W48的周排查尚未完成' <<<"$(jq -r .text <<<"$line")"

# --- e-mail: a letter with <script> in the business name renders escaped ---------------------
send "{\"dedupe_key\":\"itn-$run-e1\",\"template\":\"reminder_letter\",\"channel\":\"email\",\"to\":\"office@example.org\",\"letter_id\":7,\"params\":[{\"key\":\"letter_no\",\"value\":\"铜提〔2026〕1号\"},{\"key\":\"recipient\",\"value\":\"<script>alert(1)</script>街道办\"},{\"key\":\"body\",\"value\":\"贵辖区A&B饭店逾期未报台账。\"},{\"key\":\"deadline\",\"value\":\"2026年12月5日\"},{\"key\":\"issuer\",\"value\":\"市市场监管局\"},{\"key\":\"date\",\"value\":\"2026年12月1日\"}]}"
check "an e-mail letter is delivered" wait_st e1 'sent/1'
mail=$(jq -r 'select(.kind == "email" and (.rcpt | contains("office@example.org"))) | .file' "$log" | tail -1)
html=$(sed '1,/^\r*$/d' "$mail" | tr -d '\r' | base64 -d 2>/dev/null)
check "the letter's HTML has the escaped name" grep -q '&lt;script&gt;alert(1)&lt;/script&gt;街道办' <<<"$html"
check "and no live <script>" bash -c '! grep -q "<script>" <<<"$1"' _ "$html"
check "& is escaped too" grep -q 'A&amp;B饭店' <<<"$html"
check "the subject is the template's title (RFC 2047)" grep -q "Subject: =?UTF-8?B?$(printf '提醒书' | base64)?=" "$mail"
send "{\"dedupe_key\":\"itn-$run-e2\",\"template\":\"reminder_letter\",\"channel\":\"email\",\"to\":\"reject@example.org\"}"
check "a mailbox the server refuses (550) fails without retry" wait_st e2 'failed/1'

# --- the daily SMS cap: the sixth of the day is held, urgent ones still go --------------------
for i in 1 2 3 4 5 6; do send "$(req c$i "$(ph 6)")"; done
for i in 1 2 3 4 5 6; do wait_st c$i '[sh]e[nl][td]/*' >/dev/null; done
is "five SMS to one phone are sent" 5 "$(q "SELECT count(*) FROM deliveries WHERE dedupe_key LIKE 'itn-$run-c%' AND status = 'sent'")"
is "the sixth is held" "held/0" "$(q "SELECT status || '/' || attempts FROM deliveries WHERE dedupe_key LIKE 'itn-$run-c%' AND status <> 'sent'")"
is "held until 07:00 the next day" "$(TZ=Asia/Shanghai date -d 'tomorrow 07:00' '+%Y-%m-%d 07:00')" \
    "$(q "SELECT to_char(next_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM deliveries WHERE dedupe_key LIKE 'itn-$run-c%' AND status = 'held'")"
send "$(req c7 "$(ph 6)" ',"urgent":true')"
check "an urgent seventh goes anyway" wait_st c7 'sent/1'

# --- kill -9 mid-batch: nothing lost, nothing accepted twice ---------------------------------
NT2=$(start_nt LZ_CLOCK_OFFSET_S="$OFF_DAY")
sleep 0.5
for i in $(seq 1 20); do plan "$(ph $((100 + i)))" slow400; done
for i in $(seq 1 20); do req k$i "$(ph $((100 + i)))"; done | "$LZ_ROOT/build/tests/notify_send" --topic "$LZ_NOTIFY_TOPIC" >/dev/null
sleep 0.3
kill -9 "$NT"
rm -f "$LZ_PIDDIR/$NT.pid"
ok=0
for i in $(seq 1 250); do
    n=$(q "SELECT count(*) FROM deliveries WHERE dedupe_key LIKE 'itn-$run-k%' AND status = 'sent'")
    [ "$n" = 20 ] && ok=1 && break
    sleep 0.1
done
is "after kill -9 of one notifier all 20 are sent by the other" 20 "$n"
is "each has exactly one successful attempt recorded" 20 \
    "$(q "SELECT count(*) FROM (SELECT d.id FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id AND a.outcome = 'ok' WHERE d.dedupe_key LIKE 'itn-$run-k%' GROUP BY d.id HAVING count(*) = 1) x")"
new=$(jq -c "select(((.dedupe // \"\") | startswith(\"itn-$run-k\")) and .dup == false)" "$log" | wc -l)
dups=$(jq -c "select(((.dedupe // \"\") | startswith(\"itn-$run-k\")) and .dup == true)" "$log" | wc -l)
is "the provider accepted each message once" 20 "$new"
echo "# resent with the same dedupe key after the kill (the provider dropped them): $dups"
NT=$NT2

# --- quiet hours: 23:00 held until 07:00 (time driven by the test) ---------------------------
lz_stop "$NT"
NT=$(start_nt LZ_CLOCK_OFFSET_S="$(offset_to 'today 23:00')")
send "$(req q1 "$(ph 7)")"
send "$(req q2 "$(ph 8)" ',"urgent":true')"
check "at 23:00 a non-urgent message is held" wait_st q1 'held/0'
is "held until 07:00 the next morning" "$(TZ=Asia/Shanghai date -d 'tomorrow 07:00' '+%Y-%m-%d 07:00')" \
    "$(q "SELECT to_char(next_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM deliveries WHERE dedupe_key = 'itn-$run-q1'")"
check "an urgent one goes at 23:00" wait_st q2 'sent/1'
is "nothing reached the provider for the held one" 0 "$(calls "$(ph 7)")"
lz_stop "$NT"
NT=$(start_nt LZ_CLOCK_OFFSET_S="$(offset_to 'tomorrow 07:00:05')")
check "at 07:00 the held message is sent" wait_st q1 'sent/1'
lz_stop "$NT"
NT=$(start_nt LZ_CLOCK_OFFSET_S="$OFF_DAY")

# --- warnings ----------------------------------------------------------------------------------
by=$(TZ=Asia/Shanghai date -d '+3 days' '+%Y-%m-%dT18:00:00+08:00')
http POST /api/v1/warnings "$REG" "{\"request_id\":\"itn-$run-w\",\"business_id\":$BID,\"reason\":\"冷库温度记录缺失\",\"rectify_by\":\"$by\"}"
is "POST /warnings by the regulator answers 201" 201 "$status"
WID=$(jq -r .id <<<"$body")
http POST /api/v1/warnings "$REG" "{\"request_id\":\"itn-$run-w\",\"business_id\":$BID,\"reason\":\"冷库温度记录缺失\",\"rectify_by\":\"$by\"}"
is "the same request_id gives the same warning" "201 $WID" "$status $(jq -r .id <<<"$body")"
http POST /api/v1/warnings "$OUT" "{\"request_id\":\"itn-$run-w2\",\"business_id\":$BID,\"reason\":\"x\",\"rectify_by\":\"$by\"}"
is "a regulator elsewhere gets 404" 404 "$status"
http POST /api/v1/warnings "$REG" "{\"request_id\":\"itn-$run-w3\",\"business_id\":$BID,\"reason\":\"x\",\"rectify_by\":\"2020-01-01T00:00:00+08:00\"}"
is "a past rectify_by is 400" "400 rectify_by" "$status $(jq -r .error.field <<<"$body")"
http POST /api/v1/warnings "$BIZ" "{\"request_id\":\"itn-$run-w4\",\"business_id\":$BID,\"reason\":\"x\",\"rectify_by\":\"$by\"}"
is "a business may not warn" 403 "$status"
for i in $(seq 1 100); do
    s=$(q "SELECT status FROM deliveries WHERE dedupe_key = 'warning:$WID'")
    [ "$s" = sent ] && break
    sleep 0.1
done
is "the warning's SMS is sent" sent "$s"
line=$(jq -c "select(.dedupe == \"warning:$WID\")" "$log" | head -1)
is "to the head's phone with the warning template" "$(ph 9001) 1009" "$(jq -r '.key + " " + .template_id' <<<"$line")"
check "with the reason and the business name" grep -q '冷库温度记录缺失' <<<"$(jq -c .params <<<"$line")"
is "warning.issued in the outbox" 1 "$(q "SELECT count(*) FROM outbox WHERE topic = 'warning.issued' AND key = '$BID'")"
http POST "/api/v1/warnings/$WID/reply" "$BIZ" "{\"request_id\":\"itn-$run-a\",\"rectification\":\"已补齐温度记录并培训\"}"
is "the business replies: 200 answered" "200 answered" "$status $(jq -r .status <<<"$body")"
http POST "/api/v1/warnings/$WID/reply" "$BIZ" "{\"request_id\":\"itn-$run-a2\",\"rectification\":\"again\"}"
is "a second reply is 409" 409 "$status"
is "warning.answered in the outbox" 1 "$(q "SELECT count(*) FROM outbox WHERE topic = 'warning.answered' AND key = '$BID'")"
http POST "/api/v1/warnings/$WID/reply" "$REG" "{\"request_id\":\"itn-$run-a3\",\"rectification\":\"x\"}"
is "a regulator does not reply for the business" 403 "$status"

# --- templates ---------------------------------------------------------------------------------
http GET /api/v1/templates/warning "$ADMIN"
is "GET /templates/warning" "200 监管警示" "$status $(jq -r .title <<<"$body")"
is "its placeholders are listed" '["business_name","reason","rectify_by"]' "$(jq -c .params <<<"$body")"
orig=$(jq -c '{title, body}' <<<"$body")
http PUT /api/v1/templates/overdue_warning "$REG" '{"request_id":"itn-t0","title":"x","body":"y"}'
is "a regulator may not edit templates" 403 "$status"
http PUT /api/v1/templates/nonesuch "$ADMIN" "{\"request_id\":\"itn-$run-t1\",\"title\":\"x\",\"body\":\"y\"}"
is "an unknown template is 404" 404 "$status"
http PUT /api/v1/templates/warning "$ADMIN" "{\"request_id\":\"itn-$run-t2\",\"title\":\"监管警示\",\"body\":\"【两责】{{business_name}}请整改：{{reason}}\"}"
is "PUT /templates/warning answers 200 with the new params" '200 ["business_name","reason"]' "$status $(jq -c .params <<<"$body")"
http PUT /api/v1/templates/warning "$ADMIN" "$(jq -c --arg r "itn-$run-t3" '. + {request_id: $r}' <<<"$orig")"
is "and back" 200 "$status"

# --- delivery receipts -------------------------------------------------------------------------
sn=$(q "SELECT provider_ref FROM deliveries WHERE dedupe_key = 'itn-$run-r1'")
out=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "[{\"sid\":\"$sn\",\"report_status\":\"SUCCESS\",\"errmsg\":\"DELIVRD\"}]" \
    "$LZ_API/api/v1/callbacks/sms?request_id=rcpt&secret=wrong")
is "a receipt with the wrong secret is 401" 401 "$out"
out=$(curl -s -X POST -H 'Content-Type: application/json' \
    --data-binary "[{\"sid\":\"$sn\",\"report_status\":\"SUCCESS\",\"errmsg\":\"DELIVRD\"}]" \
    "$LZ_API/api/v1/callbacks/sms?request_id=rcpt&secret=cb-secret")
is "a receipt is accepted" '{"accepted":1}' "$out"
is "the delivery is now delivered" "delivered" "$(q "SELECT status FROM deliveries WHERE dedupe_key = 'itn-$run-r1'")"
http GET "/api/v1/notifications?business_id=$BID&limit=2" "$BIZ"
is "a business sees its own notifications, paged" "200 2 true" \
    "$(echo "$status" "$(jq '.items | length' <<<"$body")" "$(jq '.next_cursor != null' <<<"$body")")"

# --- clean up this run's rows and keys ---------------------------------------------------------
q "DELETE FROM notify_keys WHERE dedupe_key LIKE 'itn-$run-%' OR dedupe_key = 'warning:$WID';
   DELETE FROM deliveries WHERE dedupe_key LIKE 'itn-$run-%' OR dedupe_key = 'warning:$WID';" >/dev/null
redis-cli -p "$LZ_REDIS_PORT" DEL "lz:stream:$LZ_NOTIFY_TOPIC" "lz:stream:$LZ_NOTIFY_TOPIC:dead" "$LZ_NOTIFY_KEY_PREFIX:due" >/dev/null
redis-cli -p "$LZ_REDIS_PORT" --scan --pattern "$LZ_NOTIFY_KEY_PREFIX:sms:*" | xargs -r redis-cli -p "$LZ_REDIS_PORT" DEL >/dev/null
tap_done
