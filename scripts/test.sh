#!/usr/bin/env bash
# The full test suite on a fresh machine: installs the npm dependencies, builds,
# installs and starts the local stack (Kafka, schema registry, FerretDB) and runs
# unit, integration and end-to-end tests (Debian's chromium is installed for the browser
# tests when missing and the script runs as root). The stack keeps running afterwards
# (deploy/local/stack.sh stop) unless STOP_STACK_AFTER_TESTS=1.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n== %s\n' "$*"; }
t0=$SECONDS

step "npm install (from the committed lock file)"
# `npm ci` refuses this lock file: the registry reachable here serves only the
# linux-x64 builds of packages with per-platform optional dependencies (swc,
# turbo), so the lock lists no others. `npm install` installs the locked versions
# and leaves the lock file unchanged.
npm install --no-audit --no-fund --loglevel=error
step "build (turbo), type-check the tests, lint"
npx turbo run build --output-logs=errors-only
npx tsc -p tsconfig.spec.json
npx eslint .
# Dead exports (knip.json): an export nothing imports fails the run.
npx knip --no-progress
step "Chromium for the browser tests (Debian's package; playwright-core downloads no browser)"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  else
    echo "/usr/bin/chromium is missing: install Debian's chromium package (sudo apt-get install chromium)" >&2; exit 1
  fi
fi
step "local stack"
deploy/local/stack.sh start
eval "$(deploy/local/stack.sh env | sed 's/^/export /')"
# Quietly, so that the test runner's summary stays the last lines of the output.
if [ "${STOP_STACK_AFTER_TESTS:-0}" = 1 ]; then trap 'deploy/local/stack.sh stop >> .stack/logs/stop.log 2>&1' EXIT; fi
step "tests (unit, integration, e2e)"
set +e
npx jest --ci "$@" 2>&1 | tee .stack/last-test-run.log
rc=${PIPESTATUS[0]}
set -e
echo "total time: $((SECONDS - t0))s" > .stack/last-test-run.time
exit "$rc"
