#!/usr/bin/env bash
# Feeds one demo permit (PermitIssued) into the running system and waits until
# the statistics count it delivered.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
INGEST="http://127.0.0.1:${INGEST_PORT:-8090}"
TRACKER="http://127.0.0.1:${TRACKER_PORT:-8091}"
SIM="http://127.0.0.1:${SIM_PORT:-8099}"
INGEST_TOKEN="${INGEST_API_TOKEN:-local-ingest-token-0001}"
STATS_TOKEN="${STATS_API_TOKEN:-local-stats-token-00001}"
REG="DEMO-$(date +%Y%m%d%H%M%S)"
echo "posting a demo permit event for $REG"
curl -sS -X POST "$INGEST/v1/permit-events" -H "Authorization: Bearer $INGEST_TOKEN" -H 'Content-Type: application/json' -d @- <<JSON
{"event_id":"$REG-issued","type":"PermitIssued","occurred_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","pendaftaran_id":"$REG",
 "data":{"no_surat":"503/$REG/DPMPTSP/2026","jenis_izin":"Izin Usaha Mikro Kecil","nama_pemohon":"Budi Sembiring",
 "telepon_pemohon":"0812-3456-7890","tanggal_terbit":"$(date +%Y-%m-%d)","link_download":"https://sicantik.karokab.go.id/izin/$REG.pdf"}}
JSON
echo
for _ in $(seq 1 60); do
  if curl -sf "$SIM/_sim/requests" | grep -q "$REG"; then break; fi; sleep 1
done
echo "message received by the provider simulator:"
curl -sf "$SIM/_sim/requests" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).filter(x=>JSON.stringify(x).includes(process.argv[1])).pop();console.log(JSON.stringify(r&&r.body,null,2))})' "$REG"
for _ in $(seq 1 30); do
  curl -sf -H "Authorization: Bearer $STATS_TOKEN" "$TRACKER/v1/stats/summary" | grep -q '"delivered":[1-9]' && break; sleep 1
done
echo "statistics:"
curl -sf -H "Authorization: Bearer $STATS_TOKEN" "$TRACKER/v1/stats/summary"; echo
echo "planner decisions for $REG (why it got what it got):"
for _ in $(seq 1 10); do
  curl -sf -H "Authorization: Bearer $STATS_TOKEN" "$TRACKER/v1/stats/decisions?pendaftaran_id=$REG" | grep -q '"delivered"' && break; sleep 1
done
curl -sf -H "Authorization: Bearer $STATS_TOKEN" "$TRACKER/v1/stats/decisions?pendaftaran_id=$REG"; echo
cat <<TXT

Where to look:
  statistics   curl -H 'Authorization: Bearer $STATS_TOKEN' $TRACKER/v1/stats/summary
  decisions    curl -H 'Authorization: Bearer $STATS_TOKEN' '$TRACKER/v1/stats/decisions?pendaftaran_id=$REG'
  simulator    curl $SIM/_sim/requests          (every request a provider received)
  opt out      curl -X POST -H 'Content-Type: application/json' -d '{"from":"+6281234567890","text":"BERHENTI"}' $SIM/_sim/inbound
               (the demo applicant replies BERHENTI; MULAI opts back in)
  metrics      $INGEST/metrics  $TRACKER/metrics
  service logs .stack/services/*.log   stack logs .stack/logs/*.log
  stop         scripts/stop.sh
TXT
