#!/usr/bin/env bash
# Autoscaler benchmark: starts a Skiff of its own and measures how fast it scales up after a step
# in load. A python function `step` (handler sleeps 100 ms, concurrency 5, maxScale 20, scale:
# {stableWindow: 10s, scaleToZeroGrace: 30s}) gets 1 closed-loop client; then, N times, once the
# desired and the actual replicas are back to <= 2, the load steps to 50 clients for 8 s, and from
# the step instant it measures (a) the decision: skiff_desired_replicas >= 10, from /q/metrics
# polled every 25 ms and from the autoscaler's own log line, and (b) the capacity: skiff_replicas
# (ready replicas, not starting ones) >= 10; with failed calls (must be 0) and the cold starts
# split into those the calls made themselves and those the autoscaler's decisions made. It prints
# a table per step, p50 and max over the steps against the targets (decision <= 1 s, capacity
# <= 2 s; Knative's KPA decides every 2 s with a 6 s panic window) and a summary to paste into an
# issue.
#
#   sudo bench/autoscale.sh [options]     (options: bench/autoscale.sh --help)
#
# Needs root on Linux (Skiff's sandboxes). Installs what scripts/setup installs when missing, and
# says so; nothing else (the load generator is the benchmark's own Java client). Builds with the
# Maven wrapper and -Pbench (MAVEN_ARGS=-o stays offline). The Skiff under test listens on a free
# port on 127.0.0.1, keeps its functions (and its local Kafka broker's data) in a temporary data
# directory, its sandboxes under /run/skiff-bench5 and in the cgroup group "skiff-bench5", so
# another Skiff or a test run is never touched; it is stopped at the end. Its log is kept in
# /var/tmp/skiff-bench5-server.log.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib/common.sh"
source "$(dirname "$(readlink -f "$0")")/lib/skiff-under-test.sh"

STATE_DIR=/run/skiff-bench5
CGROUP=skiff-bench5
LOG=/var/tmp/skiff-bench5-server.log
SERVER_OPTS=()
PORT=""

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF2'

Options of this script:
  --port N                  port of the Skiff under test (default: a free one)
  --server-java-opts 'OPTS' extra JVM options for the Skiff under test, to try a setting; default none

Options passed to the benchmark (dev.skiff.bench.AutoscaleBench):
  --steps 5  --clients 50 (during a step)  --base-clients 1 (between steps)  --step-seconds 8
  --threshold 10 (replicas that count as scaled up)  --poll-ms 25 (/q/metrics during a step)
  --settle-replicas 2 --settle-timeout 120 (before a step: desired and actual <= 2, held 2 s)
  --concurrency 5 --max-scale 20 --sleep-ms 100 (the function)
  --stable-window 10s --scale-to-zero-grace 30s (its scale: section)
  --wait-quiet 30 (before each step, wait up to 30 s until other work uses < 10% CPU)
EOF2
}

BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --port) PORT="${2:?--port needs a number}"; shift 2 ;;
    --server-java-opts) read -r -a SERVER_OPTS <<<"${2:?--server-java-opts needs a value}"; shift 2 ;;
    *) BENCH_ARGS+=("$1"); shift ;;
  esac
done

BENCH_NAME=autoscale
TMP_PREFIX=/var/tmp/skiff-bench5
CHECK_CGROUPS=("$CGROUP")
bench_preflight
bench_build
bench_start_skiff

# --- run -----------------------------------------------------------------------------------
ALL_ARGS=()
[ "${#SERVER_OPTS[@]}" -eq 0 ] || ALL_ARGS+=(--server-java-opts "'${SERVER_OPTS[*]}'")
ALL_ARGS+=("${BENCH_ARGS[@]}")
REPRO="sudo bench/autoscale.sh${ALL_ARGS[*]:+ ${ALL_ARGS[*]}}   (repository root, commit $COMMIT$DIRTY)"
rc=0
"$JAVA_HOME/bin/java" -cp "$BENCH/bench.jar:$BENCH/lib/*" \
  dev.skiff.bench.AutoscaleBench \
  --gateway "http://127.0.0.1:$PORT" --server-pid "$SERVER_PID" --server-log "$LOG" \
  --cgroup-name "$CGROUP" --work "$WORK" \
  --repro "$REPRO" "${BENCH_ARGS[@]}" || rc=$?

bench_log_warnings
exit "$rc"
