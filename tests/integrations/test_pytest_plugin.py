"""The pytest plugin, through real pytest runs (pytester, in subprocesses: the plugin loads
through its pytest11 entry point as a user's pytest loads it), pytest-xdist included."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import linewise
from linewise.reports.by_test import split_by_test

pytest_plugins = ["pytester"]

OPS = '''\
def add(a, b):
    return a + b


def total(n):
    s = 0
    for i in range(n):
        s = add(s, i)
    return s
'''

TESTS = '''\
import pytest

import ops


def test_three():
    for _ in range(3):
        ops.add(1, 2)


def test_total():
    assert ops.total(5) == 10


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    ops.add(n, n)


def test_none():
    pass
'''


def _lines(stats, name):
    """{lineno: hits} of function `name` in a LineStats (its only function of that name)."""
    keys = [key for key in stats.timings if key[2] == name]
    assert len(keys) == 1, keys
    return {ln: h for ln, h, _ in stats.timings[keys[0]] if h}


def _per_test(stats, name):
    """{test node id: {lineno: hits}} of function `name`."""
    out = {}
    for test, _seconds, funcs in split_by_test(stats):
        for key, rows in funcs.items():
            if key[2] == name:
                out[test] = {ln: h for ln, h, _ in rows if h}
    return out


@pytest.fixture
def project(pytester):
    pytester.makepyfile(ops=OPS, test_ops=TESTS)
    return pytester


def _output(pytester, name=os.path.join(".linewise", "pytest.lw")):
    return linewise.load_stats(str(pytester.path / name))


# add: line 2; total: lines 6-9
ADD_HITS = {2: 3 + 5 + 1 + 1}
TOTAL_HITS = {6: 1, 7: 6, 8: 5, 9: 1}
PER_TEST_ADD = {"test_ops.py::test_three": {2: 3}, "test_ops.py::test_total": {2: 5},
                "test_ops.py::test_param[1]": {2: 1}, "test_ops.py::test_param[2]": {2: 1}}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_exact_counts_and_per_test_split(project, xdist):
    result = project.runpytest_subprocess("--linewise", "ops", *xdist)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["linewise: results of 4 test(s) saved to "
                                 f"{os.path.join('.linewise', 'pytest.lw')} *"])
    stats = _output(project)
    assert _lines(stats, "add") == ADD_HITS
    assert _lines(stats, "total") == TOTAL_HITS
    assert _per_test(stats, "add") == PER_TEST_ADD
    assert _per_test(stats, "total") == {"test_ops.py::test_total": TOTAL_HITS}
    processes = [run for run in stats.runs if "pytest.test" not in run]
    if xdist:
        # each worker that ran tests sent its results; the controller merged them
        assert 1 <= len(processes) <= 2
        assert {run["pytest.worker"] for run in processes} <= {"gw0", "gw1"}
    else:
        assert len(processes) == 1 and "pytest.worker" not in processes[0]
    assert "pytest.lines" not in "".join(result.stdout.lines)


def test_target_syntax_function(project):
    result = project.runpytest_subprocess("--linewise", "ops.total")
    assert result.ret == 0
    stats = _output(project)
    assert set(key[2] for key in stats.timings) == {"total"}
    assert _lines(stats, "total") == TOTAL_HITS


def test_marker_profiles_during_its_test_only(pytester):
    pytester.makepyfile(ops=OPS, test_marked='''\
import pytest

import ops


@pytest.mark.linewise.with_args(ops.add)
def test_marked():
    ops.add(1, 1)
    ops.add(2, 2)


def test_unmarked():
    for _ in range(7):
        ops.add(0, 0)


@pytest.mark.linewise("ops.total")
def test_other_marked():
    ops.total(3)
''')
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    stats = _output(pytester)
    assert _lines(stats, "add") == {2: 2}  # test_unmarked's 7 and total's 3 calls: not counted
    assert _lines(stats, "total") == {6: 1, 7: 4, 8: 3, 9: 1}
    assert _per_test(stats, "add") == {"test_marked.py::test_marked": {2: 2}}
    assert [test for test, _, _ in split_by_test(stats)] == [
        "test_marked.py::test_marked", "test_marked.py::test_other_marked"]


def test_marker_with_xdist(pytester):
    pytester.makepyfile(ops=OPS, test_marked='''\
import pytest

import ops


@pytest.mark.linewise("ops.add")
def test_a():
    ops.add(1, 1)


@pytest.mark.linewise(ops.add, ops.total)
def test_b():
    ops.add(1, 1)
    ops.add(1, 1)


def test_c():
    ops.add(1, 1)
''')
    result = pytester.runpytest_subprocess("-n", "2")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    stats = _output(pytester)
    assert _lines(stats, "add") == {2: 3}
    assert _per_test(stats, "add") == {"test_marked.py::test_a": {2: 1},
                                       "test_marked.py::test_b": {2: 2}}


def test_view_prints_the_table(project):
    result = project.runpytest_subprocess("--linewise", "ops", "--linewise-view")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "*= linewise =*",
        "Timer unit: 1e-09 s",
        "Function: add at line 1",
        "*Line #      Hits         Time  Per Hit   % Time  Line Contents",
        "     2        10 * return a + b",
    ])


def test_inert_without_options(pytester):
    """No option, no marker: nothing written, and linewise's engine never imported."""
    pytester.makepyfile(test_quiet='''\
import sys


def test_nothing_of_linewise_loaded():
    assert "linewise.integrations.pytest_plugin" in sys.modules  # the plugin is there
    loaded = sorted(m for m in sys.modules if m.startswith("linewise"))
    assert "linewise._engine" not in loaded, loaded
    assert "linewise.profiler" not in loaded, loaded
    assert "linewise.autoprofile" not in loaded, loaded


def test_linewise_is_not_rewritten():
    # pytest marks an entry-point plugin's whole package for assertion rewriting; the
    # plugin takes linewise back: its modules load as Python loads them
    import linewise.results

    assert type(linewise.results.__loader__).__name__ == "SourceFileLoader"
''')
    result = pytester.runpytest_subprocess("--strict-markers")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert not (pytester.path / ".linewise").exists()
    assert "linewise:" not in result.stdout.str()


def test_marker_with_a_bad_target(pytester):
    pytester.makepyfile(ops=OPS, test_bad='''\
import pytest


@pytest.mark.linewise("ops.nope")
def test_x():
    pass
''')
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: test_bad.py::test_x: @pytest.mark.linewise('ops.nope'): "
                                 "there is no module ops.nope, and ops (*) defines no 'nope'"])


@pytest.mark.parametrize("target, why", [
    ("nosuch_module_x", "--linewise nosuch_module_x: no module, package, file or directory "
                        "named 'nosuch_module_x'"),
    ("ops.nope", "--linewise ops.nope: there is no module ops.nope, and ops (*) defines no "
                 "'nope'"),
    ("missing/dir", "--linewise missing/dir: no such file or directory"),
])
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_bad_target_is_a_usage_error(project, target, why, xdist):
    result = project.runpytest_subprocess("--linewise", target, *xdist)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, errors
    result.stderr.fnmatch_lines([f"ERROR: {why}"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_output_that_is_a_directory_is_a_usage_error(project):
    (project.path / "out").mkdir()
    result = project.runpytest_subprocess("--linewise", "ops", "--linewise-output", "out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --linewise-output out: is a directory *"])
    assert "Traceback" not in result.stderr.str()


def test_output_under_a_file_is_a_usage_error(project):
    (project.path / "afile").write_text("x")
    result = project.runpytest_subprocess("--linewise", "ops", "--linewise-output",
                                          "afile/r.lw")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --linewise-output afile/r.lw: * is not a directory"])


def test_output_directories_are_created(project):
    result = project.runpytest_subprocess("--linewise", "ops", "--linewise-output",
                                          "deep/er/r.lw")
    assert result.ret == 0
    assert _lines(_output(project, "deep/er/r.lw"), "add") == ADD_HITS
    assert not (project.path / ".linewise").exists()


def _linewise(*args, cwd):
    return subprocess.run([sys.executable, "-m", "linewise", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_view_by_test_and_merge_keeps_the_split(project):
    assert project.runpytest_subprocess("--linewise", "ops").ret == 0
    out = project.path / ".linewise" / "pytest.lw"
    done = _linewise("view", "--by-test", str(out), cwd=project.path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("Per test: 4 test(s) ran profiled code, slowest first")
    for test in PER_TEST_ADD:
        assert f"  {test}\n" in text
    assert "test_none" not in text  # it ran no profiled code
    # total's hottest line in test_total, by the times the results hold, with its text
    stats = linewise.load_stats(str(out))
    (rows,) = [rows for test, _, funcs in split_by_test(stats) if test.endswith("test_total")
               for key, rows in funcs.items() if key[2] == "total"]
    lineno = max(rows, key=lambda row: row[2])[0]
    text_of = OPS.splitlines()[lineno - 1].strip()
    block = text.split("  test_ops.py::test_total\n")[1].split("\n\n")[0]
    assert f"hottest line {lineno}: " in block and block.count(text_of) == 1, block
    done = _linewise("view", "--by-test", "--top", "1", str(out), cwd=project.path)
    assert done.returncode == 0, done.stderr
    assert "(the 1 slowest)" in done.stdout
    assert sum(f"  {test}\n" in done.stdout for test in PER_TEST_ADD) == 1
    # merged twice with itself: counts doubled, every test still there
    merged = project.path / "merged.lw"
    done = _linewise("merge", str(merged), str(out), str(out), cwd=project.path)
    assert done.returncode == 0, done.stderr
    stats = linewise.load_stats(str(merged))
    assert _per_test(stats, "add") == {t: {2: 2 * h[2]} for t, h in PER_TEST_ADD.items()}


def test_view_by_test_without_per_test_results(tmp_path):
    profiler = linewise.LineProfiler()

    def f():
        return 1

    profiler.add_function(f)
    profiler.runcall(f)
    path = tmp_path / "plain.lw"
    profiler.dump_stats(str(path))
    done = _linewise("view", "--by-test", str(path), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"linewise view: error: --by-test: {path}: no per-test results in it (they come "
        "from `pytest --linewise TARGET` or @pytest.mark.linewise)"]


def test_run_m_pytest_has_no_rewrite_warning(project):
    """Under `linewise run -m pytest`, linewise is imported before pytest marks the plugin's
    package for rewriting: no PytestAssertRewriteWarning about it."""
    done = _linewise("run", "-p", "ops", "-m", "pytest", "-p", "no:cacheprovider",
                     cwd=project.path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PytestAssertRewriteWarning" not in done.stdout + done.stderr
    assert "5 passed in" in done.stdout and "warnings summary" not in done.stdout


def test_run_with_xdist_points_to_the_plugin(project):
    # --no-children: by default `linewise run` follows the xdist workers too.
    done = _linewise("run", "--no-children", "-p", "ops", "-m", "pytest", "-q", "-p",
                     "no:cacheprovider", "-n", "2", cwd=project.path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "linewise: no function was profiled here: pytest -n ran the tests in pytest-xdist "
        "worker processes; profile them with the pytest plugin: pytest --linewise ops -q "
        "-p no:cacheprovider -n 2")
