#!/usr/bin/env bash
# lint.sh - the checks the toolchain holds the line with.
#
#   tests/lint.sh [--tap] [FILE...]
#
# 1. every C file is formatted by .clang-format;
# 2. no banned function (sprintf strcpy strcat strncpy strtok atoi gets) is
#    called; the list follows curl's: each has a bounded or checked form;
# 3. cppcheck finds nothing (warning, performance, portability).
# With FILE arguments only those files are checked (the tests use that).
set -u
cd "$(dirname "$0")/.."
tap=0
if [ "${1:-}" = "--tap" ]; then
    tap=1
    shift
fi
if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files -co --exclude-standard '*.c' '*.h' | grep -v '^build')
fi
n=0
bad=0
report() { # report OK DESC [DETAIL]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        [ $tap -eq 1 ] && echo "ok $n - $2"
    else
        bad=1
        if [ $tap -eq 1 ]; then echo "not ok $n - $2"; else echo "lint: $2" >&2; fi
        [ -n "${3:-}" ] && echo "$3" | head -n 40 | sed 's/^/# /' >&2
    fi
}

# 1. format
out=""
for f in "${files[@]}"; do
    o=$(clang-format --style=file:"$PWD/.clang-format" --dry-run --Werror "$f" 2>&1) || out+="$f"$'\n'"$(echo "$o" | head -n 6)"$'\n'
done
report "$([ -z "$out" ] && echo 0 || echo 1)" "code is formatted by .clang-format" "$out"

# 2. banned functions: a call, not a mention in a comment or a longer name
banned='(^|[^A-Za-z0-9_.>])(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|gets)[[:space:]]*\('
out=$(grep -nHE "$banned" "${files[@]}" 2>/dev/null | grep -vE ':[0-9]+:[[:space:]]*(\*|//|/\*)')
report "$([ -z "$out" ] && echo 0 || echo 1)" "no banned functions" "$out"

# 3. cppcheck
cfiles=()
for f in "${files[@]}"; do case "$f" in *.c) cfiles+=("$f") ;; esac; done
if [ ${#cfiles[@]} -gt 0 ]; then
    out=$(cppcheck -q --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
        --std=c11 -D_GNU_SOURCE -DPROTOBUF_C_VERSION_NUMBER=1004001 \
        -DPROTOBUF_C_MIN_COMPILER_VERSION=1000000 -Icommon -Ibuild/proto --suppress=missingIncludeSystem \
        --suppress=missingInclude "${cfiles[@]}" 2>&1)
    rc=$?
else
    out=""
    rc=0
fi
report "$rc" "cppcheck finds nothing" "$out"
exit $bad
