# env.sh - settings of a local stack, sourced by the scripts: . env.sh NAME
#
# Two stacks exist: "dev" (make run) and "test" (make test), on ports of
# their own so both can run at once.  Every port can be overridden from the
# environment.  The ports (these and the test suites' own) lie below 32768,
# outside Linux's ephemeral range, so no outgoing connection can hold one
# when a server wants to listen on it.
lz_stack=${1:?stack name}
lz_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case "$lz_stack" in
dev)  : "${LZ_PG_PORT:=25432}" "${LZ_REDIS_PORT:=26379}" "${LZ_BROKER_PORT:=25555}" "${LZ_HTTP_PORT:=8080}" ;;
test) : "${LZ_PG_PORT:=25442}" "${LZ_REDIS_PORT:=26389}" "${LZ_BROKER_PORT:=25565}" "${LZ_HTTP_PORT:=18080}" ;;
*)    : "${LZ_PG_PORT:?}" "${LZ_REDIS_PORT:?}" "${LZ_BROKER_PORT:?}" "${LZ_HTTP_PORT:?}" ;;
esac
lz_dir="$lz_root/.run/$lz_stack"
export LZ_STACK="$lz_stack" LZ_RUN_DIR="$lz_dir" LZ_ROOT="$lz_root"
export LZ_PG_PORT LZ_REDIS_PORT LZ_BROKER_PORT LZ_HTTP_PORT
export LZ_PG_URL="postgresql://lz_app@127.0.0.1:$LZ_PG_PORT/liangze"
export LZ_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$LZ_PG_PORT/liangze"
export LZ_REDIS_HOST=127.0.0.1
export LZ_BROKER="tcp://127.0.0.1:$LZ_BROKER_PORT"
export LZ_BROKER_BIND="tcp://127.0.0.1:$LZ_BROKER_PORT"
export LZ_HTTP_BIND=127.0.0.1
export LZ_MIGRATIONS_DIR="$lz_root/db/migrations"
export LZ_WEB_DIR="$lz_root/web"
export PATH="$lz_root/build/bin:$PATH"
