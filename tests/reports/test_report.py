"""Tests for linewise.reports.text, the text report.

Most tests are differential: the same synthetic stats, over real source files written to
tmp_path, go through linewise.reports.text and line_profiler.show_text, and the outputs must be
identical. Golden tests pin the format without line_profiler, and the rest cover what
line_profiler does not do (stored sources) or crashes on.
"""
import importlib
import io
import itertools
import linecache
import pathlib
import random
import textwrap

import pytest


report = importlib.import_module("linewise.reports.text")


# --- sample sources ----------------------------------------------------------------------

SAMPLE = '''\
import functools


def plain(n):
    total = 0
    for i in range(n):
        total += i
    return total


def passthrough(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


@passthrough
def decorated(x,
              y):
    # a comment inside
    result = (x +
              y)
    return result
    # trailing comment, indented: still part of the block


class Shape:
    """A class with methods."""

    def __init__(self, sides):
        self.sides = sides

    @property
    def name(self):
        return {3: "triangle", 4: "square"}.get(
            self.sides, "polygon")

    def area(self):
        pass


square = lambda side: side * side
applied = list(map(
    lambda v: v + 1, [1, 2]))
smallest = sorted(
    [3, 1]
).index(min([1], key=lambda b: b))


def unicode_text():
    greeting = "héllo wörld ☃ 你好"
    return greeting


def never_called():
    value = 1
    return value


def outer():
    def inner():
        return 1
    return inner()
'''

TABS = "def tabbed(n):\n\tif n:\n\t\treturn [\n\t\t\tn,\n\t\t]\n\treturn None\n\n\nx = 1\n"

LATIN1 = "# -*- coding: latin-1 -*-\ndef accents():\n    return 'café'\n"

CYTHON = """\
cdef class Counter:
    cpdef bump(self):
        self.n += 1

    property total:
        def __get__(self):
            return self.n

cdef int helper(
        int x, int y):
    return x + y
"""

NO_FINAL_NEWLINE = "def last():\n    a = 1\n    return a"


@pytest.fixture
def files(tmp_path):
    """Paths of the sample sources, including one that does not exist."""
    paths = {name: tmp_path / f"{name}.py" for name in
             ("sample", "tabs", "crlf", "latin1", "bom", "no_newline", "missing")}
    paths["cython"] = tmp_path / "counter.pyx"
    paths["cython"].write_text(CYTHON, encoding="utf-8")
    paths["sample"].write_text(SAMPLE, encoding="utf-8")
    paths["tabs"].write_text(TABS, encoding="utf-8")
    paths["crlf"].write_bytes(SAMPLE.replace("\n", "\r\n").encode("utf-8"))
    paths["latin1"].write_bytes(LATIN1.encode("latin-1"))
    paths["bom"].write_bytes(b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"))
    paths["no_newline"].write_text(NO_FINAL_NEWLINE, encoding="utf-8")
    return {name: str(path) for name, path in paths.items()}


def line_of(text, needle, occurrence=1):
    """1-based number of the line of `text` containing `needle` (the n-th such line)."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[occurrence - 1]


# (qualname, text on its first line, texts on the lines given timings) in SAMPLE
SAMPLE_FUNCTIONS = [
    ("plain", "def plain", ["total = 0", "for i in range", "total += i", "return total"]),
    ("passthrough.<locals>.wrapper", "@functools.wraps", ["return func("]),
    ("decorated", "@passthrough", ["result = (x", "return result"]),
    ("Shape.__init__", "def __init__", ["self.sides = sides"]),
    ("Shape.name", "@property", ['return {3: "triangle"']),
    ("Shape.area", "def area", ["        pass"]),
    ("Shape", "class Shape", ["def __init__"]),
    ("<lambda>", "square = lambda", ["square = lambda"]),
    ("<lambda>", "lambda v: v + 1", ["lambda v: v + 1"]),
    ("<lambda>", "key=lambda b: b", ["key=lambda b: b"]),
    ("unicode_text", "def unicode_text", ["greeting = ", "return greeting"]),
    ("never_called", "def never_called", []),
    ("outer.<locals>.inner", "def inner", ["return 1"]),
    ("outer", "def outer", ["def inner", "return inner()"]),
]


def functions_in(files):
    """(filename, first_lineno, qualname, timed linenos) for every sample function."""
    out = [(files[copy], line_of(SAMPLE, first), name, [line_of(SAMPLE, t) for t in timed])
           for copy in ("sample", "crlf", "bom")
           for name, first, timed in SAMPLE_FUNCTIONS]
    out += [
        (files["tabs"], 1, "tabbed", [2, 3, 6]),
        (files["latin1"], 2, "accents", [3]),
        (files["cython"], 1, "Counter", [2, 5]),
        (files["cython"], 2, "Counter.bump", [3]),
        (files["cython"], 5, "Counter.total", [6, 7]),
        (files["cython"], 9, "helper", [11]),
        (files["no_newline"], 1, "last", [2, 3]),
        (files["missing"], 10, "gone", [11, 12, 14]),
        (files["missing"], 30, "gone_never_run", []),
        # ("<generated code>", 1, "generated"): no lines in linecache, see test_hostile
    ]
    return out


# --- synthetic stats ---------------------------------------------------------------------

def make_stats(files, kind):
    """A stats dict over all sample functions, and its unit; `kind` picks the numbers."""
    rng = random.Random(kind)
    stats = {}
    for filename, first, name, body in functions_in(files):
        timings = []
        for lineno in body:
            if kind == "typical":
                hits = rng.randint(1, 5000)
                time = hits * rng.randint(50, 20000)
            elif kind == "huge":  # wide hits, %g times, widened columns
                hits = rng.choice([1, 10**8, 10**9 + 7, 12345678901, 98765432109876])
                time = rng.choice([1, 10**6, 10**12 + 3, 10**15, 123456789012345678])
            elif kind == "floats":
                hits = rng.randint(1, 30)
                time = rng.uniform(0.0, 5000.0)
            elif kind == "zero_time":  # ran, but took no measurable time
                hits = rng.randint(1, 3)
                time = 0
            timings.append((lineno, hits, time))
        rng.shuffle(timings)
        stats[(filename, first, name)] = timings
    unit = {"typical": 1e-9, "huge": 1e-9, "floats": 1e-6, "zero_time": 1e-7}[kind]
    return stats, unit


def reference():
    """line_profiler, the reference implementation (the test is skipped without it)."""
    return pytest.importorskip("line_profiler", minversion="5.1")


def line_profiler_text(stats, unit, **options):
    line_profiler = reference()
    stream = io.StringIO()
    line_profiler.show_text(stats, unit, stream=stream, config=False, **options)
    return stream.getvalue()


def linewise_text(stats, unit, **options):
    stream = io.StringIO()
    report.show_text(stats, unit, stream=stream, **options)
    return stream.getvalue()


OPTION_SETS = [
    dict(stripzeros=z, details=d, summarize=s, sort=o)
    for z, d, s, o in itertools.product([False, True], repeat=4)
]


def option_id(options):
    return "-".join(name for name, on in options.items() if on) or "defaults"


# --- differential tests ------------------------------------------------------------------

@pytest.mark.parametrize("output_unit", [None, 1e-6, 1e-3, 1.0])
@pytest.mark.parametrize("options", OPTION_SETS, ids=option_id)
@pytest.mark.parametrize("kind", ["typical", "huge", "floats", "zero_time"])
def test_same_as_line_profiler(files, kind, options, output_unit):
    stats, unit = make_stats(files, kind)
    expected = line_profiler_text(stats, unit, output_unit=output_unit, **options)
    assert linewise_text(stats, unit, output_unit=output_unit, **options) == expected


@pytest.mark.parametrize("options", OPTION_SETS, ids=option_id)
def test_same_as_line_profiler_when_empty(options):
    assert linewise_text({}, 1e-6, **options) == line_profiler_text({}, 1e-6, **options)


def test_same_as_line_profiler_for_odd_timings(files):
    """Repeated line numbers, lines outside the function, negative and NaN times."""
    s, fn = SAMPLE, files["sample"]
    start = line_of(s, "def plain")
    stats = {
        (fn, start, "plain"): [(start + 1, 2, 10), (start + 1, 3, 40)],
        (fn, line_of(s, "def outer"), "outer"): [(line_of(s, "return inner()"), 1, -7)],
        (fn, line_of(s, "def area"), "Shape.area"): [(line_of(s, "        pass"), 1, float("nan"))],
        (files["missing"], 20, "after_start"): [(21, 1, 5), (23, 2, 9)],
        (files["missing"], 1, "no_lines"): [],
    }
    for options in OPTION_SETS:
        assert linewise_text(stats, 1e-6, **options) == line_profiler_text(stats, 1e-6, **options)


def test_timed_lines_outside_the_source_get_rows(files):
    """line_profiler counts lines outside the function's block (a line after it, a line
    before first_lineno) in the total but shows no row for them; linewise shows them."""
    s, fn = SAMPLE, files["sample"]
    start = line_of(s, "def plain")
    stats = {
        (fn, start, "plain"): [(start + 1, 2, 10), (start + 40, 1, 5)],
        (files["missing"], 20, "before_start"): [(18, 1, 5), (23, 2, 9)],
    }
    text = linewise_text(stats, 1e-6)
    reference = line_profiler_text(stats, 1e-6)
    row_44 = f"{start + 40:6d}         1          5.0      5.0     33.3  "
    assert row_44 not in reference and "    18         1" not in reference
    plain = text.split("Function: plain")[1].split("\n\n")[1].splitlines()
    body = [int(row[:6]) for row in plain[2:]]
    assert body[-1] == start + 40 and body[:-1] == list(range(start, start + len(body) - 1))
    assert plain[-1].startswith(row_44) and "applied = list(map(" in plain[-1]
    # no file: rows 18 .. 23, those before the first line included
    table = text.split("Continuing without the function's contents.\n\n")[1].split("\n\n")[0]
    assert table.splitlines()[2:] == [
        "    18         1          5.0      5.0     35.7  ",
        *(f"{n:6d}{' ' * 43}" for n in range(19, 23)),
        "    23         2          9.0      4.5     64.3  "]


@pytest.mark.parametrize("output_unit", [None, 1e-9])
def test_show_func_same_as_line_profiler(files, output_unit):
    line_profiler = reference()
    stats, unit = make_stats(files, "typical")
    for (filename, first, name), timings in stats.items():
        for stripzeros in (False, True):
            expected, actual = io.StringIO(), io.StringIO()
            line_profiler.show_func(filename, first, name, timings, unit, output_unit, expected,
                                    stripzeros, config=False)
            report.show_func(filename, first, name, timings, unit, output_unit, actual, stripzeros)
            assert actual.getvalue() == expected.getvalue()


def test_generated_code_from_linecache():
    """Notebook cells have no file; their lines come from linecache."""
    filename = "<ipython-input-7-linewise-test>"
    cell = ["def cell(a):\n", "    b = a * 2\n", "    return b\n", "\n", "cell(1)\n"]
    linecache.cache[filename] = (len("".join(cell)), None, cell, filename)
    try:
        stats = {(filename, 1, "cell"): [(2, 1, 300), (3, 1, 100)]}
        assert linewise_text(stats, 1e-6) == line_profiler_text(stats, 1e-6)
    finally:
        linecache.cache.pop(filename, None)


def test_unencodable_source_is_escaped_like_line_profiler(files):
    s = SAMPLE
    stats = {(files["sample"], line_of(s, "def unicode_text"), "unicode_text"):
             [(line_of(s, "greeting = "), 1, 10)]}
    line_profiler = reference()
    outputs = []
    for show_text, extra in ((line_profiler.show_text, {"config": False}), (report.show_text, {})):
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="ascii", newline="\n")
        show_text(stats, 1e-6, stream=stream, **extra)
        stream.flush()
        outputs.append(raw.getvalue())
    assert outputs[0] == outputs[1]
    assert b'"h\\xe9llo w\\xf6rld \\u2603 \\u4f60\\u597d"' in outputs[1]


# --- golden text (no line_profiler needed) -----------------------------------------------

def pinned(text):
    """Dedented `text`; a "|" ending a line marks its end, so trailing spaces survive."""
    lines = textwrap.dedent(text).split("\n")
    return "\n".join(line[:-1] if line.endswith("|") else line for line in lines)


GOLDEN_SOURCE = '''\
def work(n):
    total = 0
    for i in range(n):
        total += i

    return total
'''


def test_golden_report(tmp_path):
    path = tmp_path / "work.py"
    path.write_text(GOLDEN_SOURCE)
    stats = {
        (str(path), 1, "work"): [(2, 1, 250), (3, 11, 4400), (4, 10, 5350), (6, 1, 0)],
        (str(path), 1, "unused"): [],
    }
    text = linewise_text(stats, 1e-6, output_unit=1e-3, summarize=True, sort=True)
    expected = pinned('''\
        Timer unit: 0.001 s

        Total time: 0 s
        File: {path}
        Function: unused at line 1

        Line #      Hits         Time  Per Hit   % Time  Line Contents
        ==============================================================
             1                                           def work(n):
             2                                               total = 0
             3                                               for i in range(n):
             4                                                   total += i
             5                                           |
             6                                               return total

        Total time: 0.01 s
        File: {path}
        Function: work at line 1

        Line #      Hits         Time  Per Hit   % Time  Line Contents
        ==============================================================
             1                                           def work(n):
             2         1          0.2      0.2      2.5      total = 0
             3        11          4.4      0.4     44.0      for i in range(n):
             4        10          5.4      0.5     53.5          total += i
             5                                           |
             6         1          0.0      0.0      0.0      return total

          0.00 seconds - {path}:1 - unused
          0.01 seconds - {path}:1 - work
        ''').format(path=path)
    assert text == expected


def test_golden_big_numbers_and_missing_file(tmp_path):
    missing = str(tmp_path / "gone.py")
    stats = {(missing, 3, "f"): [(3, 12345678901, 2 * 10**13), (5, 2, 300)]}
    expected = pinned('''\
        Timer unit: 1e-09 s

        Total time: 20000 s

        Could not find file {missing}
        Are you sure you are running this program from the same directory
        that you ran the profiler from?
        Continuing without the function's contents.

        Line #        Hits         Time  Per Hit   % Time  Line Contents
        ================================================================
             3 1.23457e+10        2e+13   1620.0    100.0  |
             4                                             |
             5           2        300.0    150.0      0.0  |

        ''').format(missing=missing)
    assert linewise_text(stats, 1e-9) == expected


def test_golden_stripzeros_and_details_off():
    stats = {("x.py", 1, "never"): [], ("y.py", 2, "idle"): [(3, 4, 0)]}
    assert linewise_text(stats, 1e-6, stripzeros=True, details=False, summarize=True) == (
        "Timer unit: 1e-06 s\n\n")
    assert linewise_text(stats, 1e-6, details=False, summarize=True) == (
        "Timer unit: 1e-06 s\n\n"
        "  0.00 seconds - x.py:1 - never\n"
        "  0.00 seconds - y.py:2 - idle\n")


# --- stored sources ----------------------------------------------------------------------

def test_sources_used_when_file_is_missing(files):
    """With the file gone, stored sources give the report line_profiler gave with the file."""
    stats, unit = make_stats(files, "typical")
    stats = {key: timings for key, timings in stats.items() if key[0] == files["sample"]}
    with_file = line_profiler_text(stats, unit, summarize=True)

    all_lines = SAMPLE.splitlines(keepends=True)
    sources = {key: all_lines[key[1] - 1:] for key in stats}
    pathlib.Path(files["sample"]).unlink()
    assert linewise_text(stats, unit, summarize=True) != with_file  # "Could not find file"
    assert linewise_text(stats, unit, summarize=True, sources=sources) == with_file

    # Sources without line ends, or just the function's own lines, work as well.
    bare = {key: [line.rstrip("\n") for line in lines] for key, lines in sources.items()}
    assert linewise_text(stats, unit, summarize=True, sources=bare) == with_file


def test_show_func_source_argument(tmp_path):
    missing = str(tmp_path / "gone.py")
    stream = io.StringIO()
    report.show_func(missing, 1, "work", [(2, 1, 250), (6, 1, 750)], 1e-6, stream=stream,
                     source=GOLDEN_SOURCE + "\nafter_the_block = 1\n")
    assert stream.getvalue() == pinned('''\
        Total time: 0.001 s
        File: {missing}
        Function: work at line 1

        Line #      Hits         Time  Per Hit   % Time  Line Contents
        ==============================================================
             1                                           def work(n):
             2         1        250.0    250.0     25.0      total = 0
             3                                               for i in range(n):
             4                                                   total += i
             5                                           |
             6         1        750.0    750.0     75.0      return total

        ''').format(missing=missing)


def test_saved_sources_win_over_an_edited_file(tmp_path):
    """Saved results carry the source the timings belong to; the file may have changed."""
    path = tmp_path / "work.py"
    path.write_text(GOLDEN_SOURCE)
    key = (str(path), 1, "work")
    text = linewise_text({key: [(2, 1, 5)]}, 1e-6, sources={key: ["def saved():\n", "    pass\n"]})
    assert "def saved():" in text and "def work(n):" not in text


# --- where line_profiler crashes ---------------------------------------------------------

def test_line_with_no_hits_has_blank_per_hit(tmp_path):
    path = tmp_path / "work.py"
    path.write_text(GOLDEN_SOURCE)
    text = linewise_text({(str(path), 1, "work"): [(2, 0, 0), (3, 2, 8)]}, 1e-6)
    assert "     2         0          0.0               0.0      total = 0\n" in text
    assert "     3         2          8.0      4.0    100.0      for i in range(n):\n" in text


def test_source_that_no_longer_tokenizes_shows_up_to_last_timed_line(tmp_path):
    """The file was edited: line 3 is now inside an unterminated triple-quoted string."""
    path = tmp_path / "edited.py"
    path.write_text('def f():\n    s = """\n    abc\n    """\n    return s\n')
    text = linewise_text({(str(path), 3, "f"): [(4, 1, 10)]}, 1e-6)
    rows = text.split("=\n", 1)[1].splitlines()
    assert rows == ["     3                                               abc",
                    '     4         1         10.0     10.0    100.0      """',
                    ""]
