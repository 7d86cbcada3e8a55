#!/usr/bin/env bash
# scripts/test-asan.sh [PYTHON...]
# Builds linewise with AddressSanitizer and UndefinedBehaviorSanitizer into its own venv
# per Python (.venvs/asan-X.Y, a regular install from a copy of the tree, so the normal
# venvs keep their normal in-place build) and runs the whole test suite under it, once per
# backend (monitoring and legacy on 3.12+). Any sanitizer report fails the run.
#
# CPython itself is not instrumented, so the ASan runtime is preloaded into the
# interpreter (it must come first in the library list), through a wrapper that is the
# venv's sys.executable, so that Python subprocesses get it too (and other programs do
# not: it would break a browser a test starts); PYTHONMALLOC=malloc routes every
# Python object through malloc, so ASan also sees misuse of Python objects (a use after
# Py_DECREF, an overrun of a list's items). Leak detection is off: CPython does not free
# everything at exit. UBSan halts at the first report. ASan reports are written to
# build/sanitizer-logs/ (subprocesses of the tests included), UBSan's to the output; either
# fails the run.
#
# Default Pythons: the oldest and the newest scripts/pythons.sh finds (3.10+): between
# them both backends and both generations of the frame API the C reads, in about half the
# time of all four (CI's budget). ASAN_PYTHONS (paths) overrides, as do arguments;
# ASAN_PYTHONS=all takes every one (`make test-asan-all`). PYTEST_ARGS is passed to pytest.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -fstrict-overflow -g -Werror"
libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
  [ -e "$lib" ] || { echo "test-asan: $lib not found (gcc's sanitizer runtimes)" >&2; exit 1; }
done

if [ $# -gt 0 ]; then
  pythons="$*"
elif [ "${ASAN_PYTHONS:-}" = all ]; then
  pythons=$(scripts/pythons.sh)
elif [ -n "${ASAN_PYTHONS:-}" ]; then
  pythons=$ASAN_PYTHONS
else
  pythons=$(scripts/pythons.sh | sed -n '1p;$p' | uniq)
fi
[ -n "$pythons" ] || { echo "test-asan: no Python >= 3.10 found" >&2; exit 1; }

scripts/need-tools.sh  # tmux and chromium, which some tests drive
logdir=$root/build/sanitizer-logs
# pytest-xdist across the cores, as scripts/test-all.sh (LINEWISE_TEST_JOBS).
jobs=${LINEWISE_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
status=0
summary=""

# build_venv PYTHON -> prints the venv's python; the ASan build of the current tree in it.
build_venv() {
  local py=$1 ver venv tree stamp
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || return 1
  venv=.venvs/asan-$ver
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv" >&2 || return 1
  fi
  # The same test tools as scripts/venv.sh installs.
  stamp=$venv/.deps-$(cat scripts/test-requirements.txt <(echo "setuptools wheel") | cksum | cut -d' ' -f1)
  if [ ! -e "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel >&2 &&
      "$venv/bin/python" -m pip install -q --disable-pip-version-check -r scripts/test-requirements.txt >&2 &&
      touch "$stamp" || return 1
  fi
  # A fresh copy of the tree: an in-tree build would share build/ (and its objects) with
  # the normal build.
  tree=build/asan-$ver/tree
  rm -rf "$tree"
  mkdir -p "$tree"
  cp -R setup.py pyproject.toml README.md LICENSE MANIFEST.in src "$tree"/ || return 1
  find "$tree" \( -name '*.so' -o -name '__pycache__' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
  (cd "$tree" && LINEWISE_CFLAGS="$flags" "$root/$venv/bin/python" -m pip install -q \
    --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall . >&2) || return 1
  # bin/python-asan: the venv's python with the sanitizer runtimes preloaded. It stays
  # sys.executable (exec -a), so Python subprocesses of the tests get them too, while
  # sitecustomize drops LD_PRELOAD from os.environ once the interpreter is up, so that
  # other programs the tests run (a browser, a compiler) do not get ASan forced on them.
  cat >"$venv/bin/python-asan" <<WRAPPER
#!/usr/bin/env bash
export LD_PRELOAD="$libasan $libubsan\${LD_PRELOAD:+ \$LD_PRELOAD}"
export ASAN_OPTIONS="\${ASAN_OPTIONS:-detect_leaks=0}"
export LINEWISE_ASAN_PRELOAD="$libasan $libubsan"
exec -a "\$0" "$root/$venv/bin/python" "\$@"
WRAPPER
  chmod +x "$venv/bin/python-asan"
  # Console scripts (linewise, pytest, ...) start through the wrapper too.
  for script in "$venv"/bin/*; do
    if [ -f "$script" ] && head -n 1 "$script" | grep -qx "#!$root/$venv/bin/python[0-9.]*"; then
      sed -i "1s|.*|#!$root/$venv/bin/python-asan|" "$script"
    fi
  done
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cat >"$site/sitecustomize.py" <<'SITE'
"""Installed by scripts/test-asan.sh: the sanitizer runtimes were preloaded into this
interpreter by bin/python-asan; keep them out of the environment of other programs."""
import os

_ours = os.environ.pop("LINEWISE_ASAN_PRELOAD", None)
if _ours is not None:
    _rest = os.environ.get("LD_PRELOAD", "")
    _rest = _rest[len(_ours):].strip() if _rest.startswith(_ours) else _rest
    if _rest:
        os.environ["LD_PRELOAD"] = _rest
    else:
        os.environ.pop("LD_PRELOAD", None)
SITE
  echo "$venv/bin/python-asan"
}

for py in $pythons; do
  vpy=$(build_venv "$py" | tail -n 1)
  if [ -z "$vpy" ] || [ ! -x "$vpy" ]; then
    summary="$summary\n$py: ASan build FAILED"
    status=1
    continue
  fi
  ver=$("$vpy" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  # The suite must import the instrumented build, not the sources next to it.
  so=$(cd /tmp && ASAN_OPTIONS=detect_leaks=0 \
       "$root/$vpy" -c 'import linewise._engine as e; print(e.__file__)')
  case "$so" in
    "$root"/.venvs/asan-*) ;;
    *) summary="$summary\nPython $ver: imported $so, not the ASan build"; status=1; continue ;;
  esac
  if ! ldd "$so" | grep -q libasan; then
    summary="$summary\nPython $ver: $so is not linked with ASan"
    status=1
    continue
  fi
  backends="legacy"
  "$vpy" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' && backends="monitoring legacy"
  for b in $backends; do
    echo "=== ASan+UBSan: Python $ver, backend $b"
    rm -rf "$logdir"
    mkdir -p "$logdir"
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$logdir/asan:print_summary=1" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logdir/ubsan" \
      PYTHONMALLOC=malloc LINEWISE_BACKEND=$b LINEWISE_SANITIZED=1 \
      "$vpy" -m pytest -q -p no:cacheprovider --capture=sys -n "$jobs" ${PYTEST_ARGS:-} 2>&1 |
      tee "$logdir/pytest.out"
    rc=${PIPESTATUS[0]}
    # ASan writes its reports to log_path; UBSan next to ASan ignores log_path and writes
    # to stderr, which pytest leaves alone here (--capture=sys) so that a report printed
    # just before the process halts is not lost with pytest's captured output.
    grep -E "runtime error:|ERROR: (Address|Leak)Sanitizer" "$logdir/pytest.out" \
      >"$logdir/stderr-reports" || rm -f "$logdir/stderr-reports"
    rm -f "$logdir/pytest.out"
    reports=$(find "$logdir" -type f | sort)
    if [ -n "$reports" ]; then
      echo "--- sanitizer reports (Python $ver, backend $b):"
      for f in $reports; do echo "--- $f"; cat "$f"; done
      rc="$rc, $(echo "$reports" | wc -l) sanitizer report file(s)"
      status=1
    elif [ "$rc" -ne 0 ]; then
      status=1
    fi
    summary="$summary\nPython $ver ($b) under ASan+UBSan: pytest exit $rc"
  done
done
printf "%b\n" "$summary"
[ $status -eq 0 ] && echo "test-asan: no sanitizer reports"
exit $status
