#!/usr/bin/env bash
# Sandbox start benchmark: Skiff's sandbox start against runc, bwrap, unshare and a plain exec,
# measured in one run on this machine; then Python create-to-ready and 200 idle sandboxes.
#
#   sudo bench/sandbox-start.sh [options]     (options: bench/sandbox-start.sh --help)
#
# Needs root on Linux. Installs what it needs with apt-get and says so first: runc, bubblewrap,
# busybox-static (the runc/bwrap rootfs), patch (for the timing build of skiff-init), hyperfine
# (the baselines once more without a JVM in the loop), and what scripts/setup installs to build
# Skiff (python3, gcc, libc6-dev). Builds with the Maven wrapper and -Pbench (the bench module is
# not in the default reactor, so the test suite never builds it); MAVEN_ARGS=-o stays offline.
# Scratch space: /var/tmp/skiff-bench (state, runc bundle, sockets); sandboxes go into their own
# cgroup group "skiff-bench", so a Skiff or a test run on the same host is never touched.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/../scripts/lib/common.sh"

case "${1:-}" in
  -h|--help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    echo
    echo "Options are passed to the benchmark:"
    echo "  --runs N (200)  --warmup N (20)  --python-runs N (50)  --many N (200; 0 skips)"
    echo "  --many-program fdk|listener (fdk)  --profile-runs N (100; 0 skips)  --profile-gap-ms MS (25)"
    echo "  --wait-quiet S (120; wait before each section until other work uses < 10% CPU)"
    echo "  --variants skiff,skiff-exit,runc,bwrap,unshare,exec (section 1 subset)"
    exit 0 ;;
esac

[ "$(uname -s)" = Linux ] || die "the benchmark needs Linux"
[ "$(id -u)" = 0 ] || die "the benchmark needs root (namespaces, mounts, cgroups, runc): run it with sudo"

# --- what the baselines need -------------------------------------------------------------
static_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && { echo "$b"; return 0; }
  done
  return 1
}
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
static_busybox >/dev/null || need+=(busybox-static)
command -v patch >/dev/null 2>&1 || need+=(patch)
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
if [ "${#need[@]}" -gt 0 ]; then
  say "sandbox-start: installing with apt-get: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
"$SKIFF_ROOT/scripts/setup"   # python3, gcc, libc6-dev when missing; says so itself
find_jdk

# --- build -------------------------------------------------------------------------------
say "sandbox-start: building sandbox-runtime and bench (mvnw -Pbench package -pl bench -am)"
(cd "$SKIFF_ROOT" && mvnw -q -Pbench package -pl bench -am -DskipTests) \
  || die "build failed (run ./mvnw -Pbench package -pl bench -am -DskipTests to see why)"

# --- a copy of skiff-init with timing stamps, for the "where the time goes" section ---------
# Built from the runtime's own source plus bench/src/main/c/skiff-init-timing.patch; the
# runtime itself is never changed. If the patch no longer applies, init's steps are not split.
BENCH="$SKIFF_ROOT/bench/target"
PROFILE_INIT=()
tmp="$(mktemp -d)"
cp "$SKIFF_ROOT"/sandbox-runtime/src/main/c/*.[ch] "$tmp/"
if patch -s -d "$tmp" -p1 < "$SKIFF_ROOT/bench/src/main/c/skiff-init-timing.patch" \
   && cc -O2 -Wall -Werror -static -o "$BENCH/skiff-init-timed" "$tmp/skiff-init.c" "$tmp/seccomp-filter.c"; then
  PROFILE_INIT=(--profile-init "$BENCH/skiff-init-timed")
else
  say "sandbox-start: bench/src/main/c/skiff-init-timing.patch does not apply to (or build with) skiff-init.c; init's steps will not be split"
fi
rm -rf "$tmp"

# --- busybox bundle for runc (and its rootfs for bwrap) ---------------------------------
SCRATCH=/var/tmp/skiff-bench
BUNDLE="$SCRATCH/bundle"
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev"   # bwrap mounts over these, read-only root
cp "$(static_busybox)" "$BUNDLE/rootfs/bin/busybox"
ln -s busybox "$BUNDLE/rootfs/bin/true"
(cd "$BUNDLE" && runc spec)
/usr/bin/python3 - "$BUNDLE/config.json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    c = json.load(f)
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
with open(path, "w") as f:
    json.dump(c, f, indent=2)
PY

# --- run ---------------------------------------------------------------------------------
COMMIT="$(git -C "$SKIFF_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$SKIFF_ROOT" status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)"
REPRO="sudo bench/sandbox-start.sh${*:+ $*}   (repository root, commit $COMMIT$DIRTY)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$BENCH/bench.jar:$BENCH/lib/*" \
  dev.skiff.bench.SandboxStartBench \
  --bundle "$BUNDLE" --probe "$BENCH/clock-probe" \
  --state "$SCRATCH/state" --work "$SCRATCH/work" \
  "${PROFILE_INIT[@]}" --repro "$REPRO" "$@"
