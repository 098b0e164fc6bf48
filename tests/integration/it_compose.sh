#!/usr/bin/env bash
# it_compose.sh - docker-compose.yml describes the suite and is valid.
. "$(dirname "$0")/lib.sh"
cd "$LZ_ROOT"
out=$(docker-compose -f docker-compose.yml config 2>&1)
check "docker-compose config accepts the file" [ $? -eq 0 ]
for s in postgres redis migrate broker gateway intake; do
    check "the suite has service $s" grep -qE "^  $s:" <<<"$out"
done
# every service binary the build makes runs in the suite
for bin in build/bin/lz-*; do
    s=$(basename "$bin")
    s=${s#lz-}
    check "lz-$s is started by the compose file" grep -q "lz-$s" <<<"$out"
done
check "workers have no fixed container name, so --scale works" bash -c "! grep -q container_name docker-compose.yml"
check "services wait for the migration job" grep -q "service_completed_successfully" <<<"$out"
out=$(docker-compose -f docker-compose.yml config --services 2>&1)
check "--scale is accepted for intake" bash -c "docker-compose -f docker-compose.yml up --help | grep -q -- --scale"
check "the Dockerfile builds on Debian 12" grep -q '^FROM debian:12' deploy/Dockerfile
tap_done
