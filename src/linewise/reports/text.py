"""The plain-text report: one table per profiled function, then an optional summary.

The layout is the one line_profiler users know, reproduced byte for byte (as of
line_profiler 5.1, default column widths, no colour), so tools and eyes that read
line_profiler output read ours too::

    Timer unit: 1e-06 s

    Total time: 0.0004 s
    File: example.py
    Function: work at line 3

    Line #      Hits         Time  Per Hit   % Time  Line Contents
    ==============================================================
         3                                           def work():
         4         1        100.0    100.0     25.0      x = 1
         5         2        300.0    150.0     75.0      return x

Timings are ``(lineno, hits, time)`` triples with ``time`` counted in ``unit`` seconds.
Results with memory figures (linewise.reports.memory) get three more columns after
these, Alloc, Net and Peak, and a "Total memory" line per function; results without them
get line_profiler's table and nothing else.

A function's source comes from its file; ``source``/``sources`` supply it when the file
cannot be read (moved, deleted, generated), so saved results stay readable. What is
read, and how hostile results are shown safely, is linewise.source's.

Where line_profiler would crash, this module prints something sensible instead:
a line with 0 hits gets a blank "Per Hit" cell, source that no longer tokenizes (the
file was edited after profiling) is shown up to the last timed line, and text the
output stream cannot encode is written with backslash escapes.

Every decorated text (colour: linewise.reports.color; the diff's text report) goes
through the one Painter protocol defined here.
"""
from __future__ import annotations

import sys

from ..results import FunctionStats, LineStats
from ..source import shown_lines, table_lines, visible
from .memory import MEMORY_COLUMNS, MemoryTable, memory_by_key

__all__ = ["Painter", "show_func", "show_text", "print_report", "write_function", "write",
           "table_row", "COLUMNS", "CONTENTS_GAP", "AUTO_SKIP_ZERO"]

#: print_report leaves out the functions that never ran, unless asked not to, when more
#: than this many were profiled (a whole package's thousands of empty tables help no one).
AUTO_SKIP_ZERO = 100

#: Narrowest width of each numeric column; a column widens to fit its longest cell.
MIN_WIDTHS = {"line": 6, "hits": 9, "time": 12, "perhit": 8, "percent": 8}
COLUMNS = ("line", "hits", "time", "perhit", "percent")
HEADINGS = ("Line #", "Hits", "Time", "Per Hit", "% Time")
CONTENTS_HEADING = "Line Contents"
CONTENTS_GAP = "  "  # between the last numeric column and the source text

MISSING_FILE_NOTE = (
    "\n"
    "Could not find file {filename}\n"
    "Are you sure you are running this program from the same directory\n"
    "that you ran the profiler from?\n"
    "Continuing without the function's contents.\n"
)
NO_SOURCE_NOTE = (
    "\n"
    "The results hold no source for {filename}\n"
    "(it is read from that file only when asked: linewise view --source-from-disk)\n"
    "Continuing without the function's contents.\n"
)
REFUSED_FILE_NOTE = (
    "\n"
    "Not reading {filename}: {why}\n"
    "Continuing without the function's contents.\n"
)
#: The note for each reason a linewise.source.Source has no lines.
NOTES = {"missing": MISSING_FILE_NOTE, "not-read": NO_SOURCE_NOTE,
         "refused": REFUSED_FILE_NOTE}
SUMMARY_LINE = "{seconds:6.2f} seconds - {filename}:{lineno} - {name}\n"
HIDDEN_NOTE = ("{hidden} function{s} that never ran not shown (of {count} profiled; -z is "
               "the default above {limit}: --no-skip-zero shows them)\n")
#: After print_report's summary, when the results record it (the summary's seconds are
#: then each function's counted-once total: FunctionStats.once).
PROFILED_LINE = "{seconds:6.2f} seconds profiled (wall time; each function above counted once)\n"
#: Under "Timer unit" when the times were compensated (LineProfiler(compensate=True)).
COMPENSATED_LINE = "Compensated: {cost} ns per event subtracted (calibrated)\n\n"


# --- the hook for decorated output -----------------------------------------------------


class Painter:
    """Decorates a report's text (linewise.reports.color colours it for terminals).

    The reports call ``paint(kind, text, **info)`` with the plain text of each piece and
    write what it returns. Kinds of the table (show_text/show_func): "unit", "total",
    "file", "function", "missing", "heading", "rule", "summary", "note" (text with its newline,
    but heading and rule), and "row" (one table row, no newline; info: ``lineno``,
    ``cells``, the texts of the numeric cells in COLUMNS order, ``widths``, {column:
    width}, and ``contents``, the source text; the row is ``table_row(widths, cells,
    contents)``; with memory figures, ``cells`` has the Alloc, Net and Peak cells after
    those of COLUMNS, ``memory`` is the line's (alloc, net, peak) or None and
    ``memory_share`` its % of the function's alloc or None; a "memory" piece, the total
    memory line, follows "total"). Before a function's rows, ``start_function(func,
    lines)`` gets its FunctionStats and its source lines as shown (None when there are
    none).

    Kinds of the diff (linewise.reports.diff_text): "title", "note", "total", "heading",
    "rule", "name", "fname", "file", "change" (info: ``value``, the change in seconds),
    "mark" (info: ``row``, the row's kind) and "cells" (info: ``line``, the LineDiff).
    Source text goes through ``paint_source(text, tokens, dim)``; ``tokens(lines,
    filename)`` lexes lines for it (see reports.color.source_tokens; None: plain).

    This base class changes nothing: the report with it is the plain report.
    """

    def start_function(self, func, lines):
        pass

    def paint(self, kind, text, **info):
        return text

    def paint_source(self, text, tokens=None, dim=False):
        return text

    def tokens(self, lines, filename=""):
        return None


_PLAIN = Painter()


# --- the report ------------------------------------------------------------------------


def show_text(stats, unit, output_unit=None, stream=None, stripzeros=False,
              details=True, summarize=False, sort=False, sources=None, rich=False,
              config=None, painter=None, from_disk=True, memory=None):
    """Writes the report for `stats` to `stream` (default: sys.stdout).

    stats: ``{(filename, first_lineno, qualname): [(lineno, hits, time), ...]}``.
    unit: seconds per unit of ``time``; output_unit: seconds per unit shown in the
    Time and Per Hit columns (default: `unit`).
    stripzeros: leave out functions never run (in the summary: that took no time).
    details: print each function's table; summarize: end with one line per function.
    sort: order functions by total time, shortest first (default: the order of stats).
    sources: optional ``{key: [source lines from first_lineno]}`` saved with the results.
    rich, config: accepted for line_profiler compatibility and ignored (plain text, default
    column widths).
    painter: optional hook that decorates each piece of the text (see Painter); None
    writes the plain text.
    from_disk: read a function's source from its file when `sources` has none (False for
    results loaded from a file, unless the user asks: see linewise.source).
    memory: ``{key: {lineno: (alloc, net, peak)}}`` (linewise.reports.memory.memory_by_key)
    for the memory columns; None: none, line_profiler's table.
    """
    functions = LineStats(stats, unit, sources=sources).select(
        sort="shortest" if sort else False)
    _write_report(functions, unit, output_unit, stream, stripzeros, details, summarize,
                  painter, from_disk, memory)


def print_report(stats, stream, unit=None, skip_zero=False, summary=False, sort=False,
                 top=None, painter=None, from_disk=None) -> None:
    """Prints the line-by-line report of `stats` (a LineStats) to `stream`: the `top`
    functions with the most time (all if None), shortest first with sort; skip_zero
    leaves out the functions never run (None: when more than AUTO_SKIP_ZERO functions
    were profiled, and a last line says how many). unit: seconds per unit of the Time columns
    (default: the results'). painter: decorates the text (a Painter; for colours
    linewise.reports.color.TerminalPainter; None: plain); from_disk: read the sources the results lack from their files (default: unless the
    results were loaded from a file)."""
    if from_disk is None:
        from_disk = not getattr(stats, "sources_complete", False)
    functions = stats.select(top=top, sort="shortest" if sort else False)
    hidden = 0
    if skip_zero is None:  # the default: -z when more than AUTO_SKIP_ZERO were profiled
        skip_zero = len(stats.timings) > AUTO_SKIP_ZERO
        if skip_zero:
            hidden = sum(1 for func in functions if not any(h for _, h, _ in func.rows))
    meta = getattr(stats, "meta", {}) or {}
    cost = meta.get("event_cost_ns")
    _write_report(functions, stats.unit, unit, stream, skip_zero, True, summary, painter,
                  from_disk, memory_by_key(stats), once=True,
                  compensated=cost if isinstance(cost, str) else None,
                  profiled=getattr(stats, "profiled", None))
    if hidden:
        write(stream, (painter or _PLAIN).paint("note", HIDDEN_NOTE.format(
            hidden=hidden, s="s" if hidden != 1 else "", count=len(stats.timings),
            limit=AUTO_SKIP_ZERO)))


def _write_report(functions, unit, output_unit, stream, stripzeros, details, summarize,
                  painter, from_disk, memory=None, once=False, compensated=None,
                  profiled=None):
    """once: the summary's seconds are counted-once totals, then the seconds `profiled`."""
    if stream is None:
        stream = sys.stdout
    paint = painter or _PLAIN
    shown_unit = unit if output_unit is None else output_unit
    write(stream, paint.paint("unit", "Timer unit: %g s\n\n" % shown_unit))
    if compensated:
        write(stream, paint.paint("unit", COMPENSATED_LINE.format(cost=visible(compensated))))
    if details:
        for func in functions:
            if stripzeros and not sum(hits for _, hits, _ in func.rows):
                continue
            write_function(func, unit, output_unit, stream, painter, from_disk,
                           None if memory is None else memory.get(func.key, {}))
    if summarize:
        # line_profiler's rule here: a function is left out when it took no time.
        for func in functions:
            seconds = (func.once if once else sum(time for _, _, time in func.rows)) * unit
            if stripzeros and not seconds:
                continue
            write(stream, paint.paint("summary", SUMMARY_LINE.format(
                seconds=seconds, filename=visible(func.filename), lineno=func.first_lineno,
                name=visible(func.name))))
        if once and profiled is not None:
            write(stream, paint.paint("summary", PROFILED_LINE.format(seconds=profiled)))


def show_func(filename, start_lineno, func_name, timings, unit, output_unit=None,
              stream=None, stripzeros=False, source=None, painter=None, from_disk=True):
    """Writes the table for one function to `stream` (default: sys.stdout).

    timings: ``[(lineno, hits, time), ...]`` with ``time`` in `unit` seconds.
    source: the function's source lines from `start_lineno` on, used when `filename`
    cannot be read. With stripzeros, a function with no hits prints nothing.
    from_disk: whether `filename` may be read (see show_text).
    """
    if stripzeros and sum(hits for _, hits, _ in timings) == 0:
        return
    func = FunctionStats((filename, start_lineno, func_name), timings, unit, source)
    write_function(func, unit, output_unit, stream, painter, from_disk)


def write_function(func, unit=None, output_unit=None, stream=None, painter=None,
                   from_disk=True, memory=None):
    """Writes the table of one FunctionStats to `stream` (default: sys.stdout); unit:
    seconds per unit of its times (default: its own). memory: its {lineno: (alloc, net,
    peak)} (linewise.reports.memory.memory_lines) for the memory columns; None: none."""
    if stream is None:
        stream = sys.stdout
    if unit is None:
        unit = func.unit
    if output_unit is None:
        output_unit = unit
    # line_profiler's total counts every row (one repeated in a hand-made table too).
    total_time = sum(time for _, _, time in func.rows)
    paint = painter or _PLAIN
    start_lineno = func.first_lineno

    write(stream, paint.paint("total", "Total time: %g s\n" % (total_time * unit)))
    mem = None if memory is None else MemoryTable(memory, func.lines)
    if mem is not None:
        write(stream, paint.paint("memory", mem.total_line()))
    shown_name = visible(func.filename)
    found = func.source_lines(from_disk)
    if found.block is None:
        note = NOTES[found.missing].replace("{why}", found.why or "")
        write(stream, paint.paint("missing", note.format(filename=shown_name)))
        texts = None
    else:
        write(stream, paint.paint("file", f"File: {shown_name}\n"))
        write(stream, paint.paint("function", f"Function: {visible(func.name)} at line "
                                              f"{start_lineno}\n"))
        texts = shown_lines(found.block)
    paint.start_function(func, texts)

    scale = unit / output_unit
    cells = {lineno: _cells(hits, time, total_time, scale)
             for lineno, (hits, time) in func.lines.items()}
    widths = _column_widths(cells.values())
    headings = HEADINGS
    if mem is not None:
        cells = {lineno: row + mem.cells(lineno) for lineno, row in cells.items()}
        widths.update(mem.widths(row[len(COLUMNS) - 1:] for row in cells.values()))
        headings += mem.headings()
    header = table_row(widths, headings, CONTENTS_HEADING)
    write(stream, "\n" + paint.paint("heading", header) + "\n"
          + paint.paint("rule", "=" * len(header)) + "\n")
    no_cells = ("",) * (len(headings) - 1)
    for lineno, line in table_lines(start_lineno, func.rows, found.block, found.lines,
                                    texts):
        row_cells = (str(lineno),) + cells.get(lineno, no_cells)
        row = table_row(widths, row_cells, line)
        if painter is not None:
            extra = {} if mem is None else {"memory": mem.values(lineno),
                                            "memory_share": mem.share(lineno)}
            row = painter.paint("row", row, lineno=lineno, cells=row_cells, widths=widths,
                                contents=line, **extra)
        write(stream, row + "\n")
    write(stream, "\n")


# --- the numbers -----------------------------------------------------------------------


def _cells(hits, time, total_time, scale):
    """The four numeric cells of one line; times are rescaled to the output unit."""
    hits_text = _fit_or_general("%d", hits, MIN_WIDTHS["hits"], "%g")
    time_text = _fit_or_general("%5.1f", time * scale, MIN_WIDTHS["time"])
    if hits == 0:  # line_profiler divides by zero here; we leave the cell blank
        per_hit_text = ""
    else:
        per_hit_text = _fit_or_general("%5.1f", float(time) * scale / hits, MIN_WIDTHS["perhit"])
    # A line can take more than its function's total (other lines' times are negative):
    # a share too long for the column is shown in the short form, as the other columns.
    percent_text = "" if total_time == 0 else _fit_percent(100 * time / total_time)
    return hits_text, time_text, per_hit_text, percent_text


def _fit_or_general(fmt, value, width, general="%5.3g"):
    """`value` in `fmt`, or in the shorter `general` format if that would exceed `width`."""
    text = fmt % value
    return text if len(text) <= width else general % value


def _fit_percent(value):
    """A share in percent as line_profiler prints it, or shorter forms if that is wider
    than its column."""
    for fmt in ("%5.1f", "%5.3g", "%.2g", "%.1g"):
        text = fmt % value
        if len(text) <= MIN_WIDTHS["percent"]:
            break
    return text


def _column_widths(all_cells):
    """Column widths: the minimums, widened to fit the hits, time and per-hit cells."""
    widths = dict(MIN_WIDTHS)
    for cells in all_cells:
        for column, text in zip(("hits", "time", "perhit"), cells):
            widths[column] = max(widths[column], len(text))
    return widths


def table_row(widths, cells, contents):
    """One line of the table: right-aligned cells (COLUMNS, then the memory columns if
    given), then the source text."""
    numeric = " ".join(text.rjust(widths[column])
                       for column, text in zip(COLUMNS + MEMORY_COLUMNS, cells))
    return numeric + CONTENTS_GAP + contents


# --- output ----------------------------------------------------------------------------


def write(stream, text):
    """Writes `text`, escaping what the stream's encoding cannot represent."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
