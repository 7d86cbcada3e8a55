"""The report options of the `linewise` command: `view --color/--html/--json`, `run -v
--color` and `diff`, end to end in subprocesses (as a user runs them), on the fixed results
files of tests/data/reports."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "reports"
ESC = "\x1b["


@pytest.fixture
def here(tmp_path):
    for name in ("run1.lw", "run2.lw"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def lw(*args, cwd, env=None):
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PYTHONPATH")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "linewise", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=environ, timeout=120)


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def test_view_plain_unless_asked(here):
    plain = ok(lw("view", "run1.lw", cwd=here))
    assert ESC not in plain.stdout  # a pipe is not a terminal
    summary = ok(lw("view", "--summary", "run1.lw", cwd=here))
    assert summary.stdout == (DATA / "view.txt").read_text(encoding="utf-8")
    never = ok(lw("view", "--color=never", "run1.lw", cwd=here))
    assert never.stdout == plain.stdout
    always = ok(lw("view", "--color", "always", "run1.lw", cwd=here, env={"NO_COLOR": "1"}))
    assert ESC in always.stdout
    from linewise.reports.color import strip_ansi

    assert strip_ansi(always.stdout) == plain.stdout


def test_view_color_choice_is_checked(here):
    result = lw("view", "--color=sometimes", "run1.lw", cwd=here)
    assert result.returncode == 2
    assert "--color" in result.stderr and "Traceback" not in result.stderr


def test_view_json(here):
    result = ok(lw("view", "--json", "run1.lw", cwd=here))
    doc = json.loads(result.stdout)
    assert doc == json.loads((DATA / "run1.json").read_text(encoding="utf-8"))
    both = json.loads(ok(lw("view", "--json", "run1.lw", "run2.lw", cwd=here)).stdout)
    assert both["meta"]["merged"] == "2"
    top = json.loads(ok(lw("view", "--json", "--top", "1", "run1.lw", cwd=here)).stdout)
    assert [f["name"] for f in top["functions"]] == ["Cart.total"]


def test_view_html(here):
    result = ok(lw("view", "--html", "report.html", "run1.lw", cwd=here))
    assert result.stdout == ""
    assert "report.html" in result.stderr
    page = (here / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>linewise report: run1.lw</title>" in page
    # idle never ran: left out, and counted
    assert page.count('<details class="func"') == 4
    assert "1 function that never ran is not shown" in page
    ok(lw("view", "--html", "all.html", "--all", "run1.lw", cwd=here))
    page = (here / "all.html").read_text(encoding="utf-8")
    assert page.count('<details class="func"') == 5 and "never ran" not in page


def test_view_html_and_json_exclude_each_other(here):
    result = lw("view", "--html", "x.html", "--json", "run1.lw", cwd=here)
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_view_html_to_a_missing_directory(here):
    result = lw("view", "--html", "nowhere/x.html", "run1.lw", cwd=here)
    assert result.returncode == 1
    assert "nowhere/x.html" in result.stderr and "Traceback" not in result.stderr


def test_diff_text(here):
    result = ok(lw("diff", "run1.lw", "run2.lw", cwd=here))
    assert result.stdout == (DATA / "diff.txt").read_text(encoding="utf-8")
    coloured = ok(lw("diff", "--color=always", "run1.lw", "run2.lw", cwd=here))
    assert ESC in coloured.stdout
    from linewise.reports.color import strip_ansi

    assert strip_ansi(coloured.stdout) == result.stdout


def test_diff_options(here):
    result = ok(lw("diff", "-u", "us", "--top", "3", "run2.lw", "run1.lw", cwd=here))
    assert result.stdout == (DATA / "diff-reversed.txt").read_text(encoding="utf-8")
    none = ok(lw("diff", "--top", "0", "run1.lw", "run2.lw", cwd=here))
    assert "Biggest changes" not in none.stdout


def test_diff_html(here):
    result = ok(lw("diff", "--html", "diff.html", "run1.lw", "run2.lw", cwd=here))
    assert "diff.html" in result.stderr
    page = (here / "diff.html").read_text(encoding="utf-8")
    assert "<title>linewise diff: run1.lw → run2.lw</title>" in page


@pytest.mark.parametrize("args, status, words", [
    (["diff", "run1.lw"], 2, "AFTER"),
    (["diff", "run1.lw", "missing.lw"], 1, "missing.lw"),
    (["diff", "--top", "-1", "run1.lw", "run2.lw"], 2, "--top"),
    (["diff", "-u", "parsecs", "run1.lw", "run2.lw"], 2, "unit"),
])
def test_diff_errors(here, args, status, words):
    result = lw(*args, cwd=here)
    assert result.returncode == status, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_mentions_diff(here):
    result = ok(lw("--help", cwd=here))
    assert "diff" in result.stdout
    ok(lw("diff", "--help", cwd=here))


def test_run_view_color(here):
    (here / "prog.py").write_text("@profile\ndef f(n):\n    return sum(range(n))\n\nf(10)\n")
    plain = ok(lw("run", "-q", "-v", "-o", "-", "prog.py", cwd=here))
    assert "Line Contents" in plain.stdout and ESC not in plain.stdout
    coloured = ok(lw("run", "-q", "-v", "--color=always", "-o", "-", "prog.py", cwd=here))
    assert ESC in coloured.stdout
