"""line_profiler's results files (.lprof): real ones read (5.1 made here, 4.1.3 committed),
ours read by the real line_profiler, a mix merged and diffed, and hostile or broken pickles
refused in one line with nothing run."""
from __future__ import annotations

import functools
import json
import os
import pickle
import re
import struct
import sys
import textwrap

import pytest

from linewise import lprof
from linewise.results import LineStats, ResultsError
from linewise.store import load_stats
from conftest import one_error_line, run_linewise, run_python

pytest.importorskip("line_profiler")

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
LPROF_413 = os.path.join(DATA, "line_profiler-4.1.3.lprof")

PROGRAM = textwrap.dedent("""\
    import json, sys


    def triangle(n):
        total = 0
        for i in range(n):
            total += i
        return total


    class Shape:
        def area(self, w, h):
            return w * h


    def main():
        triangle(7)
        for k in range(3):
            Shape().area(k, 2)


    if __name__ == "__main__":
        main()
""")


lw = run_linewise
py = run_python
one_error_line = functools.partial(one_error_line, status=1)


def hits_of(stats) -> dict:
    """{(basename, first_lineno, name): {lineno: hits}}: comparable across machines."""
    return {(os.path.basename(f), first, name): {ln: h for ln, h, _t in lines}
            for (f, first, name), lines in stats.timings.items()}


@pytest.fixture
def prog(tmp_path):
    (tmp_path / "shapes.py").write_text(PROGRAM)
    return tmp_path


def _real_lprof(where, name="real.lprof"):
    """A .lprof written by the installed line_profiler's dump_stats; returns its path and
    the timings and unit line_profiler itself had (as JSON-able lists)."""
    script = where / "make_lprof.py"
    script.write_text(textwrap.dedent(f"""\
        import json, sys
        sys.path.insert(0, {str(where)!r})
        from line_profiler import LineProfiler
        import shapes
        lp = LineProfiler(shapes.triangle, shapes.Shape.area)
        lp.runcall(shapes.main)
        lp.dump_stats({name!r})
        s = lp.get_stats()
        print(json.dumps({{"unit": s.unit,
                           "timings": [[list(k), [list(r) for r in v]]
                                       for k, v in s.timings.items()]}}))
    """))
    result = py(script, cwd=where)
    assert result.returncode == 0, result.stderr
    return where / name, json.loads(result.stdout)


# -- real files from line_profiler ---------------------------------------------------------


# line_profiler names a method by co_qualname, which Python 3.10 does not have: there it
# names it by co_name ("area"), where linewise still says "Shape.area".
LP_AREA = "Shape.area" if sys.version_info >= (3, 11) else "area"


def test_line_profiler_5_file_loads_with_its_exact_timings(prog):
    path, truth = _real_lprof(prog)
    stats = load_stats(path)
    assert stats.unit == truth["unit"]
    assert stats.timings == {tuple(k): [tuple(r) for r in v] for k, v in truth["timings"]}
    shapes = str(prog / "shapes.py")
    assert hits_of(stats) == {("shapes.py", 4, "triangle"): {5: 1, 6: 8, 7: 7, 8: 1},
                              ("shapes.py", 12, LP_AREA): {13: 3}}
    assert (shapes, 4, "triangle") in stats.timings
    assert stats.sources == {} and stats.sources_complete


def test_line_profiler_4_file_loads():
    stats = load_stats(LPROF_413)
    assert stats.unit == 1e-9
    assert hits_of(stats) == {("demo.py", 4, "triangle"): {5: 1, 6: 8, 7: 7, 8: 1},
                              ("demo.py", 12, "area"): {13: 3}}
    assert all(t > 0 for lines in stats.timings.values() for _l, _h, t in lines)


def test_python2_style_pickle_loads():
    # What line_profiler 2.x on Python 2 wrote: protocol 2, GLOBAL "line_profiler
    # LineStats", byte strings, and cPickle's memo counting from 1.
    data = (b"\x80\x02cline_profiler\nLineStats\nq\x01)\x81q\x02}q\x03("
            b"U\x07timingsq\x04}q\x05("
            b"U\x04a.pyq\x06K\x01U\x01fq\x07\x87q\x08"
            b"]q\t(K\x02K\x03\x8a\x05\x00\xe4\x0bT\x02\x87q\nK\x06K\x03J\xff\xff\xff\xff\x87q\x0be"
            b"h\x06K\x05U\x01gq\x0c\x87q\r]q\x0eu"  # "a.py" again, from the memo
            b"U\x04unitq\x0fG" + struct.pack(">d", 1e-6) + b"ub.")
    stats = lprof.loads(data)
    assert stats.unit == 1e-6
    assert stats.timings == {("a.py", 1, "f"): [(2, 3, 10000000000), (6, 3, -1)],
                             ("a.py", 5, "g"): []}


def test_detected_by_content_not_by_name(prog, tmp_path):
    path, _truth = _real_lprof(prog)
    renamed = tmp_path / "results.lw"
    renamed.write_bytes(path.read_bytes())
    assert hits_of(load_stats(renamed)) == hits_of(load_stats(path))


def test_view_says_no_source_is_stored(prog):
    path, _truth = _real_lprof(prog)
    result = lw("view", path, cwd=prog)
    assert result.returncode == 0, result.stderr
    assert "The results hold no source for" in result.stdout
    assert "--source-from-disk" in result.stdout
    assert "total += i" not in result.stdout
    shown = lw("view", "--source-from-disk", path, cwd=prog)
    assert shown.returncode == 0, shown.stderr
    assert "total += i" in shown.stdout


# -- writing .lprof: line_profiler reads what linewise writes ----------------------------


def _line_profiler_table(path, cwd) -> dict:
    """`python -m line_profiler PATH`: {function name: {lineno: hits}} from its table
    (functions in files other than shapes.py by file and first counted line: "demo.py@13")."""
    result = py("-m", "line_profiler", path, cwd=cwd)
    assert result.returncode == 0, result.stderr
    table: dict = {}
    current = filename = None
    missing = False  # line_profiler names no function whose file is gone
    for line in result.stdout.splitlines():
        if line.startswith("Total time:"):
            current, missing = None, False
        m = re.match(r"File: (.+)$", line)
        if m:
            filename = os.path.basename(m.group(1))
        m = re.match(r"Could not find file (.+)$", line)
        if m:
            filename, missing = os.path.basename(m.group(1)), True
        m = re.match(r"Function: (\S+) at line \d+", line)
        if m and filename != "shapes.py":
            missing = True  # named as where the file is gone: by file and first line
            continue
        if m:
            assert m.group(1) not in table, m.group(1)
            current = table[m.group(1)] = {}
            continue
        m = re.match(r"\s*(\d+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+", line)
        if m and current is None and missing:
            # Named by its file and first counted line: "demo.py@5".
            current = table[f"{filename}@{m.group(1)}"] = {}
        if m and current is not None:
            current[int(m.group(1))] = int(m.group(2))
    return table


def _by_name(stats) -> dict:
    return {name: {ln: h for ln, h, _t in lines if h}
            for (_f, _first, name), lines in stats.timings.items()}


def test_dump_stats_lprof_is_read_by_line_profiler(prog):
    # Before: dump_stats("x.lprof") wrote linewise's format; line_profiler's loader then
    # failed with a ValueError.
    sys.path.insert(0, str(prog))
    try:
        import shapes
        from linewise import LineProfiler

        profiler = LineProfiler(shapes.triangle, shapes.Shape.area)
        profiler.runcall(shapes.main)
        stats = profiler.get_stats()
        profiler.dump_stats(str(prog / "x.lprof"))
    finally:
        sys.path.remove(str(prog))
        sys.modules.pop("shapes", None)
    assert lprof.is_lprof((prog / "x.lprof").read_bytes()[:2])
    assert _line_profiler_table("x.lprof", prog) == _by_name(stats) == {
        "triangle": {5: 1, 6: 8, 7: 7, 8: 1}, "Shape.area": {13: 3}}
    # line_profiler's own loader gets the same timings and unit, times included.
    check = py("-c", "import json, sys; from line_profiler import LineStats; "
               "s = LineStats.from_files('x.lprof'); "
               "print(json.dumps([s.unit, sorted([list(k), [list(r) for r in v]] "
               "for k, v in s.timings.items())]))", cwd=prog)
    assert check.returncode == 0, check.stderr
    unit, timings = json.loads(check.stdout)
    assert unit == stats.unit
    assert {tuple(k): [tuple(r) for r in v] for k, v in timings} == stats.timings
    # And back: linewise reads its own .lprof to the same timings.
    assert load_stats(prog / "x.lprof") == stats


def test_run_output_lprof_is_read_by_line_profiler(prog):
    result = lw("run", "-q", "-p", "shapes.triangle", "-p", "shapes.Shape.area",
                "-o", "out.lprof", "shapes.py", cwd=prog)
    assert result.returncode == 0, result.stderr
    assert _line_profiler_table("out.lprof", prog) == {
        "triangle": {5: 1, 6: 8, 7: 7, 8: 1}, "Shape.area": {13: 3}}


def test_merge_mix_and_export(prog):
    path, _truth = _real_lprof(prog)
    assert lw("run", "-q", "-p", "shapes.triangle", "-p", "shapes.Shape.area", "-o",
              "ours.lw", "shapes.py", cwd=prog).returncode == 0
    merged = lw("merge", "-q", "both.lw", "ours.lw", path, LPROF_413, cwd=prog)
    assert merged.returncode == 0, merged.stderr
    stats = load_stats(prog / "both.lw")
    areas = ({("shapes.py", 12, "Shape.area"): {13: 6}} if LP_AREA == "Shape.area" else
             {("shapes.py", 12, "Shape.area"): {13: 3}, ("shapes.py", 12, "area"): {13: 3}})
    assert hits_of(stats) == {("shapes.py", 4, "triangle"): {5: 2, 6: 16, 7: 14, 8: 2},
                              **areas,
                              ("demo.py", 4, "triangle"): {5: 1, 6: 8, 7: 7, 8: 1},
                              ("demo.py", 12, "area"): {13: 3}}
    # Export: by the suffix, or by --format whatever the name.
    for out, extra in (("both.lprof", []), ("both.bin", ["--format", "lprof"])):
        result = lw("merge", "-q", *extra, out, "both.lw", cwd=prog)
        assert result.returncode == 0, result.stderr
        assert lprof.is_lprof((prog / out).read_bytes()[:2])
        assert load_stats(prog / out) == stats
    table = _line_profiler_table("both.bin", prog)
    # tests/data's file was made in /tmp/lpdemo (line_profiler names no function whose
    # file is gone, so the other file's tables are named by their first counted line).
    demo = ("demo.py@5", "demo.py@13")
    expected = {"triangle": {5: 2, 6: 16, 7: 14, 8: 2}, "Shape.area": {13: 6},
                demo[0]: {5: 1, 6: 8, 7: 7, 8: 1}, demo[1]: {13: 3}}
    if LP_AREA == "area":
        expected["Shape.area"] = {13: 3}
        expected["area"] = {13: 3}
    assert table == expected
    # --format lw writes linewise's format even to a .lprof name.
    assert lw("merge", "-q", "--format", "lw", "lw.lprof", path, cwd=prog).returncode == 0
    assert (prog / "lw.lprof").read_bytes()[:4] == b"\x89LWR"
    view = lw("view", "both.lw", path, cwd=prog)
    assert view.returncode == 0, view.stderr
    diff = lw("diff", path, "ours.lw", cwd=prog)
    assert diff.returncode == 0, diff.stderr


# -- hostile pickles: refused in one line, nothing run -------------------------------------


def _frame(body: bytes, protocol=2) -> bytes:
    return bytes([0x80, protocol]) + body


def _global(module, name) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _stack_global(module, name) -> bytes:
    return _str(module) + _str(name) + b"\x93"


class _Evil:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _lineStats_around(state_pickle: bytes) -> bytes:
    """A LineStats header around the body of a protocol-2 pickle of the state."""
    assert state_pickle[:2] == b"\x80\x02" and state_pickle[-1:] == b"."
    return (b"\x80\x02" + _global("line_profiler._line_profiler", "LineStats") + b")\x81"
            + state_pickle[2:-1] + b"b.")


def _hostile(marker):
    """(name, pickle bytes, the words the refusal must hold) for pickles that would create
    `marker` or set LW_PWNED if they ran."""
    touch = f"touch {marker}"
    create = f"open({str(marker)!r}, 'w').close(); __import__('os').environ['LW_PWNED'] = '1'"
    nested = pickle.dumps({"timings": {("f.py", 1, "f"): [(1, _Evil(eval, create), 0)]},
                           "unit": 1e-9}, protocol=2)
    return [
        ("os.system", _frame(_global("os", "system") + _str(touch) + b"\x85R."),
         "it asks for os.system, which a line_profiler results file never contains"),
        ("builtins.eval", _frame(_stack_global("builtins", "eval") + _str(create)
                                 + b"\x85R.", 4), "it asks for builtins.eval"),
        ("subprocess.Popen", _frame(_global("subprocess", "Popen") + _str("touch") + _str(
            str(marker)) + b"\x86\x85R."), "it asks for subprocess.Popen"),
        ("__reduce__", pickle.dumps(_Evil(os.system, touch), protocol=5),
         f"it asks for {os.system.__module__}.system"),
        ("__reduce__ exec", pickle.dumps(_Evil(exec, create)), "it asks for builtins.exec"),
        ("nested reduce", _lineStats_around(nested), "it asks for __builtin__.eval"),
        ("reduce on the class", _frame(_global("line_profiler._line_profiler", "LineStats")
                                       + b")R."), "pickle opcode REDUCE"),
        ("other name", _frame(_global("line_profiler.line_profiler", "LineProfiler")
                              + b")\x81."),
         "it asks for line_profiler.line_profiler.LineProfiler"),
        ("dotted name", _frame(_stack_global("line_profiler.line_profiler",
                                             "LineStats.__init__.__globals__") + b"."),
         "it asks for line_profiler.line_profiler.LineStats.__init__.__globals__"),
        ("copyreg", _frame(_global("copyreg", "_reconstructor") + b"."),
         "it asks for copyreg._reconstructor"),
        ("INST", b"(S'" + touch.encode() + b"'\nios\nsystem\n.", "pickle opcode INST"),
        ("OBJ", _frame(b"(" + _global("line_profiler._line_profiler", "LineStats") + b"o."),
         "pickle opcode OBJ"),
        ("NEWOBJ with arguments", _frame(_global("line_profiler._line_profiler", "LineStats")
                                         + _str(touch) + b"\x85\x81."),
         "creates LineStats with arguments"),
        ("BINPERSID", _frame(_str(touch) + b"Q."), "persistent id"),
        ("PERSID", b"P" + touch.encode() + b"\n.", "persistent id"),
        ("EXT1", _frame(b"\x82\x01."), "extension registry"),
        ("EXT4", _frame(b"\x84\xff\xff\xff\x7f."), "extension registry"),
        ("huge memo", _frame(b"N" + b"r\xff\xff\xff\x7f" + b"."), "memo index 2147483647"),
        ("memo never stored", _frame(b"j\x00\x00\x01\x00."), "memo index 65536"),
        ("mark bomb", _frame(b"(" * 100000 + b"."), "nests more than"),
        ("long number", b"L" + b"9" * 4000 + b"L\n.", "digit number"),
    ]


def _hostile_ids():
    return [name for name, _data, _words in _hostile("x")]


@pytest.mark.parametrize("case", _hostile_ids())
def test_hostile_pickle_refused_with_nothing_run(tmp_path, case, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.delenv("LW_PWNED", raising=False)
    name, data, words = next(c for c in _hostile(marker) if c[0] == case)
    path = tmp_path / "hostile.lprof"
    path.write_bytes(data)
    before = set(sys.modules)
    with pytest.raises(ResultsError) as info:
        load_stats(path)
    message = str(info.value)
    assert "\n" not in message
    assert words in message, message
    assert not marker.exists() and "LW_PWNED" not in os.environ
    assert not {m for m in set(sys.modules) - before if m.startswith(("subprocess",
                                                                      "line_profiler"))}
    result = lw("view", path, cwd=tmp_path)
    line = one_error_line(result)
    assert str(path) in line and words in line, line
    assert not marker.exists()


def test_refusal_message_names_the_file(tmp_path):
    path = tmp_path / "x.lprof"
    path.write_bytes(_frame(_global("os", "system") + _str("true") + b"\x85R."))
    line = one_error_line(lw("merge", "out.lw", path, cwd=tmp_path))
    assert line.endswith(f"refused to load {path}: it asks for os.system, which a "
                         "line_profiler results file never contains"), line
    assert not (tmp_path / "out.lw").exists()


def test_aliased_lists_cannot_multiply_the_work():
    # One list of 1000 rows under 1000 keys: a million rows from a file of a few kB.
    rows = [(i, 1, 1) for i in range(1000)]
    timings = {("f.py", i, "f"): rows for i in range(1000)}
    data = _lineStats_around(pickle.dumps({"timings": timings, "unit": 1e-9}, protocol=2))
    with pytest.raises(lprof.Refused, match="more rows than its size allows"):
        lprof.loads(data)


def test_deep_nesting_is_data_not_recursion():
    data = _frame(b"]" * 200000 + b"a" * 199999 + b".")
    with pytest.raises(ResultsError, match="holds a list, not LineStats"):
        lprof.loads(data)


def test_size_cap(tmp_path, monkeypatch):
    path = tmp_path / "big.lprof"
    path.write_bytes(lprof.dumps(LineStats({("f.py", 1, "f"): [(2, 1, 5)] * 50})))
    monkeypatch.setattr(lprof, "MAX_SIZE", 100)
    with pytest.raises(ResultsError, match="more than the 100"):
        load_stats(path)


# -- broken files ---------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [3, 20, 60, -2, -1])
def test_truncated_file_is_one_error_line(tmp_path, cut):
    data = open(LPROF_413, "rb").read()
    path = tmp_path / "cut.lprof"
    path.write_bytes(data[:cut])
    line = one_error_line(lw("view", path, cwd=tmp_path))
    assert str(path) in line and "not a valid line_profiler results file" in line, line


@pytest.mark.parametrize("state, words", [
    ({"unit": 1e-9}, "without timings and unit"),
    ({"timings": {}, "unit": -1.0}, "not a positive number"),
    ({"timings": {}, "unit": "ns"}, "not a positive number"),
    ({"timings": [], "unit": 1e-9}, "timings is not a dict"),
    ({"timings": {("f.py", 1): []}, "unit": 1e-9}, "not (filename, first_lineno, name)"),
    ({"timings": {("f.py", 1, "f"): [(1, 2)]}, "unit": 1e-9}, "not (lineno, hits, time)"),
    ({"timings": {("f.py", 1, "f"): [(1, -2, 3)]}, "unit": 1e-9}, "in range"),
    ({"timings": {("f.py", 1, "f"): [(1, 2, 2 ** 70)]}, "unit": 1e-9}, "in range"),
])
def test_wrong_shape_is_one_error_line(tmp_path, state, words):
    path = tmp_path / "shape.lprof"
    path.write_bytes(_lineStats_around(pickle.dumps(state, protocol=2)))
    line = one_error_line(lw("view", path, cwd=tmp_path))
    assert str(path) in line and words in line, line


def test_not_linestats_and_garbage(tmp_path):
    for data, words in ((pickle.dumps({"timings": {}, "unit": 1e-9}), "holds a dict"),
                        (b"\x80\x05\xff\xfe", "not a valid line_profiler results file")):
        path = tmp_path / "other.lprof"
        path.write_bytes(data)
        line = one_error_line(lw("view", path, cwd=tmp_path))
        assert words in line, line


def test_float_times_from_line_profiler_merges_are_rounded():
    state = {"timings": {("f.py", 1, "f"): [(2, 3, 10.6)]}, "unit": 1e-6}
    stats = lprof.loads(_lineStats_around(pickle.dumps(state, protocol=2)))
    assert stats.timings == {("f.py", 1, "f"): [(2, 3, 11)]} and stats.unit == 1e-6


def test_dumps_round_trip_in_process():
    stats = LineStats({("a.py", 1, "f"): [(2, 1, 5), (3, 2 ** 40, -7)],
                       ("b.py", 10, "C.g"): []}, 1e-7)
    again = lprof.loads(lprof.dumps(stats))
    assert again == stats and again.unit == 1e-7
    assert not again.sources and again.sources_complete
