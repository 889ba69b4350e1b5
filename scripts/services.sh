#!/usr/bin/env bash
# Starts/stops the five services and the provider simulator as background
# processes against the local stack. Logs and pids under .stack/services/.
#   scripts/services.sh start|stop|status
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${SERVICES_RUN_DIR:-$ROOT/.stack/services}"
mkdir -p "$RUN"

# Local defaults (override through the environment). Secrets here are for the local demo only.
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
export SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:${REGISTRY_PORT:-8081}/apis/ccompat/v7}"
export MONGO_URL="${MONGO_URL:-mongodb://127.0.0.1:${MONGO_PORT:-27017}}"
export INGEST_PORT="${INGEST_PORT:-8090}" TRACKER_PORT="${TRACKER_PORT:-8091}" PLANNER_PORT="${PLANNER_PORT:-8092}" RENDERER_PORT="${RENDERER_PORT:-8093}" DISPATCHER_PORT="${DISPATCHER_PORT:-8094}" SIM_PORT="${SIM_PORT:-8099}"
export INGEST_API_TOKEN="${INGEST_API_TOKEN:-local-ingest-token-0001}"
export STATS_API_TOKEN="${STATS_API_TOKEN:-local-stats-token-00001}"
export ADMIN_API_TOKEN="${ADMIN_API_TOKEN:-local-admin-token-00001}"
# Personal data keys (docs/privacy.md): local demo keys only; production generates its own (npx sicantik-privacy generate-keys).
export PRIVACY_MASTER_KEYS="${PRIVACY_MASTER_KEYS:-local1:lmzKvF1AAnBDaITIlpeWd5+y+ybNd8NY5YK7rrDc5e0=}"
export PRIVACY_INDEX_KEY="${PRIVACY_INDEX_KEY:-LSIaSPYkGbcTO6k5OxklSrjGEpJOnbT+Ug1gT78XIaU=}"
export META_ACCESS_TOKEN="${META_ACCESS_TOKEN:-local-meta-access-token}"
export META_APP_SECRET="${META_APP_SECRET:-local-meta-app-secret}"
export META_VERIFY_TOKEN="${META_VERIFY_TOKEN:-local-meta-verify-token}"
export META_PHONE_NUMBER_ID="${META_PHONE_NUMBER_ID:-100000000000001}"
export META_BASE_URL="${META_BASE_URL:-http://127.0.0.1:$SIM_PORT/meta}"
export META_WEBHOOK_URL="${META_WEBHOOK_URL:-http://127.0.0.1:$TRACKER_PORT/webhooks/meta}"
# Seed 004's routing in the demo: the simulator's gateways Watzap and Fonnte beside Meta, so a
# contact who has not opted in gets the message through Watzap with the opt-in link (Meta only
# after an opt-in); their webhooks go to the tracker (SIM_WEBHOOK_BASE_URL).
export SIM_WEBHOOK_BASE_URL="${SIM_WEBHOOK_BASE_URL:-http://127.0.0.1:$TRACKER_PORT/webhooks}"
export WATZAP_API_KEY="${WATZAP_API_KEY:-LOCALWATZAPKEY00}" WATZAP_NUMBER_KEY="${WATZAP_NUMBER_KEY:-localNumberKey00}"
export WATZAP_BASE_URL="${WATZAP_BASE_URL:-http://127.0.0.1:$SIM_PORT/watzap/v1}" WATZAP_WEBHOOK_TOKEN="${WATZAP_WEBHOOK_TOKEN:-local-watzap-webhook-token}"
export FONNTE_TOKEN="${FONNTE_TOKEN:-local-fonnte-token}" FONNTE_BASE_URL="${FONNTE_BASE_URL:-http://127.0.0.1:$SIM_PORT/fonnte}"
export FONNTE_WEBHOOK_TOKEN="${FONNTE_WEBHOOK_TOKEN:-local-fonnte-webhook-token}"
export OPT_IN_LINK="${OPT_IN_LINK:-https://wa.me/6281100000000?text=MULAI}"
export RETRY_DELAY_MS="${RETRY_DELAY_MS:-300000}"

start_one() { # name dir extra-env...
  local name=$1 dir=$2; shift 2
  if [ -f "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then echo "$name already running"; return; fi
  (cd "$ROOT/$dir"; setsid env "$@" node dist/main.js >> "$RUN/$name.log" 2>&1 < /dev/null & echo $! > "$RUN/$name.pid")
  echo "$name started (log $RUN/$name.log)"
}

case "${1:-}" in
  start)
    start_one provider-simulator tools/provider-simulator
    start_one delivery-tracker services/delivery-tracker HTTP_PORT="$TRACKER_PORT"
    start_one template-renderer services/template-renderer HTTP_PORT="$RENDERER_PORT"
    start_one provider-dispatcher services/provider-dispatcher OPS_PORT="$DISPATCHER_PORT"
    start_one notification-planner services/notification-planner HTTP_PORT="$PLANNER_PORT"
    start_one permit-ingest services/permit-ingest HTTP_PORT="$INGEST_PORT"
    for url in "http://127.0.0.1:$INGEST_PORT/readyz" "http://127.0.0.1:$TRACKER_PORT/readyz" "http://127.0.0.1:$PLANNER_PORT/readyz" "http://127.0.0.1:$RENDERER_PORT/readyz" "http://127.0.0.1:$DISPATCHER_PORT/readyz" "http://127.0.0.1:$SIM_PORT/healthz"; do
      for i in $(seq 1 120); do curl -sf -o /dev/null "$url" && break; sleep 1; done
      curl -sf -o /dev/null "$url" || { echo "not ready: $url (see logs in $RUN)" >&2; exit 1; }
    done
    echo "services ready" ;;
  stop)
    for f in "$RUN"/*.pid; do [ -f "$f" ] || continue; kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
    echo "services stopped" ;;
  status)
    for f in "$RUN"/*.pid; do [ -f "$f" ] || continue; n=$(basename "$f" .pid); if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$n: running"; else echo "$n: stopped"; fi; done ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
