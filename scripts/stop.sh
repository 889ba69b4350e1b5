#!/usr/bin/env bash
# Stops the services and the local stack; data in .stack/ is kept (deploy/local/stack.sh wipe deletes it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/services.sh" stop
"$ROOT/deploy/local/stack.sh" stop
