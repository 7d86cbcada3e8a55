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
A function's source comes from its file; ``source``/``sources`` supply it when the file
cannot be read (moved, deleted, generated), so saved results stay readable.

Where line_profiler would crash, this module prints something sensible instead:
a line with 0 hits gets a blank "Per Hit" cell, source that no longer tokenizes (the
file was edited after profiling) is shown up to the last timed line, and text the
output stream cannot encode is written with backslash escapes.

Results files come from anywhere, so nothing in them is trusted (see README, Reliability):

* control characters in names, file names and source are shown as escapes (``\x1b``,
  ``\n``...), never sent to the terminal (tabs in source are kept);
* source is read from disk only when asked (``from_disk``; the profiling process itself
  does, ``linewise view`` only with --source-from-disk), only from regular files of at
  most MAX_SOURCE_BYTES, never from /proc, /sys or /dev;
* timed lines the source does not cover (below the function's first line, after its
  block) get rows too, and line numbers far apart are not filled with blank rows: the
  table has rows for the lines that have source or timings (and blank rows across gaps
  of at most GAP_FILL lines when there is no source), so its size follows the data.
"""
from __future__ import annotations

import inspect
import io
import linecache
import os
import re
import stat
import sys
import tempfile
import tokenize
import types

__all__ = ["Painter", "show_func", "show_text"]

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
SUMMARY_LINE = "{seconds:6.2f} seconds - {filename}:{lineno} - {name}\n"

#: Largest source file read from disk (bytes): the biggest real modules are a few MB.
MAX_SOURCE_BYTES = 16 * 1024 * 1024
#: Without source, blank rows fill gaps of at most this many lines between the lines
#: shown (as line_profiler does for a missing file); longer gaps show as a jump in the
#: line numbers, so a line numbered 2**31-1 costs one row, not two billion.
GAP_FILL = 10
#: Where source is never read from, whatever a results file names: kernel interfaces
#: and devices, whose "files" are live data (/proc/self/environ) or endless (/dev/zero).
SYSTEM_DIRS = ("/proc", "/sys", "/dev")

# Tokens that open a block in Cython sources, as "def" and "class" do in Python.
CYTHON_BLOCK_OPENERS = frozenset({"cdef", "cpdef", "property"})


# --- the report ------------------------------------------------------------------------


def show_text(stats, unit, output_unit=None, stream=None, stripzeros=False,
              details=True, summarize=False, sort=False, sources=None, rich=False,
              config=None, painter=None, from_disk=True):
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
    results loaded from a file, unless the user asks: see the module doc).
    """
    if stream is None:
        stream = sys.stdout
    sources = sources or {}
    paint = painter or _PLAIN
    shown_unit = unit if output_unit is None else output_unit
    _write(stream, paint.paint("unit", "Timer unit: %g s\n\n" % shown_unit))

    functions = _functions_in_order(stats, sort)
    if details:
        for key, timings in functions:
            filename, start_lineno, name = key
            show_func(filename, start_lineno, name, timings, unit, output_unit=output_unit,
                      stream=stream, stripzeros=stripzeros, source=sources.get(key),
                      painter=painter, from_disk=from_disk)
    if summarize:
        _write_summary(functions, unit, stream, stripzeros, paint)


def show_func(filename, start_lineno, func_name, timings, unit, output_unit=None,
              stream=None, stripzeros=False, source=None, painter=None, from_disk=True):
    """Writes the table for one function to `stream` (default: sys.stdout).

    timings: ``[(lineno, hits, time), ...]`` with ``time`` in `unit` seconds.
    source: the function's source lines from `start_lineno` on, used when `filename`
    cannot be read. With stripzeros, a function with no hits prints nothing.
    from_disk: whether `filename` may be read (see show_text).
    """
    if stream is None:
        stream = sys.stdout
    if stripzeros and sum(hits for _, hits, _ in timings) == 0:
        return
    if output_unit is None:
        output_unit = unit
    total_time = _total(timings)
    paint = painter or _PLAIN

    _write(stream, paint.paint("total", "Total time: %g s\n" % (total_time * unit)))
    shown_name = visible(filename)
    block, all_lines, note = _source(filename, start_lineno, timings, source, from_disk)
    if block is None:
        _write(stream, paint.paint("missing", note.format(filename=shown_name)))
        texts = None
    else:
        _write(stream, paint.paint("file", f"File: {shown_name}\n"))
        _write(stream, paint.paint("function", f"Function: {visible(func_name)} at line "
                                               f"{start_lineno}\n"))
        texts = [visible_source(_strip_line_end(line)) for line in block]
    paint.start_function(filename, start_lineno, texts, timings, total_time)

    cells = _cells_by_line(timings, total_time, unit / output_unit)
    widths = _column_widths(cells.values())
    header = _table_row(widths, HEADINGS, CONTENTS_HEADING)
    _write(stream, "\n" + paint.paint("heading", header) + "\n"
           + paint.paint("rule", "=" * len(header)) + "\n")
    no_cells = ("",) * (len(COLUMNS) - 1)
    for lineno, line in _table_lines(start_lineno, timings, block, all_lines, texts):
        row_cells = (str(lineno),) + cells.get(lineno, no_cells)
        row = _table_row(widths, row_cells, line)
        if painter is not None:
            row = painter.paint("row", row, lineno=lineno, cells=row_cells, widths=widths,
                                contents=line)
        _write(stream, row + "\n")
    _write(stream, "\n")


# --- ordering and summary --------------------------------------------------------------


def _total(timings):
    """The sum of a function's line times, in its unit."""
    return sum(time for _, _, time in timings)


def _functions_in_order(stats, sort):
    """(key, timings) pairs: as given, or by ascending total time (ties keep their order)."""
    functions = list(stats.items())
    if sort:
        functions.sort(key=lambda item: _total(item[1]))
    return functions


def _write_summary(functions, unit, stream, stripzeros, paint):
    """One line per function: its total seconds, where it is and its name."""
    for (filename, lineno, name), timings in functions:
        seconds = _total(timings) * unit
        if stripzeros and not seconds:
            continue
        _write(stream, paint.paint("summary", SUMMARY_LINE.format(
            seconds=seconds, filename=visible(filename), lineno=lineno, name=visible(name))))


# --- the hook for decorated output -----------------------------------------------------


class Painter:
    """Decorates the report's text (linewise.color colours it for terminals).

    show_text/show_func call ``paint(kind, text, **info)`` with the plain text of each
    piece and write what it returns. Kinds: "unit", "total", "file", "function",
    "missing", "heading", "rule", "summary" (text with its newline, but heading and rule),
    and "row" (one table row, no newline; info: ``lineno``, ``cells``, the texts of the
    numeric cells in COLUMNS order, ``widths``, {column: width}, and ``contents``, the
    source text; the row is ``_table_row(widths, cells, contents)``). Before a function's
    rows, ``start_function`` gets its
    file, first line, source lines (None when the file is missing), timings and total.
    This base class changes nothing: the report with it is the plain report.
    """

    def start_function(self, filename, start_lineno, lines, timings, total_time):
        pass

    def paint(self, kind, text, **info):
        return text


_PLAIN = Painter()


# --- the numbers -----------------------------------------------------------------------


def _cells_by_line(timings, total_time, scale):
    """{lineno: (hits, time, per hit, percent)} as text; a repeated lineno keeps its last."""
    return {lineno: _cells(hits, time, total_time, scale) for lineno, hits, time in timings}


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


def _table_row(widths, cells, contents):
    """One line of the table: right-aligned cells, then the source text."""
    numeric = " ".join(text.rjust(widths[column]) for column, text in zip(COLUMNS, cells))
    return numeric + CONTENTS_GAP + contents


def _strip_line_end(line):
    return line.rstrip("\n").rstrip("\r")


# --- the source ------------------------------------------------------------------------


def _function_lines(filename, start_lineno, timings, source, from_disk=True):
    """The function's source lines from start_lineno to the end of its block.

    `source` (saved with the results) wins over the file: the file may have been edited
    since the run, and the saved text is what the timings belong to. None when there is no
    `source` and the file is missing, refused (see _read_file_lines) or not to be read
    (from_disk False).
    """
    return _source(filename, start_lineno, timings, source, from_disk)[0]


def _source(filename, start_lineno, timings, source, from_disk):
    """(block, all lines from start_lineno, None) or (None, None, note): the note (a
    template taking the shown file name) says why there is no source."""
    if source is not None:
        lines = _as_lines(source)
        return _code_block(lines, start_lineno, timings), lines, None
    generated = _is_generated_code(filename)
    if not (generated or os.path.exists(filename)):  # (looking costs nothing, reading might)
        return None, None, MISSING_FILE_NOTE
    if not from_disk:
        return None, None, NO_SOURCE_NOTE
    lines = _read_file_lines(filename)
    if isinstance(lines, str):
        return None, None, REFUSED_FILE_NOTE.replace("{why}", lines)
    lines = lines[start_lineno - 1:] if start_lineno >= 1 else []
    return _code_block(lines, start_lineno, timings), lines, None


def _read_file_lines(filename):
    """The lines of a file (each ending in a newline), read afresh; [] if unreadable; a
    str saying why when the file is refused: not a regular file (a FIFO would block, a
    device never end), larger than MAX_SOURCE_BYTES, or under SYSTEM_DIRS.

    Generated code (notebook cells) has no file: its lines live in linecache only.
    """
    if not os.path.exists(filename):
        return linecache.getlines(filename)
    if _is_system_path(filename):
        return "it is a system file, not source"
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        fd = os.open(filename, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):
        return []
    with open(fd, "rb") as f:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return "it is not a regular file"
            if info.st_size > MAX_SOURCE_BYTES:
                return f"it is larger than {MAX_SOURCE_BYTES} bytes"
            data = f.read(MAX_SOURCE_BYTES + 1)
        except OSError:
            return []
    if len(data) > MAX_SOURCE_BYTES:
        return f"it is larger than {MAX_SOURCE_BYTES} bytes"
    try:
        # As tokenize.open reads: coding cookie or BOM, then universal newlines.
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        lines = io.TextIOWrapper(io.BytesIO(data), encoding, line_buffering=True).readlines()
    except (LookupError, UnicodeDecodeError, SyntaxError):
        return []
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _is_system_path(filename) -> bool:
    """Whether `filename`, links resolved, is in one of SYSTEM_DIRS."""
    if os.name != "posix":
        return False
    try:
        real = os.path.realpath(filename)
    except (OSError, ValueError):
        return True
    return any(real == top or real.startswith(top + "/") for top in SYSTEM_DIRS)


def _as_lines(source):
    """Source lines each ending in a newline, as the tokenizer needs; a str is split."""
    if isinstance(source, str):
        return io.StringIO(source, newline=None).readlines()
    return [line if line.endswith("\n") else line + "\n" for line in source]


def _is_generated_code(filename):
    """Whether `filename` names code without a file: IPython/Jupyter cells and the like."""
    name = os.path.normcase(filename)
    temp_dir = os.path.normcase(tempfile.gettempdir())
    prefixes = ("<generated", "<ipython-input-",
                os.path.join(temp_dir, "ipykernel_"), os.path.join(temp_dir, "xpython_"))
    return name.startswith(prefixes)


def _table_lines(start_lineno, timings, block, all_lines=None, texts=None):
    """[(lineno, text)]: the rows of a function's table, in line order.

    With source (`block`, the function's lines from start_lineno; `texts`, the same
    already made visible): its lines, plus a row for each timed line outside it (text
    from `all_lines`, the lines from start_lineno on, where they reach). Without source:
    start_lineno and the timed lines, with blank rows across gaps of at most GAP_FILL
    lines (so a dense function looks as line_profiler shows it). Either way the rows are
    as many as the source lines and timings hold, whatever the line numbers.
    """
    timed = {lineno for lineno, _, _ in timings}
    if block is None:
        rows = []
        for lineno in sorted(timed | {start_lineno}):
            if rows and lineno - rows[-1][0] - 1 <= GAP_FILL:
                rows.extend((n, "") for n in range(rows[-1][0] + 1, lineno))
            rows.append((lineno, ""))
        return rows
    if texts is None:
        texts = [visible_source(_strip_line_end(line)) for line in block]
    rows = list(enumerate(texts, start_lineno))
    end = start_lineno + len(block)
    outside = sorted(lineno for lineno in timed if not start_lineno <= lineno < end)
    if not outside:
        return rows
    all_lines = all_lines or ()

    def text_of(lineno):
        index = lineno - start_lineno
        if 0 <= index < len(all_lines):
            return visible_source(_strip_line_end(all_lines[index]))
        return ""

    before = [(lineno, text_of(lineno)) for lineno in outside if lineno < start_lineno]
    after = [(lineno, text_of(lineno)) for lineno in outside if lineno >= end]
    return before + rows + after


def _code_block(lines, start_lineno, timings):
    """The leading def/class/lambda (or Cython cdef) block of `lines`.

    The extent (decorators, trailing comments, lambdas) is the one inspect.getsource
    finds on this Python. If the lines do not tokenize, e.g. because the file changed
    after profiling, the block is taken to run to the last timed line.
    """
    try:
        return _getblock(lines)
    except (SyntaxError, tokenize.TokenError, UnboundLocalError):
        last_timed = max((lineno for lineno, _, _ in timings), default=start_lineno)
        return lines[:max(1, last_timed - start_lineno + 1)]


class _BlockFinder(inspect.BlockFinder):
    """inspect's block finder, also treating Cython's cdef/cpdef/property as a def."""

    def tokeneater(self, type, token, srowcol, erowcol, line):
        if not self.started and type == tokenize.NAME and token in CYTHON_BLOCK_OPENERS:
            token = "def"
        super().tokeneater(type, token, srowcol, erowcol, line)


# This Python's own inspect.getblock, run with _BlockFinder in place of inspect.BlockFinder:
# a private copy of the function, so inspect itself is left untouched (and thread-safe),
# and the version-specific details of getblock are followed exactly.
_getblock = types.FunctionType(inspect.getblock.__code__,
                               {**vars(inspect), "BlockFinder": _BlockFinder},
                               "_getblock")


# --- control characters ----------------------------------------------------------------

# C0 controls, DEL and C1 controls: a terminal obeys them (clear the screen, set the
# title, move the cursor, start a new line), so text from results files shows them as
# escapes instead. Source keeps its tabs.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SOURCE_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match) -> str:
    char = match.group()
    return _ESCAPES.get(char) or "\\x%02x" % ord(char)


def visible(text) -> str:
    """A name or file name with its control characters (tab, newline too) as escapes."""
    text = str(text)
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def visible_source(text) -> str:
    """A line of source (no line end) with its control characters but tabs as escapes."""
    return _SOURCE_CONTROL.sub(_escape, text) if _SOURCE_CONTROL.search(text) else text


# --- output ----------------------------------------------------------------------------


def _write(stream, text):
    """Writes `text`, escaping what the stream's encoding cannot represent."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
