"""Memory per line in the reports: the Alloc, Net and Peak columns, read from the results.

Results made with ``LineProfiler(..., memory=True)`` carry three extra per-line columns
(LineStats.columns, declared in column_types; docs/results-format.md):

* ``alloc`` (u64, sum): bytes allocated while the line ran, callees included;
* ``net`` (i64, sum): the change in live memory from the line's start to its end;
* ``peak`` (u64, max): the highest live memory above the line's starting level while it ran.

Results without them (time only, line_profiler's files, older results) have no memory
figures, and every report then is exactly what it is without this module. The reports
read the figures through this module only: which lines have them, one function's
figures, the unit a table shows them in, and their text. A function's own figures are
those of its whole calls when the results hold them (the columns call_alloc, call_net
and call_peak: summed over the function's rows, the highest peak, as
LineStats.call_memory reads them), else the sum of its lines' alloc and net and the
largest of their peaks (function_totals).

Sizes are shown in binary units picked per table (linewise.units.BYTE_SCALES): the
largest unit in which the table's biggest figure is at least 1.
"""
from __future__ import annotations

import html

from ..units import format_bytes, format_bytes_in, pick_byte_unit

__all__ = ["MEMORY_COLUMNS", "HEADINGS", "has_memory", "memory_lines", "memory_by_key",
           "function_totals", "LineMemory", "MemoryTable", "totals_text", "html_heading",
           "html_cells", "html_summary", "html_overall", "json_fields"]

#: The results columns, in the order the reports show them (after line_profiler's).
MEMORY_COLUMNS = ("alloc", "net", "peak")
#: Their headings (the text table adds the unit: "Alloc (MiB)").
HEADINGS = ("Alloc", "Net", "Peak")
#: Narrowest width of each column of the text table ("Alloc (KiB)" and a space).
MIN_WIDTH = 12
ZERO = (0, 0, 0)


def has_memory(stats) -> bool:
    """Whether the LineStats `stats` carries the memory columns (all three)."""
    columns = getattr(stats, "columns", None) or {}
    return all(name in columns for name in MEMORY_COLUMNS)


#: The columns of a function's whole-call figures (on its rows; summed, summed, max).
CALL_COLUMNS = ("call_alloc", "call_net", "call_peak")


class LineMemory(dict):
    """{lineno: (alloc, net, peak)} of one function, and ``totals``, its whole calls'
    (alloc, net, peak) when the results hold them (else None)."""

    totals = None


def memory_lines(stats, key):
    """The LineMemory of the function `key` (empty when it has none), or None when the
    results have no memory columns."""
    if not has_memory(stats):
        return None
    alloc, net, peak = (stats.columns[name].get(key) or {} for name in MEMORY_COLUMNS)
    lines = LineMemory({lineno: (alloc.get(lineno, 0), net.get(lineno, 0),
                                 peak.get(lineno, 0)) for lineno in {*alloc, *net, *peak}})
    if all(name in stats.columns for name in CALL_COLUMNS):
        values = [(stats.columns[name].get(key) or {}).values() for name in CALL_COLUMNS]
        lines.totals = (sum(values[0]), sum(values[1]), max(values[2], default=0))
    return lines


def memory_by_key(stats):
    """{key: memory_lines(stats, key)} for every function of `stats`, or None when the
    results have no memory columns."""
    if not has_memory(stats):
        return None
    return {key: memory_lines(stats, key) for key in stats.timings}


def function_totals(lines) -> tuple:
    """(alloc, net, peak) of a function: its whole calls' when `lines` (a LineMemory)
    holds them, else from its lines' {lineno: (alloc, net, peak)}: alloc and net summed,
    the highest peak (0, 0, 0 for none)."""
    totals = getattr(lines, "totals", None)
    if totals is not None:
        return totals
    values = list(lines.values())
    return (sum(v[0] for v in values), sum(v[1] for v in values),
            max((v[2] for v in values), default=0))


def totals_text(totals) -> str:
    """ "alloc 47.7 MiB, net +47.7 MiB, peak 47.7 MiB": each in its own unit."""
    alloc, net, peak = totals
    return (f"alloc {format_bytes(alloc)}, net {format_bytes(net, signed=True)}, "
            f"peak {format_bytes(peak)}")


class MemoryTable:
    """The memory columns of one function's table: `memory` its {lineno: (alloc, net,
    peak)}, `timed` the lines the table has figures for ({lineno: (hits, time)}); a
    timed line without memory figures shows zeros. One unit for the whole table."""

    def __init__(self, memory, timed):
        self.memory = memory
        self.timed = timed
        self.totals = function_totals(memory)
        shown = [v for lineno, v in memory.items() if lineno in timed]
        self.scale, self.unit = pick_byte_unit(
            [x for alloc, net, peak in shown for x in (alloc, net, peak)])

    def values(self, lineno):
        """(alloc, net, peak) of a line of the table, or None when it has no figures."""
        if lineno not in self.timed:
            return None
        return self.memory.get(lineno, ZERO)

    def cells(self, lineno) -> tuple:
        """The three cells of a line in the table's unit (net signed; blank when the line
        has no figures)."""
        values = self.values(lineno)
        if values is None:
            return ("", "", "")
        alloc, net, peak = values
        return (format_bytes_in(alloc, self.scale), format_bytes_in(net, self.scale, True),
                format_bytes_in(peak, self.scale))

    def headings(self) -> tuple:
        return tuple(f"{name} ({self.unit})" for name in HEADINGS)

    def widths(self, all_cells) -> dict:
        """{column: width} of the three columns for these rows' cells."""
        widths = {name: MIN_WIDTH for name in MEMORY_COLUMNS}
        for cells in all_cells:
            for name, text in zip(MEMORY_COLUMNS, cells):
                widths[name] = max(widths[name], len(text))
        return widths

    def total_line(self) -> str:
        return f"Total memory: {totals_text(self.totals)}\n"

    def share(self, lineno):
        """The line's alloc as a % of the function's (None if it allocated nothing)."""
        values = self.values(lineno)
        if values is None or self.totals[0] <= 0:
            return None
        return 100.0 * values[0] / self.totals[0]


# --- HTML ------------------------------------------------------------------------------


def html_heading() -> str:
    """The <th> cells of the memory columns and their heat bar."""
    return ("<th>Alloc</th><th>Net</th><th>Peak</th>"
            '<th class="left" title="share of the function\'s allocated bytes">Memory</th>')


def html_cells(table, lineno) -> str:
    """The <td> cells of one line: its sizes (each in its own unit, the exact bytes in
    the title) and the second heat bar, its share of the function's alloc."""
    values = table.values(lineno)
    if values is None:
        return '<td class="num"></td>' * 3 + '<td class="left"></td>'
    out = []
    for value, signed in zip(values, (False, True, False)):
        out.append(f'<td class="num" title="{value} B">'
                   f'{html.escape(format_bytes(value, signed))}</td>')
    share = table.share(lineno)
    bar = ""
    if share is not None:
        width = "%.2f%%" % max(0.0, min(100.0, share))
        bar = f'<span class="bar mem"><i style="width:{width}"></i></span>'
    return "".join(out) + f'<td class="left">{bar}</td>'


def html_summary(totals) -> str:
    """The figures of a function's header on the page."""
    return f'<span class="fmem">{html.escape(totals_text(totals))}</span>'


def html_overall(memories) -> str:
    """The page summary's memory figures of the functions shown (their {lineno: (alloc,
    net, peak)}): alloc and net summed, the highest peak."""
    totals = [function_totals(lines) for lines in memories]
    overall = (sum(t[0] for t in totals), sum(t[1] for t in totals),
               max((t[2] for t in totals), default=0))
    return (f"{html.escape(totals_text(overall))} in the functions shown "
            '<span class="note">(alloc and net summed over them, the highest peak)</span>')


def html_diff_heading() -> str:
    """The <th> cells of a diff page's memory columns (before → after)."""
    return "<th>Alloc</th><th>Net</th><th>Peak</th>"


def html_diff_cells(before, after) -> str:
    """The <td> cells of one line (or function) of a diff page: each figure before → after
    (each in its own unit, the exact bytes in the title); "–" for a side without it."""
    if before is None and after is None:
        return '<td class="num"></td>' * 3
    out = []
    for i, signed in enumerate((False, True, False)):
        sides = [None if v is None else v[i] for v in (before, after)]
        text = " → ".join("–" if v is None else format_bytes(v, signed) for v in sides)
        title = " → ".join("–" if v is None else f"{v} B" for v in sides)
        out.append(f'<td class="num" title="{html.escape(title)}">{html.escape(text)}</td>')
    return "".join(out)


# --- JSON ------------------------------------------------------------------------------


def json_fields(values) -> dict:
    """{"alloc": ..., "net": ..., "peak": ...} in bytes, for a line or a function."""
    return dict(zip(MEMORY_COLUMNS, (int(v) for v in values)))
