"""kernprof's command line, flag for flag, under `linewise run` and `linewise view`.

Each test runs linewise (and, where comparing, kernprof or line_profiler) in a subprocess on
programs written into tmp_path, and checks exit statuses, output and the results files.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from linewise import load_stats
from conftest import clean_env as _env, one_error_line, run_linewise

PROG = textwrap.dedent("""\
    @profile
    def work(n):
        total = 0
        for i in range(n):
            total += i
        return total


    def other(k):
        return k * 2


    work(100)
    for j in range(7):
        other(j)
""")

MOD = textwrap.dedent("""\
    def f(n):
        return n + 1


    def g(n):
        return n * 2


    def h(n):
        return n - 1
""")

USE_MOD = "import mod\nfor i in range(5):\n    mod.f(i)\nfor i in range(3):\n    mod.g(i)\nmod.h(0)\n"


def lw(*args, cwd, env=None, timeout=120):
    return run_linewise(*args, cwd=cwd, env=env, timeout=timeout)


@pytest.fixture
def work(tmp_path):
    (tmp_path / "prog.py").write_text(PROG)
    (tmp_path / "mod.py").write_text(MOD)
    (tmp_path / "use_mod.py").write_text(USE_MOD)
    return tmp_path


def hits_by_name(stats) -> dict:
    """{function name: {line: hits}} of the results."""
    return {key[2]: {line: hits for line, hits, _ in timings}
            for key, timings in stats.timings.items()}


def table_hits(text) -> dict:
    """{function name: {line: hits}} read from a line_profiler-style text report."""
    found, name = {}, None
    for line in text.splitlines():
        m = re.match(r"Function: (\S+) at line", line)
        if m:
            name = m.group(1)
            found[name] = {}
            continue
        m = re.match(r"\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+\S+", line)
        if name is not None and m:
            found[name][int(m.group(1))] = int(m.group(2))
    return found


# -- -p a,b ------------------------------------------------------------------------------


def test_prof_mod_takes_comma_separated_targets(work):
    comma = lw("run", "-q", "-o", "comma.lw", "-p", "mod.f,mod.g", "use_mod.py", cwd=work)
    assert comma.returncode == 0, comma.stderr
    repeated = lw("run", "-q", "-o", "rep.lw", "-p", "mod.f", "-p", "mod.g", "use_mod.py",
                  cwd=work)
    assert repeated.returncode == 0, repeated.stderr
    want = {"f": {2: 5}, "g": {6: 3}}
    assert hits_by_name(load_stats(work / "comma.lw")) == want
    assert hits_by_name(load_stats(work / "rep.lw")) == want


def test_prof_mod_empty_target_drops_earlier_ones_and_comma_paths_stay_whole(work):
    # As kernprof: an empty -p clears the targets before it.
    result = lw("run", "-q", "-o", "out.lw", "-p", "mod.f", "-p", "", "-p", "mod.h",
                "use_mod.py", cwd=work)
    assert result.returncode == 0, result.stderr
    assert hits_by_name(load_stats(work / "out.lw")) == {"h": {10: 1}}
    # A file whose name has a comma is one target, not two.
    (work / "a,b.py").write_text("def z():\n    return 3\n\nz()\nz()\n")
    result = lw("run", "-q", "-o", "ab.lw", "-p", "a,b.py", "a,b.py", cwd=work)
    assert result.returncode == 0, result.stderr
    assert hits_by_name(load_stats(work / "ab.lw")) == {"z": {2: 2}}


# -- -i / --output-interval ----------------------------------------------------------------

FOREVER = textwrap.dedent("""\
    import sys

    def step(i):
        x = i * 2
        return x

    open(sys.argv[1], "w").close()  # started
    i = 0
    while True:
        step(i)
        i += 1
""")


def test_output_interval_leaves_a_snapshot_when_killed(work):
    (work / "forever.py").write_text(FOREVER)
    out = work / "snap.lw"
    proc = subprocess.Popen([sys.executable, "-m", "linewise", "run", "-i", "1", "-p",
                             "forever.step", "-o", out, "forever.py", work / "started"],
                            cwd=work, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not out.exists():  # written atomically: it exists only once complete
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no snapshot written"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    stats = load_stats(out)
    (lines,) = hits_by_name(stats).values()
    first, second = lines[4], lines[5]
    assert first >= 1
    assert 0 <= first - second <= 1  # a snapshot may fall between the two lines of a call


def test_output_interval_still_saves_at_the_end(work):
    result = lw("run", "-i", "-o", "end.lw", "prog.py", cwd=work)  # bare -i: every second
    assert result.returncode == 0, result.stderr
    assert hits_by_name(load_stats(work / "end.lw")) == {
        "work": {3: 1, 4: 101, 5: 100, 6: 1}}
    result = lw("run", "--output-interval", "3", "-q", "prog.py", cwd=work)
    assert result.returncode == 0, result.stderr
    assert hits_by_name(load_stats(work / "prog.py.lw"))["work"][5] == 100


def test_output_interval_below_a_second_is_refused(work):
    line = one_error_line(lw("run", "-i", "0.5", "prog.py", cwd=work))
    assert "-i/--output-interval: must be at least 1 second, not 0.5" in line


# -- the other flags -----------------------------------------------------------------------


def test_version(work):
    from linewise import __version__

    for flag in ("-V", "--version"):
        result = lw("run", flag, cwd=work)
        assert (result.returncode, result.stdout) == (0, f"linewise {__version__}\n")


def test_builtin_alone_is_refused_with_l_accepted(work):
    line = one_error_line(lw("run", "-b", "prog.py", cwd=work))
    assert "-b without -l is kernprof's cProfile mode" in line and "drop -b" in line
    assert not (work / "prog.py.lw").exists()
    result = lw("run", "-lb", "-q", "prog.py", cwd=work)
    assert result.returncode == 0, result.stderr
    assert hits_by_name(load_stats(work / "prog.py.lw"))["work"][5] == 100


def test_summarize_rich_outfile_and_friends(work):
    (work / "setup.py").write_text("import builtins\nbuiltins.SETUP_RAN = 1\n")
    (work / "prog2.py").write_text(PROG + "assert SETUP_RAN == 1\n")
    result = lw("run", "-l", "-v", "-r", "-z", "-u", "1e-3", "--summarize", "-s", "setup.py",
                "--outfile", "x.lw", "prog2.py", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" in result.stdout  # -r: colour, even though stdout is a pipe
    assert "Timer unit: 0.001 s" in result.stdout
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert re.search(r"seconds - .*prog2\.py:1 - work$", plain, re.MULTILINE)  # summary
    assert hits_by_name(load_stats(work / "x.lw"))["work"][5] == 100
    result = lw("run", "-q", "-o", "c.lw", "-p", "mod", "-c", "import mod\nmod.f(1)",
                cwd=work)
    assert (result.returncode, result.stderr) == (0, "")
    assert hits_by_name(load_stats(work / "c.lw")) == {"f": {2: 1}, "g": {}, "h": {}}
    result = lw("run", "-v", "-p", "mod", "-m", "use_mod", cwd=work)
    assert result.returncode == 0, result.stderr
    assert table_hits(result.stdout) == {"f": {2: 5}, "g": {6: 3}, "h": {10: 1}}


def test_view_rmt_as_line_profiler_reads_it(work):
    (work / "two.py").write_text(textwrap.dedent("""\
        @profile
        def slow():
            return sum(range(200000))

        @profile
        def fast():
            return 1

        slow()
        fast()
    """))
    assert lw("run", "-q", "two.py", cwd=work).returncode == 0
    rmt = lw("view", "-rmt", "two.py.lw", cwd=work)
    assert rmt.returncode == 0, rmt.stderr
    long = lw("view", "--color=always", "--summary", "--sort", "two.py.lw", cwd=work)
    assert rmt.stdout == long.stdout
    assert "\x1b[" in rmt.stdout
    plain = lw("view", "-mt", "two.py.lw", cwd=work).stdout
    functions = re.findall(r"Function: (\w+) at line", plain)
    assert functions == ["fast", "slow"]  # -t: ascending total time
    summary = re.findall(r"seconds - \S*two\.py:\d+ - (\w+)$", plain, re.MULTILINE)
    assert summary == ["fast", "slow"]  # -m: the summary


# -- the builtin profile object ----------------------------------------------------------

OBJECT = textwrap.dedent("""\
    def f(n):
        return n + 1


    def g(n):
        return n * 2


    profile.add_function(f)
    profile.add_function(g)
    f(1)
    profile.disable()
    f(2)  # not profiled
    g(2)  # not profiled
    with profile:
        g(3)
    profile.enable()
    f(4)
    profile.print_stats()
    profile.dump_stats("dumped.lw")
""")


def test_builtin_profile_is_a_profiler_object(work):
    (work / "obj.py").write_text(OBJECT)
    result = lw("run", "-q", "-o", "run.lw", "obj.py", cwd=work)
    assert result.returncode == 0, result.stderr
    want = {"f": {2: 2}, "g": {6: 1}}
    assert table_hits(result.stdout) == want
    assert hits_by_name(load_stats(work / "dumped.lw")) == want
    assert hits_by_name(load_stats(work / "run.lw")) == want


# -- line_profiler's environment and configuration --------------------------------------------


def test_line_profile_env_is_linewise_explicit_mode(work):
    (work / "e.py").write_text("from linewise import profile\n\n@profile\ndef f():\n"
                               "    return 1\n\nf()\nf()\n")
    result = subprocess.run([sys.executable, "e.py"], cwd=work, capture_output=True,
                            text=True, env=_env({"LINE_PROFILE": "1",
                                                 "LINEWISE_OUTPUT": "e.lw"}), timeout=60)
    assert result.returncode == 0, result.stderr
    assert hits_by_name(load_stats(work / "e.lw")) == {"f": {5: 2}}


def test_kernprof_config_table_is_read_with_a_note(work):
    (work / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.line_profiler.kernprof]
        line-by-line = true
        outfile = "from_kernprof.lw"
        summarize = true
        verbose = 1
        preimports = true
        prof-mod = ["mod.g"]
    """))
    result = lw("run", "use_mod.py", cwd=work)
    assert result.returncode == 0, result.stderr
    note = result.stderr.splitlines()[0]
    assert note == (f"linewise: note: read [tool.line_profiler.kernprof] from "
                    f"{work / 'pyproject.toml'} (there is no [tool.linewise]); ignored, no "
                    "meaning for linewise: preimports")
    assert re.search(r"seconds - .*mod\.py:5 - g$", result.stdout, re.MULTILINE)
    assert hits_by_name(load_stats(work / "from_kernprof.lw")) == {"g": {6: 3}}
    # [tool.linewise] wins, and then nothing is said.
    with open(work / "pyproject.toml", "a") as f:
        f.write('\n[tool.linewise]\noutput = "own.lw"\n')
    result = lw("run", "-q", "prog.py", cwd=work)
    assert (result.returncode, result.stderr) == (0, "")
    assert (work / "own.lw").exists()


# -- differential against line_profiler ----------------------------------------------------

NAMESPACE = textwrap.dedent("""\
    import functools
    from os.path import join  # imported: not added


    def top(x):
        return x + 1


    def deco(f):
        @functools.wraps(f)
        def wrapper(*a):
            return f(*a)
        return wrapper


    @deco
    def wrapped(x):
        return x * 2


    part = functools.partial(top, 1)
    lam = lambda y: y


    class Shape:
        kind = "shape"

        def __init__(self, n):
            self.n = n

        @property
        def double(self):
            return self.n * 2

        @double.setter
        def double(self, v):
            self.n = v / 2

        @staticmethod
        def make():
            return Shape(1)

        @classmethod
        def build(cls):
            return cls(2)

        class Inner:
            def go(self):
                return 1

            class Deeper:
                def deep(self):
                    return 2

        other = top


    class Empty:
        x = 1


    class Sub(Shape):
        def area(self):
            return 0
""")

COUNTS = textwrap.dedent("""\
    import sys, warnings
    warnings.simplefilter("ignore")
    sys.path.insert(0, ".")
    LineProfiler = __import__(sys.argv[1]).LineProfiler
    import ns
    p = LineProfiler()
    print(p.add_module(ns), p.add_module(ns), LineProfiler().add_class(ns.Shape),
          LineProfiler().add_class(ns.Empty), LineProfiler().add_class(ns.Sub),
          LineProfiler().add_class(ns.Shape.Inner))
""")


def test_add_module_and_add_class_count_as_line_profiler_does(work):
    pytest.importorskip("line_profiler")
    (work / "ns.py").write_text(NAMESPACE)
    (work / "counts.py").write_text(COUNTS)
    answers = []
    for name in ("line_profiler", "linewise"):
        result = subprocess.run([sys.executable, "counts.py", name], cwd=work, env=_env(),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        answers.append(result.stdout)
    assert answers[0] == answers[1] == "7 7 6 0 1 2\n"


def test_same_hits_as_kernprof(work):
    kernprof = os.path.join(os.path.dirname(sys.executable), "kernprof")
    if not os.path.exists(kernprof):
        pytest.skip("kernprof is not installed in this venv")
    theirs = subprocess.run([kernprof, "-l", "-v", "-o", "k.lprof", "prog.py"], cwd=work,
                            env=_env(), capture_output=True, text=True, timeout=120)
    assert theirs.returncode == 0, theirs.stderr
    ours = lw("run", "-l", "-v", "prog.py", cwd=work)
    assert ours.returncode == 0, ours.stderr
    assert table_hits(ours.stdout) == table_hits(theirs.stdout) == {
        "work": {3: 1, 4: 101, 5: 100, 6: 1}}


def test_view_markdown_tables(work):
    (work / "md.py").write_text(textwrap.dedent("""\
        @profile
        def pipes(a, b):
            c = a | b  # a `pipe`
            return c

        for i in range(3):
            pipes(i, 1)
    """))
    assert lw("run", "-q", "md.py", cwd=work).returncode == 0
    result = lw("view", "--markdown", "-m", "md.py.lw", cwd=work)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Timer unit: 1e-09 s\n\n### `pipes`\n")
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    table = [r for r in rows if re.match(r"\| \d+ \|", r)]
    # Every row has its seven cell borders: the program's own | is escaped.
    assert all(len(re.findall(r"(?<!\\)\|", r)) == 7 for r in table), table
    assert [r.split(" | ")[:2] for r in table] == [
        ["| 1", ""], ["| 2", ""], ["| 3", "3"], ["| 4", "3"]]
    assert "``     c = a \\| b  # a `pipe` ``" in table[2]
    assert re.search(r"^\| \d+\.\d{6} \| `pipes` \| `\S*md\.py`:1 \|$", out, re.MULTILINE)
    both = lw("view", "--markdown", "--html", "x.html", "md.py.lw", cwd=work)
    assert "not allowed with argument" in one_error_line(both)
