#!/usr/bin/env bash
# it_lint.sh - the lint catches what it must.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/bad.c" <<'C'
#include <stdio.h>

int f(char *out, int n)
{
    return sprintf(out, "%d", n);
}
C
cat >"$tmp/good.c" <<'C'
#include <stdio.h>

int f(char *out, size_t len, int n)
{
    /* sprintf( in a comment is fine */
    return snprintf(out, len, "%d", n);
}
C
printf 'int g(void){return 1;}\n' >"$tmp/ugly.c"

out=$("$LZ_ROOT/tests/lint.sh" --tap "$tmp/bad.c" 2>&1)
check "lint fails on a planted sprintf" [ $? -ne 0 ]
check "lint names the banned function check" grep -q 'not ok 2 - no banned functions' <<<"$out"
"$LZ_ROOT/tests/lint.sh" "$tmp/good.c" >/dev/null 2>&1
check "lint passes snprintf and a comment naming sprintf" [ $? -eq 0 ]
out=$("$LZ_ROOT/tests/lint.sh" --tap "$tmp/ugly.c" 2>&1)
check "lint fails on unformatted code" grep -q 'not ok 1 - code is formatted' <<<"$out"
tap_done
