#!/usr/bin/env bash
# Kafka trigger benchmark: starts a Skiff of its own (every role in one process, with the Kafka
# broker it starts itself, as `fn up` runs it) and drains backlogs of records into result topics,
# in one run on this machine, by
#   a. a plain consume-and-produce loop (poll, produce, flush, commit): the baseline;
#   b. the same loop calling an echo function once per record through the gateway (a
#      hand-written connector);
#   c. an echo function's trigger (ordering none, key and partition) with a result topic;
# and prints records per second, the ratios to a and b, and whether the trigger keeps at least
# half of the loop's rate in `none` and `key` ordering, with a summary to paste into an issue.
#
#   sudo bench/trigger.sh [options]     (options: bench/trigger.sh --help)
#
# Needs root on Linux (Skiff's sandboxes). Installs what scripts/setup installs when missing.
# Builds with the Maven wrapper and -Pbench (MAVEN_ARGS=-o stays offline). The Skiff listens on
# a free port of 127.0.0.1, its state is in /run/skiff-bench7, its cgroup group skiff-bench7,
# its data (and its broker's) in a temporary directory under /var/tmp; all is stopped at the end.
# Log: /var/tmp/skiff-bench7-server.log.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib/common.sh"
source "$(dirname "$(readlink -f "$0")")/lib/skiff-under-test.sh"

STATE_DIR=/run/skiff-bench7
CGROUP=skiff-bench7
LOG=/var/tmp/skiff-bench7-server.log
SERVER_OPTS=()
PORT=""

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF2'

Options of this script:
  --server-java-opts 'OPTS' extra JVM options for the Skiff under test; default none

Options passed to the benchmark (dev.skiff.bench.TriggerBench):
  --records 20000   --rounds 2   --concurrency 16 (records in flight: the trigger's concurrency
  and the connector loop's callers)   --orderings none,key,partition   --batch-sizes 1,100 (the
  trigger's batchSize; each size a variant per ordering)   --partitions 3   --keys 100
EOF2
}

BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --server-java-opts) read -r -a SERVER_OPTS <<<"${2:?--server-java-opts needs a value}"; shift 2 ;;
    *) BENCH_ARGS+=("$1"); shift ;;
  esac
done

BENCH_NAME=trigger
TMP_PREFIX=/var/tmp/skiff-bench7
CHECK_CGROUPS=("$CGROUP")
bench_preflight
bench_build
bench_start_skiff

# The broker the Skiff started for itself says where it listens in the Skiff's log.
KAFKA=""
for _ in $(seq 1 600); do
  KAFKA="$(sed -n 's/^fn: Kafka broker ready on \([^ ]*\) in .*/\1/p' "$LOG" | tail -1)"
  [ -n "$KAFKA" ] && break
  sleep 0.1
done
[ -n "$KAFKA" ] || die "the Skiff's log does not say where its Kafka broker listens (log: $LOG)"
say "$BENCH_NAME: the Skiff's Kafka broker is on $KAFKA"

ALL_ARGS=()
[ "${#SERVER_OPTS[@]}" -eq 0 ] || ALL_ARGS+=(--server-java-opts "'${SERVER_OPTS[*]}'")
ALL_ARGS+=("${BENCH_ARGS[@]}")
REPRO="sudo bench/trigger.sh${ALL_ARGS[*]:+ ${ALL_ARGS[*]}}   (repository root, commit $COMMIT$DIRTY)"
rc=0
"$JAVA_HOME/bin/java" -cp "$BENCH/bench.jar:$BENCH/lib/*" dev.skiff.bench.TriggerBench \
  --gateway "http://127.0.0.1:$PORT" --kafka "$KAFKA" --server-pid "$SERVER_PID" --work "$WORK" \
  --repro "$REPRO" "${BENCH_ARGS[@]}" || rc=$?

bench_log_warnings
exit "$rc"
