#!/usr/bin/env bash
# it_stack.sh - the local stack: starts, starting twice is harmless, stop ends exactly its own.
. "$(dirname "$0")/lib.sh"
export LZ_PG_PORT=$((25452 + ${LZ_PORT_OFFSET:-0})) LZ_REDIS_PORT=$((26399 + ${LZ_PORT_OFFSET:-0})) LZ_BROKER_PORT=$((25575 + ${LZ_PORT_OFFSET:-0})) LZ_HTTP_PORT=$((18090 + ${LZ_PORT_OFFSET:-0}))
stack="$LZ_ROOT/deploy/local/stack.sh"
name="it-stack-$$"
trap '"$stack" wipe "$name" >/dev/null 2>&1; rm -rf "$LZ_ROOT/.run/$name"' EXIT

# gone: no such process, or only a zombie waiting for a parent that is not ours to reap
gone() { ! ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }
pgpid() { head -n 1 "$(readlink -f "$LZ_ROOT/.run/$name/pg")/postmaster.pid" 2>/dev/null; }
rdpid() { cat "$LZ_ROOT/.run/$name/redis/redis.pid" 2>/dev/null; }

check "a new stack starts" "$stack" start "$name"
check "postgresql answers on its own port" psql -qAt "postgresql://postgres@127.0.0.1:$LZ_PG_PORT/liangze" -c 'select 1' -o /dev/null
check "redis answers on its own port" bash -c "redis-cli -p $LZ_REDIS_PORT ping | grep -q PONG"
p1=$(pgpid) r1=$(rdpid)
check "starting it twice is harmless" "$stack" start "$name"
is "postgresql was not started twice" "$p1" "$(pgpid)"
is "redis was not started twice" "$r1" "$(rdpid)"
listen=$(ss -ltnH "( sport = :$LZ_PG_PORT or sport = :$LZ_REDIS_PORT )" | awk '{print $4}' | sort -u | tr '\n' ' ')
check "both listen on loopback only" bash -c "! grep -qvE '^127\.0\.0\.1:' <<<\"$(echo $listen | tr ' ' '\n')\""
if [ "$(id -u)" -eq 0 ]; then
    is "postgresql runs as the postgres user when started by root" "postgres" "$(ps -o user= -p "$p1" | tr -d ' ')"
fi
other_pg=$(head -n 1 "$(readlink -f "$LZ_ROOT/.run/test/pg")/postmaster.pid" 2>/dev/null)
check "stopping works" "$stack" stop "$name"
check "its postgresql is gone" gone "$p1"
check "its redis is gone" gone "$r1"
if [ -n "$other_pg" ]; then
    check "the test stack's postgresql still runs" kill -0 "$other_pg"
fi
check "a stopped stack starts again with its data" "$stack" start "$name"
check "status says it runs" "$stack" status "$name"
tap_done
