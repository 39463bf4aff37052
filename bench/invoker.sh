#!/usr/bin/env bash
# Invoker benchmark: starts a Skiff of its own and measures, in one run on this machine,
#   1. the warm path: an echo function called through Skiff (/fn/echo: gateway, invoker, unix
#      socket, FDK) against the same FDK called directly on its unix socket, at 1, 16 and 64
#      concurrent clients (p50/p99 latency, throughput, CPU per call), split into sandbox,
#      invoker, virtual-thread hand-off and gateway, with a minimal TCP->unix relay for scale;
#   2. the cold start: the first call to a function without a replica, against the Python
#      interpreter's own start (spawn to "the FDK's socket accepts", Skiff's notion of ready)
#      and a bare sandbox start;
#   3. a burst: 200 concurrent first calls to a function with maxScale 20, counting replicas;
# then prints /q/metrics of the benchmark functions and a summary to paste into an issue.
#
#   sudo bench/invoker.sh [options]     (options: bench/invoker.sh --help)
#
# Needs root on Linux (Skiff's sandboxes). Installs what scripts/setup installs to build and run
# Skiff (python3, gcc, libc6-dev, ...) with apt-get when missing, and says so; nothing else: the
# load generator is the benchmark's own Java client (keep-alive HTTP/1.1, the same code over the
# unix socket and over TCP), because wrk and hey cannot speak to a unix socket. Builds with the
# Maven wrapper and -Pbench (MAVEN_ARGS=-o stays offline). The Skiff under test listens on a free
# port on 127.0.0.1, keeps its functions in a temporary data directory, its sandboxes under
# /run/skiff-bench4 and in the cgroup group "skiff-bench4" (the benchmark's own sandboxes in
# skiff-bench4-direct and skiff-bench4-inproc), so another Skiff or a test run is never touched;
# it is stopped at the end. Its log is kept in /var/tmp/skiff-bench4-server.log.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib/common.sh"
source "$(dirname "$(readlink -f "$0")")/lib/skiff-under-test.sh"

STATE_DIR=/run/skiff-bench4
CGROUP=skiff-bench4
LOG=/var/tmp/skiff-bench4-server.log
SERVER_OPTS=()
PORT=""

usage() {
  sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options of this script:
  --port N                  port of the Skiff under test (default: a free one)
  --server-java-opts 'OPTS' extra JVM options for the Skiff under test, to try a setting
                            (e.g. '-Djdk.pollerMode=1'); default none, exactly as `fn up` runs it

Options passed to the benchmark (dev.skiff.bench.InvokerBench):
  --sections warm,cold,burst (all)   --wait-quiet S (120: before each section, wait until other work
                                     uses < 10% CPU)
  warm:  --clients 1,16,64  --seconds 10 (measured per target and client count)  --rounds 5 (windows,
         targets interleaved)  --warmup-seconds 5 --warmup-rounds 6 (warm-up rounds repeat until
         the JIT compilers are quiet)  --window-warmup-ms 500  --body-bytes 64
         --echo 64x1 (echo's concurrency x maxScale)  --in-process true  --relay true
         --noisy-percent 15 --retries 3 (a window during which other work took more than 15% of the
         CPUs is measured again, up to 3 times)
  cold:  --cold-runs 50  --cold-warmup 3  --cold-gap-ms 100
  burst: --burst 200  --burst-max-scale 20  --burst-sleep-ms 50

Ad-hoc load against any Skiff (e.g. while profiling it with JFR):
  java -cp 'bench/target/bench.jar:bench/target/lib/*' dev.skiff.bench.HttpLoad \
       http://127.0.0.1:8080/fn/echo 16 20     (or unix:/run/skiff/sockets/echo-1234/fn.sock)
EOF
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

BENCH_NAME=invoker
TMP_PREFIX=/var/tmp/skiff-bench4
CHECK_CGROUPS=("$CGROUP" "$CGROUP-direct" "$CGROUP-inproc")
bench_preflight
bench_build
bench_start_skiff

# --- run -----------------------------------------------------------------------------------
ALL_ARGS=()
[ "${#SERVER_OPTS[@]}" -eq 0 ] || ALL_ARGS+=(--server-java-opts "'${SERVER_OPTS[*]}'")
ALL_ARGS+=("${BENCH_ARGS[@]}")
REPRO="sudo bench/invoker.sh${ALL_ARGS[*]:+ ${ALL_ARGS[*]}}   (repository root, commit $COMMIT$DIRTY)"
rc=0
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$BENCH/bench.jar:$BENCH/lib/*" \
  dev.skiff.bench.InvokerBench \
  --gateway "http://127.0.0.1:$PORT" --server-pid "$SERVER_PID" \
  --state-dir "$STATE_DIR" --cgroup-name "$CGROUP" --data-dir "$DATA" --work "$WORK" \
  --repro "$REPRO" "${BENCH_ARGS[@]}" || rc=$?

bench_log_warnings
exit "$rc"
