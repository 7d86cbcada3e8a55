#!/usr/bin/env bash
# Builds linewise and runs the whole suite on every Python found (scripts/pythons.sh);
# on 3.12+ the suite runs once per backend (monitoring, then legacy).
# Exits non-zero if any run fails or collects no tests (pytest's exit 5).
set -u
cd "$(dirname "$0")/.."
# The C must build without a warning on every Python: warnings fail the test build.
export LINEWISE_CFLAGS="${LINEWISE_CFLAGS:--Werror}"
pythons=$(scripts/pythons.sh)
[ -n "$pythons" ] || { echo "test-all: no Python >= 3.10 found" >&2; exit 1; }
status=0
summary=""
for py in $pythons; do
  vpy=$(scripts/venv.sh "$py" "$@" | tail -n 1) || { summary="$summary\n$py: build FAILED"; status=1; continue; }
  ver=$("$vpy" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  backends="legacy"
  "$vpy" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' && backends="monitoring legacy"
  for b in $backends; do
    echo "=== Python $ver, backend $b"
    LINEWISE_BACKEND=$b "$vpy" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-}
    rc=$?
    if [ $rc -ne 0 ]; then status=1; fi
    summary="$summary\nPython $ver ($b): pytest exit $rc"
  done
done
printf "%b\n" "$summary"
exit $status
