"""The per-process breakdown (linewise.reports.by_process): `view --by-process`, the HTML
page's per-line breakdown and the JSON document's "processes", on real multi-process
results: three real Python processes each profile tests/programs/basic.py's loop_sum with
a LineProfiler and dump their stats; the test tags each with tag_process (a parent, its
child, a worker) and sums them, as the child-process and Dask helpers do."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import line_of
from linewise import LineStats
from linewise.provenance import tag_process
from linewise.reports.by_process import ByProcessError, NoProcesses, split_by_process
from linewise.store import dump_stats, load_stats
from programs import basic

TESTS = pathlib.Path(__file__).resolve().parents[1]

# Each process profiles loop_sum(n) once: its lines' hits are 1, n + 1, n, 1.
CHILD = """\
import sys
sys.path.insert(0, sys.argv[1])
from linewise import LineProfiler
from programs.basic import loop_sum
lp = LineProfiler(loop_sum)
lp.enable_by_count()
loop_sum(int(sys.argv[3]))
lp.disable_by_count()
lp.dump_stats(sys.argv[2])
"""

ROLES = (("parent", 3), ("child", 5), ("worker", 7))


def _hits(n):
    return {line_of(basic, "ls_init"): 1, line_of(basic, "ls_for"): n + 1,
            line_of(basic, "ls_body"): n, line_of(basic, "ls_ret"): 1}


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """(path of the merged results file, [the processes' pids, in ROLES order])."""
    where = tmp_path_factory.mktemp("byproc")
    parts, pids = [], []
    for role, n in ROLES:
        out = where / f"{role}.lw"
        subprocess.run([sys.executable, "-c", CHILD, str(TESTS), str(out), str(n)],
                       check=True, timeout=60)
        stats = load_stats(out)
        pids.append(stats.runs[0]["pid"])
        parent = None if role == "parent" else pids[0]
        parts.append(tag_process(stats, role, parent_pid=parent))
    path = where / "merged.lw"
    dump_stats(sum(parts), path)
    return path, pids


def lw(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PYTHONPATH")}
    return subprocess.run([sys.executable, "-m", "linewise", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)


def _key(stats):
    key, = [k for k in stats.timings if k[2] == "loop_sum"]
    return key


def test_split_gives_each_process_its_own_hits_and_the_totals(merged):
    path, pids = merged
    stats = load_stats(path)
    key = _key(stats)
    total = {ln: sum(_hits(n)[ln] for _, n in ROLES) for ln in _hits(0)}
    assert {ln: h for ln, h, _ in stats.timings[key] if h} == total
    breakdown = split_by_process(stats)
    assert [(p.pid, p.role, p.parent) for p in breakdown.processes] == [
        (pids[0], "parent", ""), (pids[1], "child", pids[0]), (pids[2], "worker", pids[0])]
    for proc, (_, n) in zip(breakdown.processes, ROLES):
        assert {ln: h for ln, (h, _) in proc.lines[key].items()} == _hits(n)
        assert "-c" in proc.command
    assert breakdown.other == {}
    # the processes' times add up to the totals, line by line
    for ln, _, t in stats.timings[key]:
        assert sum(p.lines[key].get(ln, (0, 0))[1] for p in breakdown.processes) == t
    body = line_of(basic, "ls_body")
    assert [(p.role if p else None, h) for p, h, _ in breakdown.line(key, body)] == [
        ("parent", 3), ("child", 5), ("worker", 7)]


def test_untagged_runs_are_the_rest(merged):
    path, _ = merged
    stats = load_stats(path)
    key = _key(stats)
    body = line_of(basic, "ls_body")
    extra = LineStats({key: [(body, 4, 400)]}, stats.unit, meta={"pid": "1"})
    breakdown = split_by_process(stats + extra)
    assert breakdown.other == {key: {body: (4, 400)}}
    assert breakdown.line(key, body)[-1] == (None, 4, 400)


def test_view_by_process(merged):
    path, pids = merged
    result = lw("view", "--by-process", path, cwd=path.parent)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Per process: 3 processes (1 parent, 1 child, 1 worker)")
    lines = out.splitlines()
    body = line_of(basic, "ls_body")
    at = [i for i, text in enumerate(lines) if text.split()[:2] == [str(body), "15"]]
    assert len(at) == 1 and lines[at[0]].endswith("total += i  # L:ls_body")
    under = [text.split() for text in lines[at[0] + 1:at[0] + 4]]
    assert [row[0] for row in under] == ["3", "5", "7"]
    assert [row[-3:] for row in under] == [["pid", pids[0], "parent"],
                                          ["pid", pids[1], "child", "of", pids[0]][-3:],
                                          ["pid", pids[2], "worker", "of", pids[0]][-3:]]
    assert f"pid {pids[1]} child of {pids[0]}" in lines[at[0] + 2]
    # the process table names each one's command
    table = [text.split() for text in lines[3:6]]
    assert [row[:2] for row in table] == [[pids[0], "parent"], [pids[1], "child"],
                                          [pids[2], "worker"]]
    assert table[1][2] == pids[0]


def test_view_by_process_without_records(tmp_path):
    path = tmp_path / "one.lw"
    dump_stats(LineStats({("a.py", 1, "f"): [(2, 1, 10)]}), path)
    result = lw("view", "--by-process", "one.lw", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("one.lw: no per-process results in it")
    with pytest.raises(NoProcesses):
        from linewise.reports.by_process import print_by_process

        print_by_process(load_stats(path), None)


@pytest.mark.parametrize("lines", ['not json', '[["a.py", "one", "f", []]]',
                                   '[["a.py", 1, "f", [[2, "x", 3]]]]', '{"a": 1}'])
def test_broken_process_lines_is_one_line(tmp_path, lines):
    path = tmp_path / "bad.lw"
    stats = tag_process(LineStats({("a.py", 1, "f"): [(2, 1, 10)]}), "child", 7)
    stats.runs[0]["process.lines"] = lines
    dump_stats(stats, path)
    with pytest.raises(ByProcessError):
        split_by_process(load_stats(path))
    for how in (["--by-process"], ["--json"], ["--html", tmp_path / "p.html"]):
        result = lw("view", *how, path, cwd=tmp_path)
        assert result.returncode == 1, (how, result.stdout, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "broken process.lines" in result.stderr, result.stderr


# --- JSON and HTML ------------------------------------------------------------------------


def test_json_has_each_process_and_each_lines_share(merged):
    from test_jsonout import check

    path, pids = merged
    result = lw("view", "--json", path, cwd=path.parent)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    check(doc)  # the schema, version 2
    assert doc["version"] == 2
    assert [(p["pid"], p["role"], p["parent"]) for p in doc["processes"]] == [
        (pids[0], "parent", None), (pids[1], "child", pids[0]), (pids[2], "worker", pids[0])]
    assert [p["hits"] for p in doc["processes"]] == [sum(_hits(n).values()) for _, n in ROLES]
    func, = [f for f in doc["functions"] if f["name"] == "loop_sum"]
    for line in func["lines"]:
        assert [(e["process"], e["hits"]) for e in line["processes"]] == [
            (i, _hits(n)[line["line"]]) for i, (_, n) in enumerate(ROLES)]
        assert sum(e["hits"] for e in line["processes"]) == line["hits"]
    # one process: an empty list, and lines without "processes"
    single = json.loads(lw("view", "--json", path.parent / "child.lw", cwd=path.parent).stdout)
    check(single)
    assert single["processes"] == [] and "processes" not in single["functions"][0]["lines"][0]


def _page_data(page):
    import re

    block = re.search(r'<script type="application/json" id="lw-data">(.*?)</script>', page)
    return json.loads(block.group(1))


def test_html_page_holds_the_processes_and_each_lines_breakdown(merged):
    from test_html import Tree

    from linewise.reports.html import render_report

    path, pids = merged
    page = render_report(load_stats(path))
    tree = Tree(page)
    table, = tree.root.all("table", "processes")
    rows = [[td.content() for td in tr.all("td")] for tr in list(table.all("tr"))[1:]]
    assert [r[:3] for r in rows] == [[pids[0], "parent", ""], [pids[1], "child", pids[0]],
                                     [pids[2], "worker", pids[0]]]
    assert [int(r[4]) for r in rows] == [sum(_hits(n).values()) for _, n in ROLES]
    data = _page_data(page)
    assert [p[:3] for p in data["procs"]] == [r[:3] for r in rows]
    body = str(line_of(basic, "ls_body"))
    assert [(e[0], e[1]) for e in data["bylines"]["f1"][body]] == [(0, 3), (1, 5), (2, 7)]


def test_html_breakdown_shows_under_the_line_in_chromium(merged, tmp_path):
    import re

    from test_html import _find_chromium, console_errors, run_chromium

    chromium = _find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (tests/reports/test_html.py installs it)")
    path, pids = merged
    page = tmp_path / "procs.html"
    result = lw("view", "--html", page, path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = line_of(basic, "ls_body")
    dom, stderr = run_chromium(chromium, tmp_path, page.as_uri() + f"#f1-L{body}",
                               "--dump-dom")
    assert not console_errors(stderr), console_errors(stderr)
    assert 'data-js-ready="1"' in re.search(r"<html[^>]*>", dom).group(0)
    shown = re.search(r'<tr class="procs">.*?</table></td></tr>', dom, re.S).group(0)
    cells = re.findall(r"<tr><td class=\"num\">(\d+)</td><td class=\"num\">[^<]*</td>"
                       r"<td class=\"left\">([^<]*)</td>", shown)
    assert cells == [("3", f"pid {pids[0]} parent"), ("5", f"pid {pids[1]} child of {pids[0]}"),
                     ("7", f"pid {pids[2]} worker of {pids[0]}")]
    markup = dom.split("<script")[0]  # not the scripts' text
    assert markup.count('<tr class="procs">') == 1  # only the line linked to
    marked = re.findall(r'<tr id="f1-L\d+"[^>]*has-procs', markup)
    assert len(marked) == 4  # every line that ran can show its own
