# Shared by bench/invoker.sh and bench/autoscale.sh: build Skiff and the benchmark, start a Skiff
# of the benchmark's own (a free port on 127.0.0.1, a temporary data directory, its own state
# directory, cgroup group and log) and stop it again, checking that nothing of it is left.
# Sourced after scripts/lib/common.sh, not executed. The caller sets:
#   BENCH_NAME   word for messages ("invoker", "autoscale")
#   STATE_DIR    the Skiff's skiff.state-dir        CGROUP  its skiff.cgroup-name
#   LOG          its log file                       TMP_PREFIX  e.g. /var/tmp/skiff-bench4
#   SERVER_OPTS  (array) extra JVM options          PORT    a port, or empty for a free one
#   CHECK_CGROUPS (array) cgroup group names that must have no sandboxes left at the end
# and gets SERVER_PID, DATA, WORK, BENCH (bench/target), COMMIT, DIRTY, and SKIFF_TOKEN exported: the
# admin token the Skiff's first start wrote to $DATA/credentials (the benchmark's API calls send it).

bench_preflight() {
  [ "$(uname -s)" = Linux ] || die "the benchmark needs Linux"
  [ "$(id -u)" = 0 ] || die "the benchmark needs root (Skiff's sandboxes: namespaces, mounts, cgroups): run it with sudo"
  if pgrep -f -- "-Dskiff.state-dir=$STATE_DIR" >/dev/null 2>&1; then
    die "a Skiff with state in $STATE_DIR is already running (another $BENCH_NAME benchmark?); stop it first"
  fi
  "$SKIFF_ROOT/scripts/setup"   # python3, gcc, libc6-dev, ... when missing; says so itself
  find_jdk
}

bench_build() {
  say "$BENCH_NAME: building Skiff and the benchmark (mvnw -Pbench package -pl server,bench -am)"
  # bench/target/lib is copied afresh, so it holds this tree's modules, not older copies.
  rm -rf "$SKIFF_ROOT/bench/target/lib"
  (cd "$SKIFF_ROOT" && mvnw -q -Pbench package -pl server,bench -am -DskipTests) \
    || die "build failed (run ./mvnw -Pbench package -pl server,bench -am -DskipTests to see why)"
  BENCH="$SKIFF_ROOT/bench/target"
  SERVER_JAR="$SKIFF_ROOT/server/target/quarkus-app/quarkus-run.jar"
  COMMIT="$(git -C "$SKIFF_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  DIRTY="$(git -C "$SKIFF_ROOT" status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)"
}

bench_cleanup() {
  local rc=$?
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    say "$BENCH_NAME: stopping the Skiff under test (pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && { say "$BENCH_NAME: it did not stop within 30 s; killing it"; kill -KILL "$SERVER_PID" 2>/dev/null || true; }
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  # Nothing of it may remain: no sandbox init, no sandbox cgroup (the group itself may stay).
  local left g expr=()
  left="$(pgrep -f -- "$STATE_DIR/" 2>/dev/null | tr '\n' ' ' || true)"
  [ -z "$left" ] || say "$BENCH_NAME: WARNING: processes of the benchmark's sandboxes are still running: $left"
  for g in "${CHECK_CGROUPS[@]}"; do expr+=(${expr[0]:+-o} -name "$g"); done
  for g in $(find /sys/fs/cgroup -maxdepth 6 -type d \( "${expr[@]}" \) 2>/dev/null); do
    if find "$g" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | grep -q .; then
      say "$BENCH_NAME: WARNING: sandbox cgroups left in $g"
    fi
  done
  rm -rf "${DATA:-}" "${WORK:-}"
  exit "$rc"
}

bench_start_skiff() {
  [ -n "$PORT" ] || PORT="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  DATA="$(mktemp -d "$TMP_PREFIX-data.XXXXXX")"
  WORK="$(mktemp -d "$TMP_PREFIX-work.XXXXXX")"
  SERVER_PID=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  say "$BENCH_NAME: starting Skiff on 127.0.0.1:$PORT (data $DATA, state $STATE_DIR, cgroup $CGROUP, log $LOG)"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "${SERVER_OPTS[@]}" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dskiff.data-dir="$DATA" -Dskiff.state-dir="$STATE_DIR" -Dskiff.cgroup-name="$CGROUP" \
    -Dskiff.auth.credentials-file="$DATA/credentials" \
    -jar "$SERVER_JAR" >"$LOG" 2>&1 </dev/null &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$LOG" >&2; die "Skiff exited during start (log above, whole log in $LOG)"; }
    [ -s "$DATA/credentials" ] && curl -sf -o /dev/null "http://127.0.0.1:$PORT/q/health/live" && break
    sleep 0.1
  done
  SKIFF_TOKEN="$(awk '$1 == "default" { print $2 }' "$DATA/credentials" 2>/dev/null || true)"
  export SKIFF_TOKEN
  [ -n "$SKIFF_TOKEN" ] || die "Skiff wrote no admin token to $DATA/credentials within 60 s (log: $LOG)"
  curl -sf -o /dev/null -H "Authorization: Bearer $SKIFF_TOKEN" "http://127.0.0.1:$PORT/v1/functions" \
    || die "Skiff did not answer on port $PORT within 60 s (log: $LOG)"
}

# Prints the warnings and errors of the Skiff's log, if any.
bench_log_warnings() {
  if grep -qE ' (ERROR|WARN) ' "$LOG"; then
    echo
    echo "Skiff's log has warnings or errors ($LOG):"
    grep -E ' (ERROR|WARN) ' "$LOG" | head -20
  fi
}
