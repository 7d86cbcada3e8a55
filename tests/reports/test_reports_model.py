"""The results model the reports read (LineStats.functions(), select(), FunctionStats),
the shared source and unit helpers, and the layout rule: no module of linewise reaches
into another's private names."""
import ast
import io
import pathlib

import pytest

from linewise import LineStats
from linewise.reports import text
from linewise.reports.json import to_dict
from linewise.results import FunctionStats
from linewise.source import function_source, table_lines, visible
from linewise.units import SCALES, format_seconds, parse_unit, pick_unit, unit_name

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "linewise"

A = ("a.py", 1, "a")
B = ("b.py", 10, "B.b")
C = ("c.py", 5, "c")
D = ("d.py", 7, "never")


def sample():
    return LineStats({A: [(2, 1, 30), (3, 2, 10)],       # 40
                      B: [(11, 5, 100)],                 # 100
                      C: [(6, 1, 40)],                   # 40, ties with A
                      D: [(8, 0, 0)]},                   # never ran
                     unit=1e-6, sources={B: ["def b(self):\n", "    pass\n"]},
                     meta={"python": "3.13.0"})


def test_functions_in_results_order_with_their_numbers():
    funcs = sample().functions()
    assert [f.key for f in funcs] == [A, B, C, D]
    a, b, _, d = funcs
    assert (a.filename, a.first_lineno, a.name) == A
    assert a.rows == [(2, 1, 30), (3, 2, 10)]
    assert a.lines == {2: (1, 30), 3: (2, 10)}
    assert a.total == 40 and a.total_time == pytest.approx(40e-6) and a.hits == 3
    assert b.source == ["def b(self):\n", "    pass\n"] and a.source is None
    assert d.hits == 0 and d.total == 0


def test_a_repeated_line_keeps_its_last_row():
    func = FunctionStats(A, [(4, 1, 10), (4, 2, 30)], 1e-6)
    assert func.lines == {4: (2, 30)} and func.total == 30 and func.hits == 2


def test_select_top_keeps_the_results_order_and_ties_go_to_the_first():
    stats = sample()
    assert [f.key for f in stats.select()] == [A, B, C, D]
    assert [f.key for f in stats.select(top=2)] == [A, B]       # A and C tie: A first
    assert [f.key for f in stats.select(top=0)] == []
    assert [f.key for f in stats.select(top=10)] == [A, B, C, D]


def test_select_skip_zero_after_top():
    stats = sample()
    assert [f.key for f in stats.select(skip_zero=True)] == [A, B, C]
    # -t 4 takes D among the four (the results only have four), then --skip-zero drops it.
    assert [f.key for f in stats.select(top=4, skip_zero=True)] == [A, B, C]


def test_select_sort_both_ways_ties_keep_their_order():
    stats = sample()
    assert [f.key for f in stats.select(sort=True)] == [B, A, C, D]
    assert [f.key for f in stats.select(sort="longest")] == [B, A, C, D]
    assert [f.key for f in stats.select(sort="shortest")] == [D, A, C, B]
    assert [f.key for f in stats.select(top=3, skip_zero=True, sort="shortest")] == [A, C, B]
    with pytest.raises(ValueError, match="sort must be"):
        stats.select(sort="sideways")


def test_every_view_shows_what_select_chose():
    stats = sample()
    doc = to_dict(stats, sort=True, top=2, skip_zero=True)
    assert [f["name"] for f in doc["functions"]] == ["B.b", "a"]
    out = io.StringIO()
    text.print_report(stats, out, top=2, sort=True)
    assert [line for line in out.getvalue().splitlines() if line.startswith("Total time")] \
        == ["Total time: 4e-05 s", "Total time: 0.0001 s"]


def test_line_profiler_api_unchanged():
    stats = sample()
    timings, unit = stats
    assert timings is stats.timings and unit == 1e-6
    assert (stats + stats).function(B).lines == {11: (10, 200)}


def test_source_from_the_results_and_why_there_is_none(tmp_path):
    found = function_source("gone.py", 10, [(11, 1, 1)], ["def b():\n", "    pass\n", "x = 1\n"])
    assert found.block == ["def b():\n", "    pass\n"] and found.missing is None
    assert function_source(str(tmp_path / "gone.py"), 1, [], None).missing == "missing"
    real = tmp_path / "here.py"
    real.write_text("def f():\n    return 1\n")
    assert function_source(str(real), 1, [], None, from_disk=False).missing == "not-read"
    assert function_source(str(real), 1, [], None).block == ["def f():\n", "    return 1\n"]
    refused = function_source("/proc/self/environ", 1, [], None)
    assert refused.missing == "refused" and "system file" in refused.why
    assert visible("a\x1bb\n") == "a\\x1bb\\n"
    # No source: gaps of more than GAP_FILL lines are not filled.
    assert [n for n, _ in table_lines(1, [(3, 1, 1), (2**31 - 1, 1, 1)], None)] == \
        [1, 2, 3, 2**31 - 1]


def test_units_one_table():
    assert [name for _, name, _ in SCALES] == ["s", "ms", "us", "ns"]
    assert parse_unit("µs") == parse_unit("us") == 1e-6
    assert pick_unit([0.5, -2e-3]) == (1e-3, "ms") and pick_unit([]) == (1e-9, "ns")
    assert unit_name(1e-3) == "ms" and unit_name(2e-3) == "0.002 s"
    assert format_seconds(0) == "0" and format_seconds(1.5e-6) == "1.5 µs"
    assert format_seconds(-2.5e-3) == "-2.5 ms" and format_seconds(999.96e-9) == "1000 ns"


def _private_imports(path):
    """[(module, name)]: names starting with _ that `path` imports from linewise modules,
    or reads as attributes of a linewise module it imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, aliases = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or
                                                 (node.module or "").startswith("linewise")):
            for alias in node.names:
                if alias.name.startswith("_") and alias.name not in (
                        "_engine", "__version__", "_children", "_signals", "_follow", "_decorate",
                        "_gather"):
                    found.append((node.module, alias.name))
                aliases.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__") and node.value.id not in ("_engine",)):
            found.append((node.value.id, node.attr))
    return found


# The reports and what they read. (Elsewhere, the runner drives explicit mode's profile
# object through its underscore methods: one feature in two modules, not a report.)
VIEW_MODULES = sorted(list((SRC / "reports").glob("*.py"))
                      + [SRC / n for n in ("source.py", "units.py", "results.py", "store.py",
                                           "profiler.py", "__init__.py")])


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_reaches_into_another_modules_private_names(path):
    assert _private_imports(path) == []


def test_the_old_report_modules_are_gone():
    for name in ("report", "color", "html", "diff", "jsonout"):
        assert not (SRC / f"{name}.py").exists(), name
