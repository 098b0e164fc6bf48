#!/usr/bin/env bash
# run.sh - run liangze's tests and print "N passed, N failed".
#
#   tests/run.sh            lint, a fresh test stack, unit and integration tests
#   tests/run.sh unit       unit tests only (no servers)
#   tests/run.sh it NAME..  only the named integration tests (it_broker, it_gateway.sh, ...)
#
# Every test program prints TAP ("ok N - ..." / "not ok N - ..."); each line
# is one test.  A program that dies without reporting counts as one failure.
# The test stack (.run/test; LZ_TEST_STACK with LZ_*_PORT picks another) is
# wiped, started, migrated and stopped again.  The suites that start their own
# broker and gateway use fixed ports; LZ_PORT_OFFSET=N moves them all by N, so a
# second run (another checkout, another stack) can go at the same time.
set -u
cd "$(dirname "$0")/.."
. deploy/local/env.sh "${LZ_TEST_STACK:-test}"
mode=${1:-all}
shift || true

passed=0
failed=0
failures=()
logdir="$LZ_RUN_DIR/logs"
mkdir -p "$logdir"

# run_tap NAME CMD...: run one test program, count its TAP lines
run_tap() {
    local name=$1
    shift
    local out="$logdir/$name.out" rc p f
    local t0=$SECONDS
    timeout --kill-after=10 900 "$@" >"$out" 2>"$logdir/$name.err"
    rc=$?
    p=$(grep -cE '^ok ' "$out")
    f=$(grep -cE '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >>"$out"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("$name")
        printf '  FAIL %-28s %4d passed %4d failed  (%ds)\n' "$name" "$p" "$f" $((SECONDS - t0))
        grep -E '^not ok ' "$out" | head -n 20 | sed 's/^/         /'
        tail -n 15 "$logdir/$name.err" | sed 's/^/       | /'
    else
        printf '  ok   %-28s %4d passed           (%ds)\n' "$name" "$p" $((SECONDS - t0))
    fi
}

unit() {
    echo "unit tests"
    local b
    for b in build/tests/test_*; do
        [ -x "$b" ] || continue
        CMOCKA_MESSAGE_OUTPUT=TAP run_tap "$(basename "$b")" "$b"
    done
    # the same tests built with AddressSanitizer and UBSan (make asan), when built
    for b in build-asan/tests/test_*; do
        [ -x "$b" ] || continue
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 CMOCKA_MESSAGE_OUTPUT=TAP \
            run_tap "asan:$(basename "$b")" "$b"
    done
}

stack_up() {
    echo "test stack (.run/$LZ_STACK)"
    tests/integration/cleanup.sh >/dev/null 2>&1 || true
    deploy/local/stack.sh wipe "$LZ_STACK" >/dev/null 2>&1 || true
    run_tap stack-start bash -c 'deploy/local/stack.sh start "$LZ_STACK" && echo "ok 1 - test stack starts"'
    run_tap migrate bash -c 'liangze migrate >/dev/null && echo "ok 1 - migrations apply" &&
        out=$(liangze migrate) && [ "$out" = "database is up to date" ] &&
        echo "ok 2 - a second migrate does nothing"'
}

integration() {
    echo "integration tests"
    local t name
    for t in build/tests/it_* tests/integration/it_*.sh; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        if [ $# -gt 0 ]; then
            case " $* " in *" $name "* | *" ${name%.sh} "*) ;; *) continue ;; esac
        fi
        run_tap "$name" "$t"
    done
}

trap 'tests/integration/cleanup.sh >/dev/null 2>&1; deploy/local/stack.sh stop "$LZ_STACK" >/dev/null 2>&1' EXIT

case "$mode" in
unit)
    unit
    ;;
it)
    stack_up
    integration "$@"
    ;;
all)
    echo "lint"
    run_tap lint tests/lint.sh --tap
    unit
    stack_up
    integration
    ;;
*)
    echo "usage: tests/run.sh [unit|it NAME...]" >&2
    exit 2
    ;;
esac

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
