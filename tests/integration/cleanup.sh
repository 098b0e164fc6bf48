#!/usr/bin/env bash
# cleanup.sh - stop every process the tests started and left behind, by PID.
#
# lz_start records each process under .run/test/pids; this stops those that
# still run and are still liangze binaries, then forgets them.
. "$(dirname "$0")/../../deploy/local/env.sh" "${LZ_TEST_STACK:-test}"
for f in "$LZ_RUN_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid=$(basename "$f" .pid)
    if grep -q "lz-" "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        sleep 0.2
        kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$f"
done
