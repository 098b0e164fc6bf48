#!/usr/bin/env bash
# build.sh - what "make web" does: install the dashboard's npm packages (web/package-lock.json)
# into web/node_modules and copy the files the page loads into web/vendor/ (both git-ignored).
# Fast when already done.  Without npm it says so and leaves the page without charts.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.package-lock.json
if [ -s vendor/echarts.min.js ] && [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] &&
    [ vendor/echarts.min.js -nt "$stamp" ]; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "web: npm is missing (make deps installs it); the dashboard will have no charts" >&2
    exit 0
fi
if [ ! -f "$stamp" ] || [ ! "$stamp" -nt package-lock.json ]; then
    echo "  NPM     web (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    touch "$stamp"
fi
mkdir -p vendor
cp node_modules/echarts/dist/echarts.min.js vendor/echarts.min.js
echo "  VENDOR  web/vendor/echarts.min.js"
