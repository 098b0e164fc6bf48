# lib.sh - helpers for shell integration tests: processes, tokens, TAP.
#
# Source it from a test; it loads the test stack's settings.  Processes
# started with lz_start are recorded by PID under $LZ_RUN_DIR/pids and
# stopped by lz_stop_all (which each test calls on exit) or, as a last
# resort, by tests/integration/cleanup.sh from the runner.
. "$(dirname "${BASH_SOURCE[0]}")/../../deploy/local/env.sh" "${LZ_TEST_STACK:-test}"
LZ_API="http://127.0.0.1:$LZ_HTTP_PORT"
LZ_PIDDIR="$LZ_RUN_DIR/pids"
LZ_LOGDIR="$LZ_RUN_DIR/logs"
mkdir -p "$LZ_PIDDIR" "$LZ_LOGDIR"
tap_n=0
tap_failed=0

# lz_start NAME [ENV=VALUE...]: start build/bin/lz-NAME in the background; prints its PID
lz_start() {
    local name=$1
    shift
    local log="$LZ_LOGDIR/$name.$$.$RANDOM.log"
    env "$@" "$LZ_ROOT/build/bin/lz-$name" >>"$log" 2>&1 &
    local pid=$!
    # the owner is this test's shell ($$ stays the same in $(...) subshells)
    echo "$name $$" >"$LZ_PIDDIR/$pid.pid"
    echo "$pid"
}

# lz_stop PID: stop one process started by lz_start
lz_stop() {
    local pid=$1 i
    kill "$pid" 2>/dev/null
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$LZ_PIDDIR/$pid.pid"
}

# lz_stop_all: stop every process this shell started with lz_start
lz_stop_all() {
    local f pid
    for f in "$LZ_PIDDIR"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(basename "$f" .pid)
        # only what this test started, and only while it still is a liangze binary
        if [ "$(cut -d' ' -f2 "$f" 2>/dev/null)" = "$$" ] &&
            grep -q "lz-" "/proc/$pid/cmdline" 2>/dev/null; then
            lz_stop "$pid"
        elif ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$f"
        fi
    done
}

# lz_wait_http [TRIES]: wait until the gateway answers /healthz with 200
lz_wait_http() {
    local i
    for i in $(seq 1 "${1:-100}"); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$LZ_API/healthz")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# lz_start_suite: broker, every service that exists, gateway; waits for /healthz
lz_start_suite() {
    lz_start broker >/dev/null
    local s
    for s in "$LZ_ROOT"/build/bin/lz-*; do
        s=$(basename "$s")
        s=${s#lz-}
        case "$s" in broker | gateway) continue ;; esac
        lz_start "$s" >/dev/null
    done
    lz_start gateway >/dev/null
    lz_wait_http
}

# lz_token ROLE NAME [liangze token options]: print a new token
lz_token() {
    local role=$1 name=$2
    shift 2
    "$LZ_ROOT/build/bin/liangze" token create --role "$role" --name "$name" "$@" 2>/dev/null
}

# http METHOD PATH [TOKEN] [BODY]: sets $status and $body
http() {
    local method=$1 path=$2 token=${3:-} data=${4:-} args=()
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    local out
    out=$(curl -s -X "$method" -w '\n%{http_code}' "${args[@]}" "$LZ_API$path")
    status=${out##*$'\n'}
    body=${out%$'\n'*}
}

# TAP
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
not_ok() {
    tap_n=$((tap_n + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $1"
    [ -n "${2:-}" ] && echo "# $2" | head -n 20
}
# check DESC CMD...: ok when CMD succeeds
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# is DESC EXPECTED ACTUAL
is() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}
tap_done() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}
