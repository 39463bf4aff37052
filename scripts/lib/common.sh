# Shared by ./fn and scripts/*: find a JDK >= 21 and run Maven through the wrapper.
# Sourced, not executed.

SKIFF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'fn: %s\n' "$*" >&2; exit 1; }

# Prints the major version of the java at $1 (a JDK home), or nothing.
java_major() {
  local v
  v="$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  printf '%s' "${v%%.*}"
}

# Sets JAVA_HOME to a JDK >= 21 (with javac): $JAVA_HOME first, then the java on PATH, then
# /usr/lib/jvm/* newest first. Our machines default to Java 17 and keep Temurin 25 under
# /usr/lib/jvm, which is why the PATH java is not simply trusted.
find_jdk() {
  local candidates=() c major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v javac >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
  fi
  for c in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do candidates+=("${c%/}"); done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major="$(java_major "$c")"
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      export JAVA_HOME="$c"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  die "no JDK 21 or newer found (looked at \$JAVA_HOME, the javac on PATH and /usr/lib/jvm/*). Install one, e.g. 'apt-get install openjdk-21-jdk' where your distribution has it, and try again."
}

mvnw() {
  "$SKIFF_ROOT/mvnw" -B -ntp "$@"
}
