#!/usr/bin/env bash
# it_gateway.sh - the HTTP gateway against the real broker, intake, PostgreSQL and Redis:
# tokens and roles, the error shape, body limits, idempotent token writes with their
# audit entries, an RPC route through the broker, /healthz with Redis stopped, /metrics.
. "$(dirname "$0")/lib.sh"
trap lz_stop_all EXIT
q() { psql -qAt "$LZ_PG_ADMIN_URL" -c "$1"; }
# code: the error code of $body
code() { jq -r '.error.code // empty' <<<"$body" 2>/dev/null; }
# jqt FILTER: true when FILTER holds for $body
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$body"; }
run=$$

lz_start broker >/dev/null
lz_start intake >/dev/null
lz_start gateway LZ_BODY_MAX=65536 LZ_TOKEN_CACHE_S=10 >/dev/null
for _ in $(seq 1 100); do
    http GET /healthz
    [ "$status" = 200 ] && break
    sleep 0.1
done
if [ "$status" != 200 ]; then
    not_ok "the gateway answers /healthz with 200" "$status $body"
    tap_done
    exit 1
fi
ok "the gateway answers /healthz with 200"
is "/healthz says ok" '{"status":"ok"}' "$body"

admin=$(lz_token admin "it-gateway-$run")
check "an admin token is made with the CLI" [ -n "$admin" ]

# --- who may call what ---------------------------------------------------------------------
http GET /api/v1/regions/340700000000
is "no token: 401" 401 "$status"
is "no token: code unauthorized" unauthorized "$(code)"
http GET /api/v1/regions/340700000000 lz_notarealtokenatall000000000000000000000000000
is "unknown token: 401" 401 "$status"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic YWRtaW46YWRtaW4=" \
    "$LZ_API/api/v1/regions/340700000000")
is "another auth scheme: 401" 401 "$status"

http POST /api/v1/tokens "$admin" \
    "{\"request_id\":\"it-gw-reg-$run\",\"role\":\"regulator\",\"name\":\"district\",\"region\":\"340705000000\"}"
is "an admin makes a regulator token: 201" 201 "$status"
regulator=$(jq -r .token <<<"$body")
http POST /api/v1/tokens "$regulator" "{\"request_id\":\"it-gw-x-$run\",\"role\":\"admin\",\"name\":\"x\"}"
is "a regulator may not make tokens: 403" 403 "$status"
is "403 has code forbidden" forbidden "$(code)"
http GET /api/v1/ping/intake "$regulator"
is "a regulator may not ping services: 403" 403 "$status"

# --- the error shape ---------------------------------------------------------------------------
http POST /api/v1/tokens "$admin" '{"request_id": "x", "role": '
is "malformed JSON: 400" 400 "$status"
is "malformed JSON: bad_json" bad_json "$(code)"
check "errors have exactly code and message" \
    jqt '(.error | keys) == ["code", "message"] and (keys == ["error"])'
http POST /api/v1/tokens "$admin" '[1, 2]'
is "a JSON array body: bad_json" "400 bad_json" "$status $(code)"
http POST /api/v1/tokens "$admin" '{"role": "admin", "name": "x"}'
is "a write without request_id: missing_field" "400 missing_field request_id" \
    "$status $(code) $(jq -r .error.field <<<"$body")"
http POST /api/v1/tokens "$admin" "{\"request_id\":\"it-gw-bad-$run\",\"role\":\"king\",\"name\":\"x\"}"
is "a bad role: invalid_field naming role" "400 invalid_field role" \
    "$status $(code) $(jq -r .error.field <<<"$body")"
http POST /api/v1/tokens "$admin" "{\"request_id\":\"it-gw-bad-$run\",\"role\":\"admin\",\"name\":\"x\",\"colour\":1}"
is "an unknown field: invalid_field naming it" "400 invalid_field colour" \
    "$status $(code) $(jq -r .error.field <<<"$body")"
http GET /api/v1/no/such/route "$admin"
is "unknown route: 404 not_found" "404 not_found" "$status $(code)"
http PUT /api/v1/tokens "$admin" '{}'
is "wrong method: 405 method_not_allowed" "405 method_not_allowed" "$status $(code)"
allow=$(curl -s -o /dev/null -D - -X PUT -H "Authorization: Bearer $admin" "$LZ_API/api/v1/tokens" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "allow" {print $2}')
is "405 names the allowed methods" POST "$allow"

# --- body limits (LZ_BODY_MAX=65536 here) -------------------------------------------------
big=$(mktemp)
trap 'rm -f "$big"; lz_stop_all' EXIT
head -c 70000 /dev/zero | tr '\0' ' ' >"$big"
out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    --data-binary @"$big" "$LZ_API/api/v1/tokens")
body=${out%$'\n'*}
is "a body over the limit: 413 too_large" "413 too_large" "${out##*$'\n'} $(code)"
out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $admin" -H 'Transfer-Encoding: chunked' \
    --data-binary @"$big" "$LZ_API/api/v1/tokens")
body=${out%$'\n'*}
is "a chunked body over the limit: 413 too_large" "413 too_large" "${out##*$'\n'} $(code)"
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$big" "$LZ_API/api/v1/tokens")
is "a stranger's big body is refused for the token first: 401" 401 "$status"

# --- tokens: create, replay, use, revoke, audit ------------------------------------------------
rid="it-gw-create-$run"
http POST /api/v1/tokens "$admin" "{\"request_id\":\"$rid\",\"role\":\"admin\",\"name\":\"second admin\"}"
is "POST /api/v1/tokens: 201" 201 "$status"
tid=$(jq -r .id <<<"$body")
tok=$(jq -r .token <<<"$body")
check "the answer has an id and a token" [ "$tid" -gt 0 ] 2>/dev/null
check "the token looks like lz_..." grep -qE '^lz_[A-Za-z0-9_-]{43}$' <<<"$tok"
http GET /api/v1/ping/intake "$tok"
is "the new token authenticates (ping intake): 200" 200 "$status"
is "ping names the service" intake "$(jq -r .service <<<"$body")"

http POST /api/v1/tokens "$admin" "{\"request_id\":\"$rid\",\"role\":\"admin\",\"name\":\"second admin\"}"
is "the same request_id again: 201" 201 "$status"
is "... with the same id and no token" "$tid null" "$(jq -r '"\(.id) \(.token)"' <<<"$body")"
is "... and no second token was made" 1 "$(q "select count(*) from api_tokens where name = 'second admin' and created_at > now() - interval '1 hour' and id >= $tid")"
is "audit_log has the token.create with its request_id" 1 \
    "$(q "select count(*) from audit_log where action = 'token.create' and object = 'api_tokens/$tid' and request_id = '$rid' and actor_role = 'admin'")"
check "the audit detail does not hold the token" \
    [ "$(q "select count(*) from audit_log where detail::text like '%$tok%'")" = 0 ]

http DELETE "/api/v1/tokens/$tid" "$admin" "{\"request_id\":\"it-gw-revoke-$run\"}"
is "DELETE /api/v1/tokens/{id}: 200 revoked" "200 $tid true" "$status $(jq -r '"\(.id) \(.revoked)"' <<<"$body")"
http GET /api/v1/ping/intake "$tok"
is "the revoked token no longer authenticates: 401" 401 "$status"
http DELETE "/api/v1/tokens/$tid" "$admin" "{\"request_id\":\"it-gw-revoke-$run\"}"
is "the same DELETE again answers the first answer" "200 true" "$status $(jq -r .revoked <<<"$body")"
http DELETE "/api/v1/tokens/$tid" "$admin" "{\"request_id\":\"it-gw-revoke2-$run\"}"
is "revoking a revoked token: 404" "404 not_found" "$status $(code)"
http DELETE "/api/v1/tokens/999999999" "$admin" "{\"request_id\":\"it-gw-revoke3-$run\"}"
is "revoking an unknown token: 404" 404 "$status"
http DELETE "/api/v1/tokens/$tid" "$admin" "{\"request_id\":\"$rid\"}"
is "a request_id of another route: 409 conflict" "409 conflict" "$status $(code)"
is "audit_log has the token.revoke" 1 \
    "$(q "select count(*) from audit_log where action = 'token.revoke' and object = 'api_tokens/$tid'")"

# --- an RPC route through the broker to intake ------------------------------------------------
q "insert into regions (code, name, level, parent_code) values ('340700000000', '铜陵市', 'city', null) on conflict (code) do nothing" >/dev/null
http GET /api/v1/regions/340700000000 "$admin"
is "GET /api/v1/regions/{code} with a token: 200" 200 "$status"
is "... answers the region as JSON" "340700000000 铜陵市 city" \
    "$(jq -r '"\(.code) \(.name) \(.level)"' <<<"$body")"
http GET /api/v1/regions/340700000000
is "... without a token: 401" 401 "$status"
http GET /api/v1/regions/340799999999 "$admin"
is "an unknown region: 404 naming code" "404 not_found code" "$status $(code) $(jq -r .error.field <<<"$body")"
http GET "/api/v1/regions/340700000000?colour=red" "$admin"
is "an unknown query parameter: 400 invalid_field" "400 invalid_field colour" \
    "$status $(code) $(jq -r .error.field <<<"$body")"
http GET /api/v1/ping/nosuchservice "$admin"
is "a service with no worker: 503 unavailable" "503 unavailable" "$status $(code)"

# --- static files ---------------------------------------------------------------------------------
status=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$LZ_API/../../etc/passwd")
is "a path leaving the web directory: 404" 404 "$status"
status=$(curl -s -o /dev/null -w '%{http_code}' "$LZ_API/no-such-file.html")
is "a missing file: 404" 404 "$status"
if [ -f "$LZ_WEB_DIR/index.html" ]; then
    type=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$LZ_API/")
    is "GET / serves index.html" "200 text/html; charset=utf-8" "$type"
fi

# --- /healthz with Redis down -----------------------------------------------------------------------
redis-cli -p "$LZ_REDIS_PORT" shutdown nosave >/dev/null 2>&1
http GET /healthz
is "/healthz with Redis stopped: 503" 503 "$status"
is "... naming redis alone" '{"status":"down","down":["redis"]}' "$body"
"$LZ_ROOT/deploy/local/stack.sh" start "$LZ_STACK" >/dev/null
for _ in $(seq 1 50); do
    http GET /healthz
    [ "$status" = 200 ] && break
    sleep 0.2
done
is "/healthz after Redis is back: 200" 200 "$status"

# --- /metrics --------------------------------------------------------------------------------------
http GET /metrics
check "/metrics counts requests by route pattern" \
    grep -q 'lz_http_requests_total{route="/api/v1/tokens",method="POST",status="201"}' <<<"$body"
check "/metrics counts the RPC route under its pattern" \
    grep -q 'lz_http_requests_total{route="/api/v1/regions/{code}",method="GET",status="200"}' <<<"$body"
check "/metrics never labels a raw path" [ "$(grep -c 340700000000 <<<"$body")" = 0 ]
check "/metrics has the latency histogram" \
    grep -q 'lz_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="+Inf"}' <<<"$body"
check "/metrics needs no token" [ "$status" = 200 ]

tap_done
