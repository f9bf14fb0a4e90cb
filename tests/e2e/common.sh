# shellcheck shell=bash
# What the end-to-end scripts share; each sources it first with its own arguments
# (source common.sh "$@"): set -u, the GPUAUDIT command line from those arguments, ROOT and
# SUPPORT, a temporary WORK directory whose processes (PIDS) are stopped on exit and which is
# removed unless E2E_KEEP=1 or a check failed, and the PASS/FAIL bookkeeping that ends in
# "N passed, N failed".
set -u

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SUPPORT=(python3 "$ROOT/tests/e2e/support.py")
PIDS=()
passed=0
failed=0

# GPUAUDIT: the command line that runs gpuaudit, from the script's arguments (usage and exit 2 without any).
if [[ $# -lt 1 ]]; then
  echo "usage: $0 GPUAUDIT [ARGS...]   e.g. $0 out/gpuaudit  or  $0 dotnet path/to/gpuaudit.dll" >&2
  exit 2
fi
GPUAUDIT=("$@")
# A single argument with a space ("dotnet x.dll") is a command line, not a file name.
if [[ $# -eq 1 && "$1" == *" "* && ! -e "$1" ]]; then read -r -a GPUAUDIT <<<"$1"; fi

# require_tools "INSTALL COMMAND" TOOL...: exit 2 naming the first tool not found and how to install it.
require_tools() {
  local install="$1" tool
  shift
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      echo "$0: $tool not found; install with: $install" >&2
      exit 2
    fi
  done
}

# start_work PREFIX: WORK becomes a new temporary directory, cleaned up (PIDS stopped) on exit.
start_work() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

stop() {  # stop PID: TERM, then KILL after 5 s
  local pid="$1" waited=0
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [[ $waited -lt 50 ]]; do sleep 0.1; waited=$((waited + 1)); done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop "$pid"; done
  if [[ "${E2E_KEEP:-0}" == 1 || $failed -gt 0 ]]; then
    echo "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [[ $# -gt 1 ]] && sed 's/^/    /' <<<"$2"; }
# check NAME COMMAND...: pass when the command succeeds; its output explains a failure.
check() {
  local name="$1" output
  shift
  if output="$("$@" 2>&1)"; then pass "$name"; else fail "$name" "$output"; fi
}
# expect NAME ACTUAL EXPECTED
expect() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "expected '$3', got '$2'"; fi
}
# abort MESSAGE: a step the rest depends on failed; show the logs that explain it.
abort() {
  fail "$1"
  local log
  for log in "$WORK"/*.log; do
    [[ -s "$log" ]] && { echo "--- tail of $log"; tail -n 20 "$log"; }
  done
  echo "$passed passed, $failed failed"
  exit 1
}

# check_dashboards URL SUFFIX --var NAME=VALUE...: every Grafana panel query in dashboards/ against
# the Prometheus API at URL over the time since TEST_START, the range variables filled in; each
# query's PASS/FAIL line (SUFFIX appended) counts as one check.
check_dashboards() {
  local url="$1" suffix="$2" elapsed results line
  shift 2
  elapsed=$(($(date +%s) - TEST_START + 1))
  results="$("${SUPPORT[@]}" dashboards "$url" "$TEST_START" "$@" \
    --var "__range=${elapsed}s" --var "__range_s=$elapsed" --var "__range_ms=${elapsed}000" \
    --var "__rate_interval=10s" --var "__interval=1s" --var "__interval_ms=1000" "$ROOT/dashboards" 2>&1)"
  while IFS= read -r line; do
    case "$line" in
      PASS*) passed=$((passed + 1)); echo "$line$suffix" ;;
      FAIL*) failed=$((failed + 1)); echo "$line$suffix" ;;
      *) echo "$line" ;;
    esac
  done <<<"$results"
  grep -q '^PASS' <<<"$results" || fail "dashboard queries ran$suffix" "$results"
}
