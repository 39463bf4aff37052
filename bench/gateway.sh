#!/usr/bin/env bash
# Gateway benchmark: starts a split Skiff of its own (one Kafka broker, one gateway-role Skiff,
# one invoker-role Skiff, as `fn up --role ...` runs them) and measures, in one run on this
# machine, an echo call (python, concurrency 64, minScale = maxScale = 1: one replica serves all)
#   a. on the function directly: the replica's unix socket under the invoker's state directory;
#   b. through the invoker: its /internal/fn/echo with X-Skiff-Version, as a gateway calls it;
#   c. through the gateway: /fn/echo (gateway -> invoker over HTTP -> function);
# at 1, 16 and 64 concurrent clients (p50/p99 latency, throughput, CPU per call), windows of the
# three targets interleaved; then what the gateway adds (c - a, c - b), the throughput ratios
# c/a and c/b, whether the targets are met (the gateway adds <= 0.5 ms at p50 over invoker ->
# function, c - b, with 1 client; keeps >= 60% of direct throughput with 64 clients), and a
# summary to paste into an issue.
#
#   sudo bench/gateway.sh [options]     (options: bench/gateway.sh --help)
#
# Needs root on Linux (Skiff's sandboxes). Installs what scripts/setup installs when missing, and
# says so; nothing else (the load generator is the benchmark's own keep-alive HTTP/1.1 client).
# Builds with the Maven wrapper and -Pbench (MAVEN_ARGS=-o stays offline). Everything listens on
# free ports of 127.0.0.1 and lives in temporary directories under /var/tmp; the gateway's state
# is in /run/skiff-bench6-gw, the invoker's in /run/skiff-bench6-inv, their cgroup groups are
# skiff-bench6-gw and skiff-bench6-inv, so another Skiff or a test run is never touched. All is
# stopped at the end and checked to be gone. Logs: /var/tmp/skiff-bench6-{kafka,gw,inv}.log.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib/common.sh"
source "$(dirname "$(readlink -f "$0")")/lib/skiff-under-test.sh"

STATE_DIR=/run/skiff-bench6          # prefix: bench_preflight refuses to start while one runs
GW_STATE=/run/skiff-bench6-gw
INV_STATE=/run/skiff-bench6-inv
GW_CGROUP=skiff-bench6-gw
INV_CGROUP=skiff-bench6-inv
KAFKA_LOG=/var/tmp/skiff-bench6-kafka.log
GW_LOG=/var/tmp/skiff-bench6-gw.log
INV_LOG=/var/tmp/skiff-bench6-inv.log
SERVER_OPTS=()

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options of this script:
  --server-java-opts 'OPTS' extra JVM options for both Skiffs, to try a setting; default none

Options passed to the benchmark (dev.skiff.bench.GatewayBench):
  --clients 1,16,64   --seconds 10 (measured per target and client count)   --rounds 5 (windows,
  targets interleaved)   --wait-quiet 120 (before the warm-up and each client count, wait up to
  S s until other work uses < 10% CPU; 0 does not wait)   --warmup-seconds 5 --warmup-rounds 6
  (warm-up rounds repeat until the JIT compilers are quiet)   --window-warmup-ms 500
  --body-bytes 64   --echo 64x1 (echo's concurrency x maxScale; maxScale stays 1)   --noisy-percent 15 --retries 3
  (a window during which other work took more than 15% of the CPUs is measured again, up to 3 times)

Ad-hoc load against an invoker (e.g. while profiling it):
  java -cp 'bench/target/bench.jar:bench/target/lib/*' dev.skiff.bench.HttpLoad \
       -H 'X-Skiff-Version: 1' -H 'X-Skiff-Cluster-Key: KEY' http://127.0.0.1:PORT/internal/fn/echo 16 20
EOF
}

BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --server-java-opts) read -r -a SERVER_OPTS <<<"${2:?--server-java-opts needs a value}"; shift 2 ;;
    *) BENCH_ARGS+=("$1"); shift ;;
  esac
done

BENCH_NAME=gateway
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Stops a process started here (SIGTERM, then SIGKILL after 30 s) and reaps it.
stop_pid() {
  local pid="$1" what="$2"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  say "$BENCH_NAME: stopping the $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$BENCH_NAME: the $what did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

gateway_cleanup() {
  local rc=$?
  # The invoker first (a clean shutdown tells the gateway it is leaving), the broker last.
  stop_pid "${INV_PID:-}" "invoker-role Skiff"
  stop_pid "${GW_PID:-}" "gateway-role Skiff"
  stop_pid "${KAFKA_PID:-}" "Kafka broker"
  # Nothing may remain: no JVM of ours, no broker, no sandbox init, no sandbox cgroup.
  local left g
  left="$(pgrep -f -- "-Dskiff.state-dir=$STATE_DIR-" 2>/dev/null | tr '\n' ' ' || true)"
  [ -z "$left" ] || say "$BENCH_NAME: WARNING: Skiff processes of the benchmark are still running: $left"
  if [ -n "${WORK:-}" ]; then
    left="$(pgrep -f -- "$WORK/kafka" 2>/dev/null | tr '\n' ' ' || true)"
    [ -z "$left" ] || say "$BENCH_NAME: WARNING: the benchmark's Kafka broker is still running: $left"
  fi
  left="$(pgrep -f -- "$GW_STATE/|$INV_STATE/" 2>/dev/null | tr '\n' ' ' || true)"
  [ -z "$left" ] || say "$BENCH_NAME: WARNING: processes of the benchmark's sandboxes are still running: $left"
  left="$(find "$INV_STATE/sockets" "$GW_STATE/sockets" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | tr '\n' ' ' || true)"
  [ -z "$left" ] || say "$BENCH_NAME: WARNING: replica socket directories left in the state directories: $left"
  for g in $(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "$GW_CGROUP" -o -name "$INV_CGROUP" \) 2>/dev/null); do
    if find "$g" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | grep -q .; then
      say "$BENCH_NAME: WARNING: sandbox cgroups left in $g"
    fi
  done
  rm -rf "${WORK:-}"
  exit "$rc"
}

# Starts one Skiff: $1 role, $2 name (gw|inv), $3 port, $4 state dir, $5 cgroup group, $6 log.
start_skiff() {
  local role="$1" name="$2" port="$3" state="$4" cgroup="$5" log="$6"
  mkdir -p "$WORK/$name"
  say "$BENCH_NAME: starting the $role-role Skiff on 127.0.0.1:$port (data $WORK/$name, state $state, cgroup $cgroup, log $log)"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "${SERVER_OPTS[@]}" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
    -Dskiff.role="$role" -Dskiff.advertised-url="http://127.0.0.1:$port" \
    -Dkafka.bootstrap.servers="$KAFKA" \
    -Dskiff.data-dir="$WORK/$name/data" -Dskiff.state-dir="$state" -Dskiff.cgroup-name="$cgroup" \
    -Dskiff.auth.credentials-file="$WORK/$name/credentials" \
    -jar "$SERVER_JAR" >"$log" 2>&1 </dev/null &
  STARTED_PID=$!
}

bench_preflight
# A replica socket directory an earlier run left behind (nothing runs there now: bench_preflight
# checked) would pass for a replica of this run; remove those that hold nothing but the socket.
for d in "$INV_STATE"/sockets/*/ "$GW_STATE"/sockets/*/; do
  [ -d "$d" ] || continue
  if [ -z "$(find "$d" -mindepth 1 ! -name fn.sock -print -quit)" ]; then
    say "$BENCH_NAME: removing ${d%/}, left by an earlier run"
    rm -f "${d}fn.sock" && rmdir "$d" || true
  fi
done
bench_build

GW_PORT="$(free_port)"
INV_PORT="$(free_port)"
while [ "$INV_PORT" = "$GW_PORT" ]; do INV_PORT="$(free_port)"; done
WORK="$(mktemp -d /var/tmp/skiff-bench6-work.XXXXXX)"
KAFKA_PID="" GW_PID="" INV_PID=""
trap gateway_cleanup EXIT
trap 'exit 130' INT TERM

# --- the broker: kafka-local's LocalKafkaMain on a free port, data in the work directory -----
say "$BENCH_NAME: starting a Kafka broker (data $WORK/kafka, log $KAFKA_LOG)"
"$JAVA_HOME/bin/java" -cp "$SKIFF_ROOT/server/target/quarkus-app/lib/main/*" dev.skiff.kafka.LocalKafkaMain \
  --data "$WORK/kafka" --port 0 >"$WORK/kafka.out" 2>"$KAFKA_LOG" </dev/null &
KAFKA_PID=$!
KAFKA=""
for _ in $(seq 1 900); do
  kill -0 "$KAFKA_PID" 2>/dev/null || { tail -20 "$KAFKA_LOG" >&2; die "the Kafka broker exited during start (log above)"; }
  KAFKA="$(sed -n 's/^bootstrap.servers=//p' "$WORK/kafka.out" 2>/dev/null || true)"
  [ -n "$KAFKA" ] && break
  sleep 0.1
done
[ -n "$KAFKA" ] || die "the Kafka broker was not ready within 90 s (log: $KAFKA_LOG)"
say "$BENCH_NAME: Kafka broker ready on $KAFKA"

# --- the two Skiffs -------------------------------------------------------------------------
start_skiff gateway gw "$GW_PORT" "$GW_STATE" "$GW_CGROUP" "$GW_LOG"; GW_PID=$STARTED_PID
start_skiff invoker inv "$INV_PORT" "$INV_STATE" "$INV_CGROUP" "$INV_LOG"; INV_PID=$STARTED_PID

# Ready on the gateway: Kafka connected and an invoker announced (its "invoker" check).
ready=""
for _ in $(seq 1 1200); do
  kill -0 "$GW_PID" 2>/dev/null || { tail -20 "$GW_LOG" >&2; die "the gateway exited during start (log above, whole log in $GW_LOG)"; }
  kill -0 "$INV_PID" 2>/dev/null || { tail -20 "$INV_LOG" >&2; die "the invoker exited during start (log above, whole log in $INV_LOG)"; }
  if [ -s "$WORK/gw/credentials" ] && curl -sf -o /dev/null "http://127.0.0.1:$GW_PORT/q/health/ready"; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || die "the gateway was not ready within 120 s: $(curl -s "http://127.0.0.1:$GW_PORT/q/health/ready" || true) (logs: $GW_LOG, $INV_LOG)"
SKIFF_TOKEN="$(awk '$1 == "default" { print $2 }' "$WORK/gw/credentials" 2>/dev/null || true)"
export SKIFF_TOKEN
[ -n "$SKIFF_TOKEN" ] || die "the gateway wrote no admin token to $WORK/gw/credentials (log: $GW_LOG)"
curl -sf -o /dev/null -H "Authorization: Bearer $SKIFF_TOKEN" "http://127.0.0.1:$GW_PORT/v1/functions" \
  || die "the gateway's API does not answer with its token (log: $GW_LOG)"
say "$BENCH_NAME: the gateway is ready: $(curl -s "http://127.0.0.1:$GW_PORT/q/health/ready" | tr -d ' \n' | head -c 300)"

# --- run -----------------------------------------------------------------------------------
ALL_ARGS=()
[ "${#SERVER_OPTS[@]}" -eq 0 ] || ALL_ARGS+=(--server-java-opts "'${SERVER_OPTS[*]}'")
ALL_ARGS+=("${BENCH_ARGS[@]}")
REPRO="sudo bench/gateway.sh${ALL_ARGS[*]:+ ${ALL_ARGS[*]}}   (repository root, commit $COMMIT$DIRTY)"
rc=0
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$BENCH/bench.jar:$BENCH/lib/*" \
  dev.skiff.bench.GatewayBench \
  --gateway "http://127.0.0.1:$GW_PORT" --invoker "http://127.0.0.1:$INV_PORT" \
  --gateway-pid "$GW_PID" --invoker-pid "$INV_PID" --kafka-pid "$KAFKA_PID" --kafka "$KAFKA" \
  --state-dir "$INV_STATE" --cgroup-name "$INV_CGROUP" --work "$WORK/bench" --gateway-log "$GW_LOG" \
  --repro "$REPRO" "${BENCH_ARGS[@]}" || rc=$?

for LOG in "$GW_LOG" "$INV_LOG"; do bench_log_warnings; done
exit "$rc"
