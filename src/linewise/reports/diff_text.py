"""The text report of a comparison (linewise.reports.diff.Diff): ``linewise diff``.

A title and the totals, the lines that changed most, the functions by change, then each
function line by line: line numbers, hits and times before and after, change and ratio,
and the source with - and + marks for removed and added lines, as in a unified diff.
All times are in one unit, chosen to fit the biggest (or -u). When either side has memory
figures, each function also shows its memory before and after, and its table each line's
Alloc, Net and Peak before and after, in one binary unit per table. Decoration goes through the
Painter protocol (linewise.reports.text.Painter; in colour: reports.color.DiffPainter).
"""
from __future__ import annotations

import sys

from ..source import visible
from ..units import format_bytes, format_bytes_in, pick_byte_unit, pick_unit, unit_name
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
        _write_function(w, style, func, scale, uname, diff.memory)
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


#: Width of the numeric part of a function's rows (before the memory cells), and of one
#: memory cell.
_NUMERIC = 72
_MEM = 9


def _memory_cell(values, index, scale) -> str:
    """One side's alloc (0), net (1, signed) or peak (2) in the table's unit, or ''."""
    return "" if values is None else format_bytes_in(values[index], scale, index == 1)


def _memory_totals(func) -> str:
    """ "Memory: alloc 1.0 MiB -> 2.0 MiB, net ..., peak ..." ('-' for a side without)."""
    parts = []
    for i, name in enumerate(("alloc", "net", "peak")):
        before, after = (("-" if side is None else format_bytes(side[i], signed=i == 1))
                         for side in (func.before_memory, func.after_memory))
        parts.append(f"{name} {before} -> {after}")
    return "Memory: " + ", ".join(parts)


def _write_function(w, style, func, scale, uname, memory=False):
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
        f" ({format_ratio(func.ratio)})" if func.ratio is not None else "", status)) + "\n"
      + (style("total", _memory_totals(func)) + "\n" if memory else "") + "\n")
    heading1 = "%s  %s  %s" % ("Line #".center(13), "Hits".center(15),
                               f"Time ({uname})".center(32))
    heading2 = "%6s %6s  %7s %7s  %10s %10s %10s %7s   %s" % (
        "before", "after", "before", "after", "before", "after", "change", "ratio",
        "Line Contents")
    if memory:
        mscale, munit = pick_byte_unit(
            [x for line in func.lines for side in (line.before_memory, line.after_memory)
             if side for x in side])
        heading1 = heading1.ljust(_NUMERIC) + "".join(
            "  " + f"{name} ({munit})".center(2 * _MEM + 1) for name in ("Alloc", "Net", "Peak"))
        heading2 = heading2[:_NUMERIC] + ("  %*s %*s" % (_MEM, "before", _MEM, "after")) * 3 \
            + heading2[_NUMERIC:]
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
        if memory:
            cells += "".join("  %*s %*s" % (_MEM, _memory_cell(line.before_memory, i, mscale),
                                            _MEM, _memory_cell(line.after_memory, i, mscale))
                             for i in range(3))
        source = style.source(line.text, tokens.get(id(line)), dim=not ran)
        w(style("cells", cells, line=line) + " " + style("mark", mark, row=line.kind) + " "
          + source + "\n")
