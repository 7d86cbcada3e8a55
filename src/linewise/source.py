"""A function's source lines, as every report shows them.

Results files come from anywhere, so nothing in them is trusted (see README, Reliability):

* a function's source comes from the results first (``sources``: what the timings belong
  to, even if the file was edited since); from its file only when asked (``from_disk``:
  the profiling process itself does, ``linewise view`` only with --source-from-disk), only
  from regular files of at most MAX_SOURCE_BYTES, never from /proc, /sys or /dev; code
  without a file (notebook cells, ``-c``) from linecache;
* control characters in names, file names and source are shown as escapes (``\\x1b``,
  ``\\n``...), never sent to the terminal (tabs in source are kept): visible() and
  visible_source();
* timed lines the source does not cover (below the function's first line, after its
  block) get rows too, and line numbers far apart are not filled with blank rows
  (table_lines): the rows follow the data, so a line numbered 2**31-1 costs one row.

A function's extent (decorators, trailing comments, lambdas) is the one inspect.getsource
finds on this Python; Cython's cdef/cpdef/property open a block as def does.
"""
from __future__ import annotations

import inspect
import io
import linecache
import os
import re
import stat
import tempfile
import tokenize
import types
from typing import NamedTuple

__all__ = ["Source", "function_source", "function_lines", "shown_lines", "table_lines",
           "read_file_lines", "is_generated_code", "strip_line_end", "visible",
           "visible_source", "MAX_SOURCE_BYTES", "GAP_FILL", "SYSTEM_DIRS"]

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


class Source(NamedTuple):
    """A function's source: ``block``, its lines from its first line to the end of its
    block (each ending in a newline), and ``lines``, all lines from its first line on
    (timed lines past the block take their text from there); or, when there is none,
    both None and ``missing`` says why: "missing" (no such file, nothing saved),
    "not-read" (the file exists but reading it was not asked for: from_disk False) or
    "refused" (``why``: a system file, not a regular file, too large)."""

    block: list | None
    lines: list | None
    missing: str | None = None
    why: str | None = None


def strip_line_end(line) -> str:
    """`line` without its newline (and a carriage return before it)."""
    return line.rstrip("\n").rstrip("\r")


def shown_lines(block) -> list:
    """The lines of a block as reports show them: no line ends, control characters but
    tabs as escapes."""
    return [visible_source(strip_line_end(line)) for line in block]


def function_lines(filename, start_lineno, timings, source=None, from_disk=True):
    """The function's source lines from start_lineno to the end of its block, or None
    (see function_source)."""
    return function_source(filename, start_lineno, timings, source, from_disk).block


def function_source(filename, start_lineno, timings, source=None, from_disk=True) -> Source:
    """The Source of a function: from `source` (saved with the results; wins over the
    file), else from `filename` when from_disk (see the module doc).

    timings: its ``(lineno, hits, time)`` rows: when the lines do not tokenize (the file
    changed after profiling), the block is taken to run to the last timed line.
    """
    if source is not None:
        lines = _as_lines(source)
        return Source(_code_block(lines, start_lineno, timings), lines)
    generated = is_generated_code(filename)
    if not (generated or os.path.exists(filename)):  # (looking costs nothing, reading might)
        return Source(None, None, "missing")
    if not from_disk:
        return Source(None, None, "not-read")
    lines = read_file_lines(filename)
    if isinstance(lines, str):
        return Source(None, None, "refused", lines)
    lines = lines[start_lineno - 1:] if start_lineno >= 1 else []
    return Source(_code_block(lines, start_lineno, timings), lines)


def read_file_lines(filename):
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


def is_generated_code(filename):
    """Whether `filename` names code without a file: IPython/Jupyter cells and the like."""
    name = os.path.normcase(filename)
    temp_dir = os.path.normcase(tempfile.gettempdir())
    prefixes = ("<generated", "<ipython-input-",
                os.path.join(temp_dir, "ipykernel_"), os.path.join(temp_dir, "xpython_"))
    return name.startswith(prefixes)


def table_lines(start_lineno, timings, block, all_lines=None, texts=None):
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
        texts = [visible_source(strip_line_end(line)) for line in block]
    rows = list(enumerate(texts, start_lineno))
    end = start_lineno + len(block)
    outside = sorted(lineno for lineno in timed if not start_lineno <= lineno < end)
    if not outside:
        return rows
    all_lines = all_lines or ()

    def text_of(lineno):
        index = lineno - start_lineno
        if 0 <= index < len(all_lines):
            return visible_source(strip_line_end(all_lines[index]))
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
