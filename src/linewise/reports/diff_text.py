"""The text report of a comparison (linewise.reports.diff.Diff): ``linewise diff``.

A title and the totals, the lines that changed most, the functions by change, then each
function line by line: line numbers, hits and times before and after, change and ratio,
and the source with - and + marks for removed and added lines, as in a unified diff.
All times are in one unit, chosen to fit the biggest (or -u). Decoration goes through the
Painter protocol (linewise.reports.text.Painter; in colour: reports.color.DiffPainter).
"""
from __future__ import annotations

import sys

from ..source import visible
from ..units import pick_unit, unit_name
from .color import DiffPainter, diff_tokens
from .diff import Diff
from .text import Painter, write

__all__ = ["write_text", "format_ratio"]


def format_ratio(ratio) -> str:
    return "" if ratio is None else "%.2fx" % ratio


def _fmt(value, scale) -> str:
    return "%.3f" % (value / scale)


def _fmt_change(value, scale) -> str:
    text = "%+.3f" % (value / scale)
    return "0.000" if text in ("+0.000", "-0.000") else text


def write_text(diff: Diff, stream=None, unit=None, top=10, color=False, highlight=True,
               painter=None):
    """Writes the comparison as text to `stream` (default sys.stdout).

    unit: seconds per display unit (default: chosen to fit the biggest time); top: how
    many lines the "biggest changes" list shows (0: none); color: ANSI colours (see
    linewise.reports.color), highlight: syntax-highlighted source when coloured;
    painter: a Painter of your own instead (see linewise.reports.text.Painter).
    """
    if stream is None:
        stream = sys.stdout
    if painter is None:
        painter = DiffPainter(highlight) if color else Painter()
    style = _Style(painter)
    values = [diff.before_total, diff.after_total]
    values += [v for f in diff.functions for v in (f.before_total, f.after_total)]
    if unit is None:
        scale, uname = pick_unit(values)
    else:
        scale = float(unit)
        uname = unit_name(scale)
    out = []
    w = out.append
    w(style("title", f"Comparing {_v(diff.before_label)} (before) with "
                     f"{_v(diff.after_label)} (after)") + "\n")
    w(style("note", f"Times in {uname}; change = after - before, ratio = after / before.")
      + "\n\n")
    w(style("total", "Total: %s -> %s %s, change %s %s%s" % (
        _fmt(diff.before_total, scale), _fmt(diff.after_total, scale), uname,
        style("change", _fmt_change(diff.change, scale), value=diff.change), uname,
        f" ({format_ratio(diff.ratio)})" if diff.ratio is not None else "")) + "\n")

    # Lines whose change shows as 0.000 in this unit are left out of the list.
    biggest = [(func, line) for func, line in (diff.biggest_lines(top) if top else [])
               if _fmt_change(line.change, scale) != "0.000"]
    if biggest:
        wheres = [f"{_v(func.name)}:{_lineno(line)}" for func, line in biggest]
        width = max(len("Where"), *(len(where) for where in wheres))
        w("\n" + style("heading", "Biggest changes by line:") + "\n")
        header = "%12s %12s %12s %7s  %s    %s" % ("Change", "Before", "After", "Ratio",
                                                  "Where".ljust(width), "Line Contents")
        w(style("heading", header) + "\n")
        for (func, line), where in zip(biggest, wheres):
            mark = {"same": " ", "removed": "-", "added": "+"}[line.kind]
            w("%s %12s %12s %7s  %s  %s %s\n" % (
                style("change", "%12s" % _fmt_change(line.change, scale), value=line.change),
                _fmt(line.before_time, scale) if line.before_hits is not None else "",
                _fmt(line.after_time, scale) if line.after_hits is not None else "",
                format_ratio(line.ratio), where.ljust(width),
                style("mark", mark, row=line.kind), style.source(line.text.strip())))

    w("\n" + style("heading", "Functions, biggest change first:") + "\n")
    w(style("heading", "%12s %12s %12s %7s  %s" % ("Change", "Before", "After", "Ratio",
                                                  "Function")) + "\n")
    for func in diff.functions:
        note = {"added": "  (only after)", "removed": "  (only before)"}.get(func.status, "")
        w("%s %12s %12s %7s  %s%s\n" % (
            style("change", "%12s" % _fmt_change(func.change, scale), value=func.change),
            _fmt(func.before_total, scale) if func.before else "-",
            _fmt(func.after_total, scale) if func.after else "-",
            format_ratio(func.ratio), style("name", _v(func.name)), note))

    for func in diff.functions:
        w("\n")
        _write_function(w, style, func, scale, uname)
    write(stream, "".join(out))


_v = visible


class _Style:
    """A Painter as the writers below call it: style(kind, text, **info)."""

    def __init__(self, painter):
        self.painter = painter

    def __call__(self, kind, text, **info):
        return self.painter.paint(kind, text, **info)

    def source(self, text, tokens=None, dim=False):
        return self.painter.paint_source(text, tokens, dim=dim)

    def tokens(self, func):
        return diff_tokens(func, self.painter.tokens)


def _lineno(line):
    return line.after_line if line.after_line is not None else line.before_line


def _where(key):
    return f"{_v(key[0])}, line {key[1]}" if key else "-"


def _write_function(w, style, func, scale, uname):
    w(style("fname", f"Function: {_v(func.name)}") + "\n")
    if func.before and func.after and func.before[:2] != func.after[:2]:
        if func.before[0] == func.after[0]:
            w(style("file", f"File: {_v(func.before[0])}, line {func.before[1]} -> "
                            f"{func.after[1]}") + "\n")
        else:
            w(style("file", f"File: {_where(func.before)} -> {_where(func.after)}") + "\n")
    else:
        key = func.after or func.before
        w(style("file", f"File: {_where(key)}") + "\n")
    status = {"added": " (only after)", "removed": " (only before)"}.get(func.status, "")
    w(style("total", "Total: %s -> %s %s, change %s %s%s%s" % (
        _fmt(func.before_total, scale) if func.before else "-",
        _fmt(func.after_total, scale) if func.after else "-", uname,
        style("change", _fmt_change(func.change, scale), value=func.change), uname,
        f" ({format_ratio(func.ratio)})" if func.ratio is not None else "", status)) + "\n\n")
    heading1 = "%s  %s  %s" % ("Line #".center(13), "Hits".center(15),
                               f"Time ({uname})".center(32))
    heading2 = "%6s %6s  %7s %7s  %10s %10s %10s %7s   %s" % (
        "before", "after", "before", "after", "before", "after", "change", "ratio",
        "Line Contents")
    w(style("heading", heading1.rstrip()) + "\n" + style("heading", heading2) + "\n")
    w(style("rule", "=" * len(heading2)) + "\n")
    tokens = style.tokens(func)
    for line in func.lines:
        mark = {"same": " ", "removed": "-", "added": "+"}[line.kind]
        ran = bool(line.before_hits or line.after_hits)
        cells = "%6s %6s  %7s %7s  %10s %10s %10s %7s" % (
            "" if line.before_line is None else line.before_line,
            "" if line.after_line is None else line.after_line,
            "" if line.before_hits is None else line.before_hits,
            "" if line.after_hits is None else line.after_hits,
            _fmt(line.before_time, scale) if line.before_hits is not None else "",
            _fmt(line.after_time, scale) if line.after_hits is not None else "",
            _fmt_change(line.change, scale) if line.timed else "",
            format_ratio(line.ratio))
        source = style.source(line.text, tokens.get(id(line)), dim=not ran)
        w(style("cells", cells, line=line) + " " + style("mark", mark, row=line.kind) + " "
          + source + "\n")
