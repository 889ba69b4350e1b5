#!/usr/bin/env bash
# Stops the services and the local stack; data in .stack/ is kept (deploy/local/stack.sh wipe deletes it).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/services.sh" stop
"$ROOT/deploy/local/stack.sh" stop
