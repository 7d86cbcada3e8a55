"""The memory columns of the reports (linewise.reports.memory): Alloc, Net and Peak after
line_profiler's columns, in one binary unit per table, in text, colour, Markdown, JSON,
HTML and diff; and without memory figures, every report exactly as it was.

The results here are made by hand (the columns "alloc" u64 sum, "net" i64 sum, "peak" u64
max, as LineProfiler(memory=True) and the results file carry them), so every figure is
known."""
import html.parser
import io
import json
import re

import pytest

from linewise import LineStats, load_stats
from linewise.reports.color import TerminalPainter, strip_ansi
from linewise.reports.diff import diff_stats
from linewise.reports.diff_text import write_text
from linewise.reports.html import render_report
from linewise.reports.json import VERSION, dumps, to_dict
from linewise.reports.markdown import write_markdown
from linewise.reports.memory import function_totals, has_memory, memory_lines
from linewise.reports.text import print_report
from linewise.store import dump_stats
from linewise.units import format_bytes, format_bytes_in, pick_byte_unit

from test_jsonout import check  # the schema validator of the JSON tests

KEY = ("/nowhere/prog_mem.py", 1, "work")
SOURCE = ["def work():\n", "    a = bytearray(50_000_000)\n", "    del a\n",
          "    b = [0] * 1000\n", "    return len(b)\n"]
TIMINGS = [(2, 1, 5000), (3, 1, 1000), (4, 1, 2000), (5, 1, 100)]
TYPES = {"alloc": ("u64", "sum"), "net": ("i64", "sum"), "peak": ("u64", "max")}
SMALL = ("/nowhere/prog_mem.py", 10, "small")
SMALL_SOURCE = ["def small():\n", "    s = 'x' * 100\n", "    return s\n"]


def memory_stats(big=50_000_057, small=8056, with_small_function=True):
    timings = {KEY: list(TIMINGS)}
    sources = {KEY: SOURCE}
    alloc = {KEY: {2: big, 3: 0, 4: small, 5: 0}}
    net = {KEY: {2: big, 3: -big, 4: small, 5: -small}}
    peak = {KEY: {2: big, 3: 0, 4: small, 5: 0}}
    if with_small_function:
        timings[SMALL] = [(11, 2, 300), (12, 2, 40)]
        sources[SMALL] = SMALL_SOURCE
        alloc[SMALL], net[SMALL], peak[SMALL] = {11: 298}, {11: 298, 12: -149}, {11: 149}
    return LineStats(timings, 1e-9, sources=sources, sources_complete=True,
                     columns={"alloc": alloc, "net": net, "peak": peak}, column_types=TYPES)


def plain_stats():
    stats = memory_stats()
    return LineStats(stats.timings, stats.unit, sources=stats.sources, sources_complete=True)


def text_of(stats, **kw):
    out = io.StringIO()
    print_report(stats, out, **kw)
    return out.getvalue()


# --- the figures -------------------------------------------------------------------------


def test_units_pick_one_binary_unit_per_table():
    assert pick_byte_unit([]) == (1, "B")
    assert pick_byte_unit([0, 1023, -1000]) == (1, "B")
    assert pick_byte_unit([1024, 5]) == (1024, "KiB")
    assert pick_byte_unit([3, -50_000_000]) == (2**20, "MiB")  # by magnitude: a big free
    assert pick_byte_unit([2**30]) == (2**30, "GiB")
    assert pick_byte_unit([2**45]) == (2**30, "GiB")  # no bigger unit
    assert format_bytes_in(50_000_057, 2**20) == "47.7"
    assert format_bytes_in(-50_000_057, 2**20, signed=True) == "-47.7"
    assert format_bytes_in(8056, 2**20, signed=True) == "0.0"  # no sign on a rounded zero
    assert format_bytes_in(-10, 2**20, signed=True) == "0.0"
    assert format_bytes_in(298, 1, signed=True) == "+298"
    assert format_bytes_in(0, 1, signed=True) == "0"
    assert format_bytes(8056) == "7.9 KiB" and format_bytes(0) == "0 B"
    assert format_bytes(3 * 2**30, signed=True) == "+3.0 GiB"


def test_memory_lines_and_function_totals():
    stats = memory_stats()
    assert has_memory(stats) and not has_memory(plain_stats())
    # a column missing: not memory figures (the three come together)
    partial = memory_stats()
    del partial.columns["peak"]
    assert not has_memory(partial) and memory_lines(partial, KEY) is None
    lines = memory_lines(stats, KEY)
    assert lines == {2: (50_000_057, 50_000_057, 50_000_057), 3: (0, -50_000_057, 0),
                     4: (8056, 8056, 8056), 5: (0, -8056, 0)}
    # alloc and net summed, the highest peak
    assert function_totals(lines) == (50_008_113, 0, 50_000_057)
    assert function_totals(memory_lines(stats, SMALL)) == (298, 149, 149)
    assert memory_lines(stats, ("x.py", 1, "absent")) == {}


# --- text and colour ---------------------------------------------------------------------


EXPECTED_TEXT = """\
Timer unit: 1e-09 s

Total time: 8.1e-06 s
Total memory: alloc 47.7 MiB, net 0 B, peak 47.7 MiB
File: /nowhere/prog_mem.py
Function: work at line 1

Line #      Hits         Time  Per Hit   % Time  Alloc (MiB)    Net (MiB)   Peak (MiB)  Line Contents
=====================================================================================================
     1                                                                                  def work():
     2         1       5000.0   5000.0     61.7         47.7        +47.7         47.7      a = bytearray(50_000_000)
     3         1       1000.0   1000.0     12.3          0.0        -47.7          0.0      del a
     4         1       2000.0   2000.0     24.7          0.0          0.0          0.0      b = [0] * 1000
     5         1        100.0    100.0      1.2          0.0          0.0          0.0      return len(b)

Total time: 3.4e-07 s
Total memory: alloc 298 B, net +149 B, peak 149 B
File: /nowhere/prog_mem.py
Function: small at line 10

Line #      Hits         Time  Per Hit   % Time    Alloc (B)      Net (B)     Peak (B)  Line Contents
=====================================================================================================
    10                                                                                  def small():
    11         2        300.0    150.0     88.2          298         +298          149      s = 'x' * 100
    12         2         40.0     20.0     11.8            0         -149            0      return s

"""


def test_text_table_has_the_memory_columns_in_one_unit_per_table():
    assert text_of(memory_stats()) == EXPECTED_TEXT


def test_text_a_wide_figure_widens_its_column():
    stats = memory_stats(big=2**40 * 5000)  # 5000 TiB: more digits than the column holds
    text = text_of(stats, top=None)
    header = [line for line in text.splitlines() if line.startswith("Line #")][0]
    assert "Alloc (GiB)" in header
    row = [line for line in text.splitlines() if "bytearray" in line][0]
    assert "5120000.0" in row and "+5120000.0" in row
    # the columns still line up: the heading ends where the widest cell does
    assert header.index("Alloc (GiB)") + len("Alloc (GiB)") == \
        row.index("5120000.0") + len("5120000.0")


def test_colour_is_the_plain_text_plus_codes_and_marks_the_hot_alloc():
    stats = memory_stats()
    out = io.StringIO()
    print_report(stats, out, painter=TerminalPainter(highlight=False))
    coloured = out.getvalue()
    assert strip_ansi(coloured) == EXPECTED_TEXT
    row = [line for line in coloured.splitlines() if "bytearray" in line][0]
    # the line allocating all but 0.02% of the function's bytes: the hottest mark
    assert "\x1b[1;97;41m        47.7\x1b[0m" in row
    cold = [line for line in coloured.splitlines() if "del a" in line][0]
    # nothing allocated: no mark on its memory cells (the % Time cell has its own)
    assert "\x1b[" not in cold.split("del a")[0].split("12.3\x1b[0m")[1]


def test_markdown_has_the_memory_columns():
    out = io.StringIO()
    write_markdown(memory_stats(), out)
    text = out.getvalue()
    assert "line 1; total time 8.1e-06 s; total memory: alloc 47.7 MiB, net 0 B, peak " \
           "47.7 MiB\n" in text
    assert "| Line | Hits | Time | Per hit | % Time | Alloc (MiB) | Net (MiB) | Peak (MiB) " \
           "| Line contents |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" \
           in text
    assert "| 2 | 1 | 5000.0 | 5000.0 | 61.7 | 47.7 | +47.7 | 47.7 | " \
           "`    a = bytearray(50_000_000)` |" in text
    assert "| 1 |  |  |  |  |  |  |  | `def work():` |" in text
    assert "| 11 | 2 | 300.0 | 150.0 | 88.2 | 298 | +298 | 149 | `    s = 'x' * 100` |" in text


# --- JSON --------------------------------------------------------------------------------


def test_json_carries_bytes_and_validates_against_the_schema():
    stats = memory_stats()
    doc = json.loads(dumps(stats))
    check(doc)
    assert doc["version"] == VERSION == 2
    work, small = doc["functions"]
    assert (work["alloc"], work["net"], work["peak"]) == (50_008_113, 0, 50_000_057)
    assert [(ln["line"], ln["alloc"], ln["net"], ln["peak"]) for ln in work["lines"]] == \
        [(2, 50_000_057, 50_000_057, 50_000_057), (3, 0, -50_000_057, 0),
         (4, 8056, 8056, 8056), (5, 0, -8056, 0)]
    # a timed line without figures gets zeros
    assert [(ln["line"], ln["alloc"], ln["net"], ln["peak"]) for ln in small["lines"]] == \
        [(11, 298, 298, 149), (12, 0, -149, 0)]
    # streamed and built give the same document
    assert json.loads(dumps(stats, indent=None)) == to_dict(stats) == doc
    # the schema rejects what a v2 document must not hold
    for breaking in (lambda d: d["functions"][0]["lines"][0].update(alloc=-1),
                     lambda d: d["functions"][0]["lines"][0].update(peak=1.5),
                     lambda d: d["functions"][0].update(alloc="1")):
        bad = json.loads(json.dumps(doc))
        breaking(bad)
        with pytest.raises(Exception):
            check(bad)


def test_json_without_memory_has_no_memory_fields():
    doc = to_dict(plain_stats())
    check(doc)
    assert doc["version"] == 2
    assert not {"alloc", "net", "peak"} & set(doc["functions"][0])
    assert set(doc["functions"][0]["lines"][0]) == {"line", "hits", "time", "percent"}


# --- HTML --------------------------------------------------------------------------------


class Table(html.parser.HTMLParser):
    """The <table class="lines"> rows of a page: [[cell text or bar class, ...]]."""

    def __init__(self):
        super().__init__()
        self.rows, self.heads, self._in, self._cell = [], [], 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("class") == "lines":
            self._in = 1
        elif self._in and tag == "tr":
            self.rows.append([])
        elif self._in and tag in ("td", "th"):
            self._cell = []
        elif self._in and tag == "span" and self._cell is not None and \
                "bar" in attrs.get("class", ""):
            self._cell.append("[" + attrs["class"] + "]")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = 0
        elif self._in and tag in ("td", "th"):
            self.rows[-1].append("".join(self._cell))
            self._cell = None


def test_html_has_the_memory_cells_and_a_second_heat_bar():
    page = render_report(memory_stats())
    table = Table()
    table.feed(page)
    head = table.rows[0]
    assert head == ["Line", "Hits", "Time", "Per hit", "% Time", "Heat", "Alloc", "Net",
                    "Peak", "Memory", "Source"]
    rows = {row[0]: row for row in table.rows[1:]}
    assert all(len(row) == len(head) for row in table.rows)
    assert rows["2"][5:10] == ["[bar]", "47.7 MiB", "+47.7 MiB", "47.7 MiB", "[bar mem]"]
    assert rows["3"][6:9] == ["0 B", "-47.7 MiB", "0 B"]
    assert rows["4"][6:9] == ["7.9 KiB", "+7.9 KiB", "7.9 KiB"]
    assert rows["1"][6:10] == ["", "", "", ""]  # the def line: no figures, no bar
    # the memory bar's width is the line's share of the function's alloc
    widths = re.findall(r'<span class="bar mem"><i style="width:([0-9.]+)%"></i>', page)
    assert widths[:4] == ["99.98", "0.00", "0.02", "0.00"]
    # exact bytes on hover; the function's and the page's figures
    assert '<td class="num" title="50000057 B">47.7 MiB</td>' in page
    assert '<span class="fmem">alloc 47.7 MiB, net 0 B, peak 47.7 MiB</span>' in page
    assert '<span class="fmem">alloc 298 B, net +149 B, peak 149 B</span>' in page
    assert "<dt>Memory</dt><dd>alloc 47.7 MiB, net +149 B, peak 47.7 MiB in the functions " \
           "shown" in page
    assert ".bar.mem > i" in page  # its style is in the page


# --- diff --------------------------------------------------------------------------------


def test_diff_shows_memory_before_and_after_per_line():
    before = memory_stats(with_small_function=False)
    after = memory_stats(big=10_000_057, with_small_function=False)
    diff = diff_stats(before, after)
    assert diff.memory
    func, = diff.functions
    assert func.before_memory == (50_008_113, 0, 50_000_057)
    assert func.after_memory == (10_008_113, 0, 10_000_057)
    by_line = {line.after_line: line for line in func.lines}
    assert by_line[2].before_memory == (50_000_057,) * 3
    assert by_line[2].after_memory == (10_000_057,) * 3
    assert by_line[1].before_memory is None  # the def line has no timing
    out = io.StringIO()
    write_text(diff, out, top=0)
    text = out.getvalue()
    assert "Memory: alloc 47.7 MiB -> 9.5 MiB, net 0 B -> 0 B, peak 47.7 MiB -> 9.5 MiB\n" \
        in text
    lines = text.splitlines()
    assert any(re.match(r" {4}Line # .*Time \(us\) +Alloc \(MiB\) +Net \(MiB\) +Peak \(MiB\)$",
                        line) for line in lines), text
    row = [line for line in lines if "bytearray" in line][0]
    assert re.search(r"  47\.7 +9\.5 +\+47\.7 +\+9\.5 +47\.7 +9\.5 +  a = bytearray", row), row
    row = [line for line in lines if "del a" in line][0]
    assert re.search(r"  0\.0 +0\.0 +-47\.7 +-9\.5 +0\.0 +0\.0 +  del a", row), row


def test_html_diff_shows_memory_before_and_after_per_line():
    from linewise.reports.html import render_diff

    before = memory_stats(with_small_function=False)
    after = memory_stats(big=10_000_057, with_small_function=False)
    page = render_diff(diff_stats(before, after))
    assert "<th>Alloc</th><th>Net</th><th>Peak</th>" in page
    # The bytearray line: alloc, net and peak, each before -> after, exact bytes in titles.
    cell = '<td class="num" title="50000057 B \u2192 10000057 B">47.7 MiB \u2192 9.5 MiB</td>'
    assert cell in page
    assert '<td class="num" title="50000057 B \u2192 10000057 B">+47.7 MiB \u2192 +9.5 MiB</td>' \
        in page
    assert "alloc 47.7 MiB" in page and "\u2192" in page.split("fmem")[1]
    # Without memory on either side, no memory columns.
    assert "<th>Alloc</th>" not in render_diff(diff_stats(plain_stats(), plain_stats()))


def test_diff_against_results_without_memory_leaves_that_side_blank():
    diff = diff_stats(plain_stats(), memory_stats())
    assert diff.memory
    work = [f for f in diff.functions if f.name == "work"][0]
    assert work.before_memory is None and work.after_memory == (50_008_113, 0, 50_000_057)
    out = io.StringIO()
    write_text(diff, out, top=0)
    text = out.getvalue()
    assert "Memory: alloc - -> 47.7 MiB, net - -> 0 B, peak - -> 47.7 MiB\n" in text
    row = [line for line in text.splitlines() if "bytearray" in line][0]
    # the before cells blank, the after cells in their columns
    assert re.search(r"1\.00x {17}47\.7 {16}\+47\.7 {17}47\.7 {7}a = bytearray", row), row


# --- through a results file; and without memory, nothing changes --------------------------


def test_results_file_round_trip_keeps_the_memory_report(tmp_path):
    path = tmp_path / "mem.lw"
    dump_stats(memory_stats(), path)
    loaded = load_stats(path)
    assert has_memory(loaded)
    assert text_of(loaded) == EXPECTED_TEXT


def test_without_memory_columns_every_report_is_as_before():
    plain = plain_stats()
    # another extra column (one the reports do not know) changes nothing either
    other = plain_stats()
    other.columns = {"calls": {KEY: {2: 7}}}
    other.column_types = {"calls": ("u64", "sum")}
    for stats in (plain, other):
        text = text_of(stats)
        assert "Alloc" not in text and "memory" not in text
        assert text.splitlines()[6] == \
            "Line #      Hits         Time  Per Hit   % Time  Line Contents"
        page = render_report(stats)
        assert "bar mem" not in page and "<th>Alloc</th>" not in page
        assert "fmem" not in page.split("</style>")[1]
        out = io.StringIO()
        write_markdown(stats, out)
        assert "Alloc" not in out.getvalue()
        diff_out = io.StringIO()
        write_text(diff_stats(stats, stats), diff_out)
        assert "Memory" not in diff_out.getvalue() and "Alloc" not in diff_out.getvalue()
    assert text_of(plain) == text_of(other)
    assert dumps(plain) == dumps(other)
    assert render_report(plain) == render_report(other)


def test_show_text_takes_the_memory_figures_as_print_stats_passes_them():
    from linewise.reports.memory import memory_by_key
    from linewise.reports.text import show_text

    stats = memory_stats()
    out = io.StringIO()
    show_text(stats.timings, stats.unit, stream=out, sources=stats.sources,
              memory=memory_by_key(stats))
    assert out.getvalue() == EXPECTED_TEXT
    out = io.StringIO()
    show_text(stats.timings, stats.unit, stream=out, sources=stats.sources,
              memory=memory_by_key(plain_stats()))  # None: line_profiler's table
    assert out.getvalue() == text_of(plain_stats())


def test_whole_call_figures_are_the_functions_own_when_the_results_hold_them():
    # call_alloc/call_net/call_peak: the function's calls, on its first row (a call's
    # peak can pass every line's: a line's peak counts from the line's start)
    stats = memory_stats(with_small_function=False)
    stats.columns.update(call_alloc={KEY: {2: 50_008_200}}, call_net={KEY: {2: 87}},
                         call_peak={KEY: {2: 50_008_200}})
    stats.column_types.update(call_alloc=("u64", "sum"), call_net=("i64", "sum"),
                              call_peak=("u64", "max"))
    assert function_totals(memory_lines(stats, KEY)) == (50_008_200, 87, 50_008_200)
    assert "Total memory: alloc 47.7 MiB, net +87 B, peak 47.7 MiB\n" in text_of(stats)
    work, = to_dict(stats)["functions"]
    assert (work["alloc"], work["net"], work["peak"]) == (50_008_200, 87, 50_008_200)
    # the lines' own figures are unchanged
    assert work["lines"][0]["alloc"] == 50_000_057
