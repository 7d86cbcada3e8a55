"""Big profiles (issue 16): what a report leaves out by default, and the HTML page's lazy
rows. Behaviour only; how fast it all is, is benchmarks/big_profiles.py's.

- text: above AUTO_SKIP_ZERO profiled functions the functions that never ran are left out,
  with a last line saying how many; --no-skip-zero and --all bring them back;
- HTML: functions that never ran are left out with a count (--all: shown); collapsed
  functions' rows are data in the page (no markup), made by its script when opened: the
  rows it makes are the rows html.py would have written.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest

from linewise import LineStats
from linewise.reports import html as html_report
from linewise.reports.html import render_report, write_report
from linewise.reports.text import AUTO_SKIP_ZERO, print_report
from linewise.store import dump_stats
from test_html import Tree, chromium, console_errors, run_chromium  # noqa: F401 (fixture)


def big(n, ran):
    """n functions, mod{i}.py:1 func{i}, with their source; those in `ran` ran: line 2
    i + 1 times, line 3 once (func{i}'s time grows with i)."""
    timings, sources = {}, {}
    for i in range(n):
        key = (f"mod{i}.py", 1, f"func{i}")
        sources[key] = [f"def func{i}(x):", f"    y = x + {i}  # marker{i}", "    return y"]
        hit = i in ran
        timings[key] = [(2, i + 1 if hit else 0, 1000 * (i + 1) if hit else 0),
                        (3, 1 if hit else 0, 10 if hit else 0)]
    return LineStats(timings, 1e-9, sources=sources)


def lw(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PYTHONPATH")}
    return subprocess.run([sys.executable, "-m", "linewise", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)


# --- text -------------------------------------------------------------------------------


def _tables(text):
    return re.findall(r"^Function: (\S+) at line", text, re.M)


def test_text_skips_never_run_above_the_limit(tmp_path):
    n = AUTO_SKIP_ZERO + 1
    path = tmp_path / "big.lw"
    stats = big(n, ran={3, 7})
    dump_stats(stats, path)
    result = lw("view", "big.lw", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _tables(result.stdout) == ["func3", "func7"]
    last = result.stdout.splitlines()[-1]
    assert last == (f"{n - 2} functions that never ran not shown (of {n} profiled; -z is "
                    f"the default above {AUTO_SKIP_ZERO}: --no-skip-zero shows them)")
    # what is shown is byte for byte the -z report, the line after it
    explicit = lw("view", "-z", "big.lw", cwd=tmp_path)
    assert result.stdout == explicit.stdout + last + "\n"
    for flags in (["--no-skip-zero"], ["--all"]):
        everything = lw("view", *flags, "big.lw", cwd=tmp_path)
        assert len(_tables(everything.stdout)) == n and "never ran" not in everything.stdout
    assert lw("view", "--all", "-z", "big.lw", cwd=tmp_path).returncode == 2


def test_text_shows_everything_up_to_the_limit():
    stats = big(AUTO_SKIP_ZERO, ran={3})
    out = io.StringIO()
    print_report(stats, out, skip_zero=None)
    assert len(_tables(out.getvalue())) == AUTO_SKIP_ZERO
    assert "never ran" not in out.getvalue()
    plain = io.StringIO()
    print_report(stats, plain)  # the API's default stays: everything
    assert plain.getvalue() == out.getvalue()


# --- HTML -------------------------------------------------------------------------------


def _data(page):
    block = re.search(r'<script type="application/json" id="lw-data">(.*?)</script>', page,
                      re.S)
    return json.loads(block.group(1)) if block else {}


def test_html_leaves_out_never_run_functions_and_says_how_many():
    stats = big(5, ran={1, 4})
    tree = Tree(render_report(stats))
    names = [next(f.all("span", "fname")).content() for f in tree.root.all("details", "func")]
    assert names == ["func4", "func1"]
    note, = [p for p in tree.root.all("p") if p.attrs.get("id") == "never-ran"]
    assert note.content().startswith("3 functions that never ran are not shown")
    tree = Tree(render_report(stats, show_all=True))
    assert len(list(tree.root.all("details", "func"))) == 5
    assert not [p for p in tree.root.all("p") if p.attrs.get("id") == "never-ran"]


def test_collapsed_functions_rows_are_data_not_markup():
    n = html_report.OPEN_FUNCTIONS + 10
    stats = big(n, ran=set(range(n)))
    page = render_report(stats)
    tree = Tree(page)
    funcs = list(tree.root.all("details", "func"))
    assert len(funcs) == n
    opened = [f for f in funcs if "open" in f.attrs]
    lazy = [f for f in funcs if "data-lazy" in f.attrs]
    assert len(opened) == html_report.OPEN_FUNCTIONS and len(lazy) == n - len(opened)
    assert all(len(list(f.all("tr"))) == 1 + 3 for f in opened)  # heading + 3 lines
    assert all(len(list(f.all("tr"))) == 1 for f in lazy)  # heading only
    data = _data(page)["lazy"]
    assert sorted(data) == sorted(f.attrs["id"] for f in lazy)
    # func{i} is f{n - i} (longest first); its line 2 ran i + 1 times
    last = data[f"f{n}"]
    assert [row[0] for row in last] == [1, 2, 3] and last[1][2] == "1"
    # the def line never ran: only its number and source; text without a colour (the
    # spaces between tokens) is a plain string, not ["", text]
    assert len(last[0]) == 2 and len(last[1]) == 8
    source = last[0][1]
    if isinstance(source, list):  # highlighted (Pygments installed)
        assert " " in source and all(isinstance(t, str) or t[0] for t in source)
    assert data["f21"][1][2] == str(n - 21 + 1)
    # the source is there once, as data
    assert page.count("marker0") == 1


@pytest.fixture
def page(tmp_path):
    n = html_report.OPEN_FUNCTIONS + 10
    path = tmp_path / "big.html"
    write_report(big(n, ran=set(range(n))), path)
    return path, n


def _rows(dom, fid):
    """{row id: [cell texts]} of function `fid`'s rows in a DOM dump."""
    tree = Tree(dom.replace("<!DOCTYPE html>", "", 1))
    func, = [d for d in tree.root.all("details", "func") if d.attrs["id"] == fid]
    return {tr.attrs["id"]: [td.content() for td in tr.all("td")]
            for tr in func.all("tr") if "id" in tr.attrs}


def test_the_page_renders_a_collapsed_function_when_opened(chromium, tmp_path, page):
    path, n = page
    fid = f"f{n - 2}"  # func2
    dom, stderr = run_chromium(chromium, tmp_path, path.as_uri() + f"#{fid}-L2",
                               "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    assert 'data-js-ready="1"' in re.search(r"<html[^>]*>", dom).group(0)
    rows = _rows(dom, fid)
    # the rows the script made are those html.py writes for an open function
    html_report_open = html_report.OPEN_FUNCTIONS
    try:
        html_report.OPEN_FUNCTIONS = n
        eager = _rows(render_report(big(n, ran=set(range(n)))), fid)
    finally:
        html_report.OPEN_FUNCTIONS = html_report_open
    assert rows == eager and rows[f"{fid}-L2"][1] == "3"
    # the other collapsed functions are still data only
    assert f'id="f{n - 1}-L2"' not in dom
    lazy = re.findall(r'<details class="func" id="f\d+"[^>]*\bdata-lazy', dom)
    assert len(lazy) == n - html_report.OPEN_FUNCTIONS - 1


def test_the_search_finds_code_of_collapsed_functions(chromium, tmp_path, page):
    path, n = page
    dom, stderr = run_chromium(chromium, tmp_path, path.as_uri() + "?q=marker3%20",
                               "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    shown = re.findall(r'<details class="func" id="(f\d+)"(?![^>]*\bhidden)[^>]*>', dom)
    assert shown == [f"f{n - 3}"]  # func3, collapsed, found by the text of its line 2
    assert "1 of %d functions" % n in dom
    assert f'id="f{n - 3}-L2"' in dom  # opened by the search, so rendered


def _overview(tree):
    """The function list's tbodies: [(id or None, hidden, [function names])]."""
    table = next(tree.root.all("table", "overview"))
    return [(b.attrs.get("id"), "hidden" in b.attrs,
             [next(tr.all("a")).content() for tr in b.all("tr")]) for b in table.all("tbody")]


def test_the_function_list_lays_out_its_top_rows_and_keeps_the_rest_hidden():
    top = html_report.OVERVIEW_ROWS
    page = render_report(big(top, ran=set(range(top))))
    (ident, hidden, names), = _overview(Tree(page))
    assert ident is None and not hidden and len(names) == top
    assert 'id="show-all-funcs"' not in page
    n = top + 5
    tree = Tree(render_report(big(n, ran=set(range(n)))))
    (first, hidden1, shown), (second, hidden2, rest) = _overview(tree)
    assert (first, hidden1, second, hidden2) == (None, False, "more-funcs", True)
    assert shown == [f"func{i}" for i in range(n - 1, n - 1 - top, -1)]  # longest first
    assert rest == [f"func{i}" for i in range(4, -1, -1)]
    button, = [b for b in tree.root.all("button") if b.attrs.get("id") == "show-all-funcs"]
    assert button.content() == f"Show all {n} functions"


def test_a_search_shows_the_hidden_part_of_the_function_list(chromium, tmp_path):
    n = html_report.OVERVIEW_ROWS + 5
    path = tmp_path / "list.html"
    write_report(big(n, ran=set(range(n))), path)
    dom, stderr = run_chromium(chromium, tmp_path, path.as_uri(), "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    assert re.search(r'<tbody id="more-funcs" hidden', dom)
    dom, stderr = run_chromium(chromium, tmp_path, path.as_uri() + "?q=marker2%20",
                               "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    assert re.search(r'<tbody id="more-funcs">', dom)  # func2 is past the top rows
    assert "1 of %d functions" % n in dom


# --- -p of a package ----------------------------------------------------------------------


def test_p_of_a_package_registers_only_the_modules_imported(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "used.py").write_text("def f(n):\n    return n + 1\n\n\ndef g():\n    return 2\n")
    (pkg / "unused.py").write_text("def h():\n    return 3\n")
    (tmp_path / "prog.py").write_text("import pkg.used\npkg.used.f(1)\npkg.used.f(2)\n")
    result = lw("run", "-q", "-p", "pkg", "-o", "out.lw", "prog.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from linewise.store import load_stats

    stats = load_stats(tmp_path / "out.lw")
    assert {(os.path.basename(k[0]), k[2]): [(ln, h) for ln, h, _ in rows]
            for k, rows in stats.timings.items()} == {
        ("used.py", "f"): [(2, 2)], ("used.py", "g"): []}  # g registered, never ran
