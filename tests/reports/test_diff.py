"""linewise.reports.diff: functions matched across two results, lines aligned by source text.

The story test profiles a slow and a fast version of one function, each in its own
process as a user would (edit the file, run again), and checks that the diff pairs the
unchanged lines, shows the replaced line as removed and added, and puts the time where
it went. The rest use synthetic results: lines moving, functions on one side only, zero
times, files moved to another directory."""
import io
import pathlib
import subprocess
import sys
import textwrap

import pytest

from linewise import LineStats, load_stats
from linewise.reports.color import strip_ansi
from linewise.reports.diff import diff_stats
from linewise.reports.diff_text import write_text
from linewise.units import pick_unit

SLOW = '''\
def checksum(data):
    total = 0
    for value in data:
        total += sum(int(c) for c in str(value ** 40))
    return total % 9973


def helper():
    return 1
'''

FAST = '''\
import functools

# a comment pushing everything down


@functools.lru_cache(maxsize=None)
def digits(value):
    return sum(map(int, str(value ** 40)))


def checksum(data):
    # cached digit sums
    total = 0
    for value in data:
        total += digits(value)
    return total % 9973


def extra():
    return 2
'''

RUNNER = '''\
import sys
sys.path.insert(0, sys.argv[1])
import work
from linewise import LineProfiler
names = [n for n in ("checksum", "helper", "extra") if hasattr(work, n)]
lp = LineProfiler(*[getattr(work, n) for n in names])
data = list(range(200)) * 30
lp.runcall(work.checksum, data)
for n in names[1:]:
    lp.runcall(getattr(work, n))
lp.dump_stats(sys.argv[2])
'''


def profile_version(tmp_path, name, source):
    """Results of running `source` as work.py (its own directory, a fresh process)."""
    where = tmp_path / name
    where.mkdir()
    (where / "work.py").write_text(source)
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    out = tmp_path / f"{name}.lw"
    subprocess.run([sys.executable, "-B", str(runner), str(where), str(out)], check=True,
                   timeout=120)
    return load_stats(out)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("story")
    return profile_version(tmp, "before", SLOW), profile_version(tmp, "after", FAST)


def by_text(func):
    return {line.text.strip(): line for line in func.lines}


def test_slow_and_fast_versions(story):
    before, after = story
    diff = diff_stats(before, after, "before.lw", "after.lw")
    names = [(f.name, f.status) for f in diff.functions]
    assert names[0] == ("checksum", "both")  # the biggest change comes first
    assert set(names) == {("checksum", "both"), ("helper", "removed"), ("extra", "added")}

    func = diff.functions[0]
    assert (func.before[1], func.after[1]) == (1, 11)  # the function moved down
    rows = by_text(func)
    # unchanged lines are paired, with their own line numbers on each side
    loop = rows["for value in data:"]
    assert (loop.kind, loop.before_line, loop.after_line) == ("same", 3, 14)
    assert loop.before_hits == loop.after_hits == 6001
    ret = rows["return total % 9973"]
    assert (ret.kind, ret.before_line, ret.after_line) == ("same", 5, 16)
    # the replaced line: removed with its time before, added with its time after
    old = rows["total += sum(int(c) for c in str(value ** 40))"]
    new = rows["total += digits(value)"]
    assert (old.kind, old.before_line, old.after_line) == ("removed", 4, None)
    assert (new.kind, new.before_line, new.after_line) == ("added", None, 15)
    assert old.after_hits is None and new.before_hits is None
    assert old.before_hits == new.after_hits == 6000
    assert old.change == -old.before_time < 0
    assert new.change == new.after_time > 0
    assert rows["# cached digit sums"].kind == "added"
    # the time went: the slow line lost more than the new line costs (the slow line digests
    # a 90-digit number each time, the fast one looks it up: about ten times apart, so load
    # on the machine does not turn them round)
    assert old.before_time > new.after_time
    assert func.change < 0 and diff.change < 0
    assert func.ratio is not None and func.ratio < 1
    assert all(f is func for f, _ in diff.biggest_lines(2))
    assert old in [line for _, line in diff.biggest_lines(4)]

    text = io.StringIO()
    write_text(diff, text)
    out = text.getvalue()
    assert "Comparing before.lw (before) with after.lw (after)" in out
    assert "Function: checksum" in out
    assert "work.py, line 1 -> " in out and "work.py, line 11\n" in out
    assert "(only before)" in out and "(only after)" in out
    assert out.index("Function: checksum") < out.index("Function: helper")


def test_lines_align_when_code_moves_and_blocks_are_inserted():
    v1 = ["def f():", "    a = 1", "    b = 2", "    return a + b"]
    v2 = ["def f():", "    x = 0", "    y = 0", "    a = 1", "", "    b = 2",
          "    return a + b"]
    before = LineStats({("m.py", 10, "f"): [(11, 1, 100), (12, 1, 200), (13, 1, 300)]},
                       sources={("m.py", 10, "f"): v1})
    after = LineStats({("m.py", 30, "f"): [(31, 1, 5), (32, 1, 5), (33, 1, 90),
                                          (35, 1, 250), (36, 1, 300)]},
                      sources={("m.py", 30, "f"): v2})
    func, = diff_stats(before, after).functions
    pairs = [(r.kind, r.before_line, r.after_line) for r in func.lines]
    assert pairs == [("same", 10, 30), ("added", None, 31), ("added", None, 32),
                     ("same", 11, 33), ("added", None, 34), ("same", 12, 35),
                     ("same", 13, 36)]
    rows = by_text(func)
    assert rows["a = 1"].ratio == pytest.approx(0.9)
    assert rows["b = 2"].change == pytest.approx(50e-9)
    assert rows["return a + b"].ratio == pytest.approx(1.0)


def test_indentation_changes_still_align():
    v1 = ["def f(x):", "    y = x", "    return y"]
    v2 = ["def f(x):", "    if x:", "        y = x", "    return y"]
    before = LineStats({("m.py", 1, "f"): [(2, 1, 10), (3, 1, 10)]}, sources={("m.py", 1, "f"): v1})
    after = LineStats({("m.py", 1, "f"): [(2, 1, 1), (3, 1, 10), (4, 1, 10)]},
                      sources={("m.py", 1, "f"): v2})
    func, = diff_stats(before, after).functions
    rows = by_text(func)
    assert (rows["y = x"].before_line, rows["y = x"].after_line) == (2, 3)
    assert rows["if x:"].kind == "added"


def test_without_source_lines_align_by_offset():
    before = LineStats({("nowhere/a.py", 5, "f"): [(6, 2, 100), (7, 2, 50)]})
    after = LineStats({("nowhere/a.py", 8, "f"): [(9, 2, 80), (11, 1, 10)]})
    func, = diff_stats(before, after).functions
    pairs = [(r.kind, r.before_line, r.after_line) for r in func.lines]
    assert pairs == [("same", 6, 9), ("removed", 7, None), ("added", None, 11)]
    out = io.StringIO()
    write_text(diff_stats(before, after), out)
    assert "0.80x" in out.getvalue()


def test_zero_times():
    zero = {("z.py", 1, "f"): [(2, 0, 0), (3, 4, 0)]}
    source = {("z.py", 1, "f"): ["def f():", "    pass", "    return"]}
    diff = diff_stats(LineStats(zero, sources=source), LineStats(zero, sources=source))
    assert diff.change == 0 and diff.ratio is None
    func, = diff.functions
    assert func.ratio is None and all(r.ratio is None for r in func.lines)
    assert diff.biggest_lines() == []
    out = io.StringIO()
    write_text(diff, out)
    text = out.getvalue()
    assert "Total: 0.000 -> 0.000 ns, change 0.000 ns\n" in text
    assert "Biggest changes" not in text
    # from nothing to something, and back
    some = {("z.py", 1, "f"): [(2, 1, 500), (3, 4, 0)]}
    up = diff_stats(LineStats(zero, sources=source), LineStats(some, sources=source))
    assert up.ratio is None and up.change == pytest.approx(500e-9)
    row = by_text(up.functions[0])["pass"]
    assert row.ratio is None and row.before_hits == 0 and row.after_hits == 1
    down = diff_stats(LineStats(some, sources=source), LineStats(zero, sources=source))
    assert down.ratio == 0.0
    write_text(up, io.StringIO())
    write_text(down, io.StringIO())


def test_empty_results():
    diff = diff_stats(LineStats(), LineStats())
    assert diff.functions == [] and diff.change == 0
    out = io.StringIO()
    write_text(diff, out)
    assert "Total: 0.000 -> 0.000 ns" in out.getvalue()


def test_functions_missing_on_one_side():
    a = LineStats({("m.py", 1, "gone"): [(2, 1, 1000)], ("m.py", 5, "kept"): [(6, 1, 10)]},
                  sources={("m.py", 1, "gone"): ["def gone():", "    return 1"],
                           ("m.py", 5, "kept"): ["def kept():", "    return 2"]})
    b = LineStats({("m.py", 5, "kept"): [(6, 1, 10)], ("m.py", 9, "new"): [(10, 1, 3000)]},
                  sources={("m.py", 5, "kept"): ["def kept():", "    return 2"],
                           ("m.py", 9, "new"): ["def new():", "    return 3"]})
    diff = diff_stats(a, b)
    assert [(f.name, f.status) for f in diff.functions] == \
        [("new", "added"), ("gone", "removed"), ("kept", "both")]
    new, gone, kept = diff.functions
    assert [r.kind for r in new.lines] == ["added", "added"]
    assert [r.kind for r in gone.lines] == ["removed", "removed"]
    assert new.change == pytest.approx(3e-6) and new.ratio is None
    assert gone.change == pytest.approx(-1e-6)
    assert diff.change == pytest.approx(2e-6)


def test_matching_by_name_and_moved_directory():
    src = ["def f():", "    return 1"]
    a = LineStats({("/venv-a/lib/pkg/mod.py", 1, "f"): [(2, 1, 100)],
                   ("/venv-a/lib/pkg/other.py", 1, "f"): [(2, 1, 100)]},
                  sources={("/venv-a/lib/pkg/mod.py", 1, "f"): src})
    b = LineStats({("/venv-b/lib/pkg/mod.py", 3, "f"): [(4, 1, 50)]},
                  sources={("/venv-b/lib/pkg/mod.py", 3, "f"): src})
    diff = diff_stats(a, b)
    pairs = {(f.before and f.before[0], f.after and f.after[0]) for f in diff.functions}
    assert pairs == {("/venv-a/lib/pkg/mod.py", "/venv-b/lib/pkg/mod.py"),
                     ("/venv-a/lib/pkg/other.py", None)}
    out = io.StringIO()
    write_text(diff, out)
    assert ("File: /venv-a/lib/pkg/mod.py, line 1 -> /venv-b/lib/pkg/mod.py, line 3"
            in out.getvalue())


def test_same_name_twice_in_a_file_pairs_in_order():
    a = LineStats({("m.py", 10, "<lambda>"): [(10, 1, 1)], ("m.py", 20, "<lambda>"): [(20, 1, 2)]})
    b = LineStats({("m.py", 12, "<lambda>"): [(12, 1, 3)], ("m.py", 22, "<lambda>"): [(22, 1, 4)],
                   ("m.py", 40, "<lambda>"): [(40, 1, 5)]})
    pairs = {(f.before and f.before[1], f.after and f.after[1])
             for f in diff_stats(a, b).functions}
    assert pairs == {(10, 12), (20, 22), (None, 40)}


def test_units_of_the_two_results_may_differ():
    a = LineStats({("m.py", 1, "f"): [(2, 1, 3)]}, unit=1e-6)       # 3 us
    b = LineStats({("m.py", 1, "f"): [(2, 1, 1500)]}, unit=1e-9)    # 1.5 us
    func, = diff_stats(a, b).functions
    assert func.ratio == pytest.approx(0.5)
    assert pick_unit([3e-6]) == (1e-6, "us")
    assert pick_unit([0.0]) == (1e-9, "ns")
    assert pick_unit([2.5]) == (1.0, "s")


def test_color_only_when_asked(story):
    before, after = story
    diff = diff_stats(before, after, "before.lw", "after.lw")
    plain, coloured = io.StringIO(), io.StringIO()
    write_text(diff, plain)
    write_text(diff, coloured, color=True)
    assert "\x1b[" not in plain.getvalue()
    assert "\x1b[32m" in coloured.getvalue()  # a win, in green
    assert "\x1b[1;31m-\x1b[0m" in coloured.getvalue()  # the removed line's mark
    assert strip_ansi(coloured.getvalue()) == plain.getvalue()
    no_highlight = io.StringIO()
    write_text(diff, no_highlight, color=True, highlight=False)
    assert strip_ansi(no_highlight.getvalue()) == plain.getvalue()


def test_diff_of_the_walkthrough_example_is_importable():
    # examples/diff_walkthrough.py needs scikit-learn; here only that it compiles.
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "diff_walkthrough.py"
    compile(path.read_text(), str(path), "exec")
    assert "numpy.linalg.lstsq" in textwrap.dedent(path.read_text())
