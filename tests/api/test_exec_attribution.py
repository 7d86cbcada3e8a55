"""Code without a file (exec, -c, stdin): results keyed by the identity of its source.

Two different functions made by exec() with the same (filename, line, name) are two
entries; the same source exec'd twice is one; under `linewise run -c` only the program's
own functions get the program's source.
"""
from __future__ import annotations

import os
import subprocess
import sys

from linewise import LineProfiler, load_stats

SRC_A = "def f(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n"
SRC_B = "def f(n):\n    return n * 2\n"


def _make(source, name="f"):
    namespace = {}
    exec(source, namespace)
    return namespace[name]


def test_two_sources_same_name_and_line_are_two_entries():
    fa, fb = _make(SRC_A), _make(SRC_B)
    lp = LineProfiler(fa, fb)
    with lp:
        fa(3)
        fb(5)
        fb(6)
    timings = lp.get_stats().timings
    assert sorted(timings) == [("<string>", 1, "f"), ("<string>#2", 1, "f")]
    hits_a = {ln: h for ln, h, _ in timings[lp.key_for(fa.__code__)]}
    hits_b = {ln: h for ln, h, _ in timings[lp.key_for(fb.__code__)]}
    assert hits_a == {2: 1, 3: 4, 4: 3, 5: 1}
    assert hits_b == {2: 2}


def test_same_source_twice_is_one_entry():
    f1, f2 = _make(SRC_B), _make(SRC_B)
    assert f1.__code__ is not f2.__code__
    lp = LineProfiler(f1, f2)
    with lp:
        f1(1)
        f2(2)
    timings = lp.get_stats().timings
    assert list(timings) == [("<string>", 1, "f")]
    assert {ln: h for ln, h, _ in timings[("<string>", 1, "f")]} == {2: 2}


def test_real_files_still_sum_by_name_and_line(tmp_path):
    # A module reloaded after an edit: one entry, as before.
    lp = LineProfiler()
    fa = _make(compile(SRC_A, str(tmp_path / "m.py"), "exec"))
    fb = _make(compile(SRC_B, str(tmp_path / "m.py"), "exec"))
    lp.add_function(fa)
    lp.add_function(fb)
    with lp:
        fa(1)
        fb(1)
    assert list(lp.get_stats().timings) == [(str(tmp_path / "m.py"), 1, "f")]


PROGRAM = (
    "@profile\n"
    "def f():\n"
    "    x = 2\n"
    "    return x\n"
    "ns = {}\n"
    "exec('@profile\\ndef f():\\n    return 1\\n', ns)\n"
    "f(); f(); ns['f']()\n"
)


def test_run_c_gives_exec_code_no_borrowed_source(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LINEWISE", "LINEWISE_OUTPUT")}
    result = subprocess.run(
        [sys.executable, "-m", "linewise", "run", "-v", "-o", "out.lw", "-c", PROGRAM],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    stats = load_stats(str(tmp_path / "out.lw"))
    assert sorted(stats.timings) == [("<string>", 1, "f"), ("<string>#2", 1, "f")]
    # The program's own f (seen first) has the program's lines...
    assert "".join(stats.sources[("<string>", 1, "f")]).startswith("@profile\ndef f():\n    x = 2")
    hits = {ln: h for ln, h, _ in stats.timings[("<string>", 1, "f")]}
    assert hits == {3: 2, 4: 2}
    # ...and the exec'd one is an entry of its own, not given them: its source is unknown.
    assert {ln: h for ln, h, _ in stats.timings[("<string>#2", 1, "f")]} == {3: 1}
    assert ("<string>#2", 1, "f") not in stats.sources
    assert "Could not find file <string>#2\n" in result.stdout
