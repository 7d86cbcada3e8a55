#!/usr/bin/env bash
# Builds linewise and runs the whole suite on every Python found (scripts/pythons.sh);
# on 3.12+ the suite runs once per backend (monitoring, then legacy).
# Exits non-zero if any run fails or collects no tests (pytest's exit 5).
set -u
cd "$(dirname "$0")/.."
# The C must build without a warning on every Python: warnings fail the test build.
export LINEWISE_CFLAGS="${LINEWISE_CFLAGS:--Werror}"
pythons=$(scripts/pythons.sh)
scripts/need-tools.sh  # tmux and chromium, which some tests drive
[ -n "$pythons" ] || { echo "test-all: no Python >= 3.10 found" >&2; exit 1; }
status=0
summary=""
npass=0; nfail=0; nskip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Adds the counts of pytest's closing line in $log to the totals.
count() {
  local line; line=$(grep -E '[0-9]+ (passed|failed|errors?)' "$log" | tail -n 1)
  read -r p f k < <(echo "$line" | awk '{p=f=k=0; for (i=2;i<=NF;i++) { w=$i; gsub(/[^a-z]/,"",w);
      if (w=="passed") p+=$(i-1); else if (w=="failed"||w=="error"||w=="errors") f+=$(i-1);
      else if (w=="skipped") k+=$(i-1) } print p+0, f+0, k+0}')
  npass=$((npass + p)); nfail=$((nfail + f)); nskip=$((nskip + k))
}
newest=$(echo "$pythons" | tail -n 1)
# pytest-xdist across the cores (LINEWISE_TEST_JOBS to choose; 0 runs in one process).
jobs=${LINEWISE_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
for py in $pythons; do
  # The newest Python also gets scikit-learn: the walkthrough notebook's test needs it.
  extra=""; [ "$py" = "$newest" ] && extra="scikit-learn"
  vpy=$(scripts/venv.sh "$py" $extra "$@" | tail -n 1) || { summary="$summary\n$py: build FAILED"; status=1; continue; }
  ver=$("$vpy" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  backends="legacy"
  "$vpy" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' && backends="monitoring legacy"
  for b in $backends; do
    echo "=== Python $ver, backend $b"
    LINEWISE_BACKEND=$b "$vpy" -m pytest -q -p no:cacheprovider -n "$jobs" ${PYTEST_ARGS:-} 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    count
    if [ $rc -ne 0 ]; then status=1; fi
    summary="$summary\nPython $ver ($b): pytest exit $rc"
  done
done
printf "%b\n" "$summary"
# One plain closing line for the whole matrix; a run that collected nothing counts as failed.
[ $npass -gt 0 ] || status=1
echo "total: $npass passed, $nfail failed, $nskip skipped"
exit $status
