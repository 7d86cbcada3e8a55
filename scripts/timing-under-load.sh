#!/usr/bin/env bash
# Runs the tests that assert on time attribution RUNS times in a row (default 20) while one
# CPU hog per core keeps the machine busy, and fails if any run fails: those tests compare
# linewise's figures with what the test programs measured themselves, so load must not
# break them.
#   scripts/timing-under-load.sh PYTHON [pytest args...]
# PYTHON is a venv's interpreter with linewise installed (.venvs/3.13/bin/python);
# LINEWISE_BACKEND picks the backend as for the suite. The hogs are ended on any exit.
set -u
cd "$(dirname "$0")/.."
py=${1:?usage: scripts/timing-under-load.sh PYTHON [pytest args...]}
shift
[ -x "$py" ] || { echo "timing-under-load: $py is not an executable Python" >&2; exit 2; }
runs=${RUNS:-20}
tests=(tests/engine/test_timing.py
       "tests/engine/test_coexist.py::test_a_slow_tracer_behind_linewise_is_not_charged_to_lines")

hogs=()
log=$(mktemp)
cleanup() {
  local pid
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null; done
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cores=$(nproc)
for _ in $(seq "$cores"); do
  "$py" -c "while 1: pass" &
  hogs+=($!)
done
ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
backend=$("$py" -c 'from linewise import _engine; print(_engine.backend)') || exit 2
echo "timing-under-load: Python $ver, backend $backend, $cores CPU hogs, $runs runs"

passed=0; failed=0
for i in $(seq "$runs"); do
  "$py" -m pytest -q -p no:cacheprovider "${tests[@]}" "$@" >"$log" 2>&1
  rc=$?
  last=$(tail -n 1 "$log")
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "run $i: ok: $last"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED (pytest exit $rc): $last"
    grep -E '^(FAILED|ERROR) |^E  ' "$log" | head -n 20 | sed 's/^/    /'
  fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
