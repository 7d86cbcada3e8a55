"""Terminal colour (linewise.reports.color): escape codes only when asked for or on a terminal,
the plain text underneath unchanged, heat marks and dim rows, Pygments optional."""
import io
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from linewise import LineProfiler
from linewise.reports import color
from linewise.reports.color import strip_ansi, use_color
from linewise.reports.text import show_text

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "reports"
ESC = "\x1b["


class FakeTTY(io.StringIO):
    def isatty(self):
        return True




def plain_report(stats, **kw):
    out = io.StringIO()
    show_text(stats.timings, stats.unit, stream=out, sources=stats.sources, **kw)
    return out.getvalue()


def color_report(stats, highlight=True, **kw):
    out = io.StringIO()
    color.show_text(stats.timings, stats.unit, stream=out, sources=stats.sources,
                    highlight=highlight, **kw)
    return out.getvalue()


# --- when to colour ----------------------------------------------------------------------


@pytest.mark.parametrize("stream, env, choice, expected", [
    (io.StringIO(), {}, "auto", False),
    (FakeTTY(), {}, "auto", True),
    (FakeTTY(), {}, None, True),
    (FakeTTY(), {"NO_COLOR": "1"}, "auto", False),
    (FakeTTY(), {"NO_COLOR": ""}, "auto", True),  # no-color.org: empty means unset
    (FakeTTY(), {"TERM": "dumb"}, "auto", False),
    (io.StringIO(), {"NO_COLOR": "1"}, "always", True),
    (io.StringIO(), {}, True, True),
    (FakeTTY(), {}, "never", False),
    (FakeTTY(), {}, False, False),
])
def test_use_color(stream, env, choice, expected):
    assert use_color(stream, choice, environ=env) is expected


def test_use_color_rejects_other_values():
    with pytest.raises(ValueError, match="auto, always, never"):
        use_color(io.StringIO(), "sometimes")


def test_use_color_closed_stream():
    stream = io.StringIO()
    stream.close()
    assert use_color(stream, "auto", environ={}) is False


# --- the coloured report -----------------------------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"summarize": True}, {"output_unit": 1e-3},
                                {"stripzeros": True, "sort": True}])
def test_stripped_colour_is_the_plain_report(run1, kw):
    coloured = color_report(run1, **kw)
    assert ESC in coloured
    assert strip_ansi(coloured) == plain_report(run1, **kw)


def test_without_highlighting_stripped_is_plain_too(run1):
    coloured = color_report(run1, highlight=False)
    assert strip_ansi(coloured) == plain_report(run1)


def rows_of(text, needle):
    return [line for line in text.splitlines() if needle in strip_ansi(line)]


def test_heat_marks_by_percent(run1):
    coloured = color_report(run1, highlight=False)
    # 83.5 % of Cart.total: the hottest mark, on the % cell, line number in bold red
    hot, = rows_of(coloured, "amount += parse_price")
    assert "\x1b[1;97;41m    83.5\x1b[0m" in hot
    assert hot.startswith("\x1b[1;31m    14\x1b[0m")
    # 12.6 %: yellow; 0.2 %: no mark
    warm, = rows_of(coloured, "for item in self.items")
    assert "\x1b[33m    12.6\x1b[0m" in warm
    cold, = rows_of(coloured, "amount = 0")
    assert ESC not in cold
    # 18.3 % in parse_price: black on yellow
    middle, = rows_of(coloured, 'if "</td>" in text')
    assert "\x1b[30;43m    18.3\x1b[0m" in middle


def test_lines_never_run_are_dim(run1):
    coloured = color_report(run1, highlight=False)
    never, = rows_of(coloured, "raise ValueError")
    assert never.startswith("\x1b[2m")
    assert never.count("\x1b[2m") == 2  # the cells and the source
    comment, = rows_of(coloured, "# never below zero")
    assert comment.startswith("\x1b[2m")


def test_source_is_highlighted_with_pygments(run1):
    pytest.importorskip("pygments")
    coloured = color_report(run1)
    row, = rows_of(coloured, "return max(amount, 0)")
    assert "\x1b[35mreturn " in row  # keyword
    assert "\x1b[36mmax\x1b[0m" in row  # builtin
    never, = rows_of(coloured, "raise ValueError")
    assert "\x1b[2;35mraise\x1b[0m" in never  # dim keyword on a line never run


def test_multiline_string_highlighted_across_lines():
    pytest.importorskip("pygments")
    lines = ['def f():', '    s = """one', '    two', '    """', '    return s']
    tokens = color.source_tokens(lines)
    assert [kind for kind, _ in tokens[2]] == ["string"]
    assert ["".join(t for _, t in line) for line in tokens] == lines


def test_source_tokens_keep_odd_lines_exactly():
    pytest.importorskip("pygments")
    lines = ["def f(x):", "\tif x:  # tab", "\t\treturn '\\t'", "", "  ", "    return x \\",
             "        + 1", "# é ☃ 你好"]
    tokens = color.source_tokens(lines)
    assert tokens is not None
    assert ["".join(t for _, t in line) for line in tokens] == lines


def test_without_pygments_heat_marks_stay_source_is_plain(run1, monkeypatch):
    monkeypatch.setitem(sys.modules, "pygments", None)  # import pygments -> ImportError
    assert color.source_tokens(["x = 1"]) is None
    coloured = color_report(run1)
    assert strip_ansi(coloured) == plain_report(run1)
    hot, = rows_of(coloured, "amount += parse_price")
    assert "\x1b[1;97;41m" in hot
    assert hot.endswith("  amount += parse_price(item.price) * item.quantity")  # uncoloured


def test_colour_survives_an_ascii_stream(run1):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    color.show_text(run1.timings, run1.unit, stream=stream, sources=run1.sources)
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "\\u2014" in text or "\\xab" in text  # the em dash / guillemets, escaped


# --- print_stats -------------------------------------------------------------------------


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def profiled():
    lp = LineProfiler(work)
    lp.runcall(work, 50)
    return lp


def test_print_stats_plain_unless_asked():
    lp = profiled()
    out = io.StringIO()
    lp.print_stats(stream=out)
    assert ESC not in out.getvalue()
    out_never = io.StringIO()
    lp.print_stats(stream=out_never, color="never")
    assert out_never.getvalue() == out.getvalue()


def test_print_stats_color_always():
    lp = profiled()
    out = io.StringIO()
    lp.print_stats(stream=out, color="always")
    text = out.getvalue()
    assert ESC in text
    plain = io.StringIO()
    lp.print_stats(stream=plain)
    assert strip_ansi(text) == plain.getvalue()


def test_print_stats_auto_on_a_tty_stream(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    lp = profiled()
    out = FakeTTY()
    lp.print_stats(stream=out)
    assert ESC in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = FakeTTY()
    lp.print_stats(stream=out)
    assert ESC not in out.getvalue()


PROGRAM = textwrap.dedent("""\
    from linewise import LineProfiler

    def work(n):
        total = 0
        for i in range(n):
            total += i
        return total

    lp = LineProfiler(work)
    lp.runcall(work, 10)
    lp.print_stats()
""")


def run_on_a_terminal(tmp_path, env_extra):
    """Runs PROGRAM with its stdout on a pseudo-terminal; returns what it printed."""
    pty = pytest.importorskip("pty")
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env.update(env_extra)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, str(script)], stdout=slave,
                                stderr=subprocess.PIPE, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0, err.decode()
    return b"".join(chunks).decode()


def test_print_stats_colours_a_real_terminal(tmp_path):
    text = run_on_a_terminal(tmp_path, {"TERM": "xterm"})
    assert ESC in text
    assert re.search(r"Line Contents", strip_ansi(text))


def test_print_stats_no_color_on_a_real_terminal(tmp_path):
    text = run_on_a_terminal(tmp_path, {"TERM": "xterm", "NO_COLOR": "1"})
    assert ESC not in text
    assert "Line Contents" in text
