#!/usr/bin/env bash
# Starts the whole system locally (no Docker, no accounts): the local stack,
# the five services, the provider simulator, then feeds a demo permit and shows
# where to look. Stop with: scripts/stop.sh
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
npm install --no-audit --no-fund --loglevel=error  # see scripts/test.sh on why not npm ci
npx turbo run build --output-logs=errors-only
deploy/local/stack.sh start
scripts/services.sh start
scripts/demo.sh
