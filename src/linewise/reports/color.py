"""Colour for terminals: the report with highlighted source, heat marks and dim idle rows.

The coloured report is the plain one (linewise.reports.text) with ANSI escape codes added
around its pieces: remove the codes and the text is byte for byte the plain report, so
columns line up the same and copying from the terminal gives the familiar table.

* Source is syntax-highlighted by Pygments when it is installed (``pip install
  linewise[color]``); without it the source is left uncoloured and the rest still is.
* The "% Time" cell of a hot line carries a heat mark: its colour says how much of the
  function's time the line took (see HEAT).
* Rows of lines that never ran (no hits) are dimmed.
* With memory figures, the "Alloc" cell carries a heat mark too: its share of the
  function's allocated bytes.

Whether to colour (``use_color``): ``"always"``, ``"never"``, or ``"auto"``: only when
the stream is a terminal, NO_COLOR is not set (https://no-color.org) and TERM is not
"dumb". ``always`` wins over NO_COLOR, as an explicit request should.

Source tokens are made here for every report (source_tokens; diff_tokens for the two
sides of a diff): the terminal paints them with SGR codes, the HTML page with classes.
"""
from __future__ import annotations

import os
import re
import sys

from . import text as report
from .memory import MEMORY_COLUMNS

__all__ = ["COLOR_CHOICES", "TerminalPainter", "DiffPainter", "use_color", "show_text",
           "show_func", "source_tokens", "diff_tokens", "strip_ansi"]

COLOR_CHOICES = ("auto", "always", "never")

RESET = "\x1b[0m"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Heat marks: (lowest % of the function's time, SGR codes of the "% Time" cell).
HEAT = (
    (40.0, "1;97;41"),  # bold white on red
    (15.0, "30;43"),    # black on yellow
    (5.0, "33"),        # yellow
)

#: SGR codes of each kind of source token (see source_tokens); 16 colours, which read
#: on dark and light terminals alike.
TOKEN_STYLES = {
    "keyword": "35",
    "builtin": "36",
    "defname": "1;34",
    "decorator": "33",
    "string": "32",
    "number": "36",
    "comment": "90",
    "": "",
}

#: SGR codes of the report's other pieces (linewise.reports.text.Painter kinds).
PIECE_STYLES = {
    "unit": "2",
    "total": "1",
    "file": "36",
    "function": "1",
    "missing": "33",
    "heading": "1",
    "rule": "2",
    "summary": "",
}

DIM = "2"


# --- when ------------------------------------------------------------------------------


def use_color(stream=None, color="auto", environ=None) -> bool:
    """Whether to colour output written to `stream` (default sys.stdout).

    color: "auto" (or None), "always" (or True), "never" (or False). Raises ValueError
    for anything else.
    """
    if color is True or color == "always":
        return True
    if color is False or color == "never":
        return False
    if color is not None and color != "auto":
        raise ValueError(f"color must be one of {', '.join(COLOR_CHOICES)}, not {color!r}")
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    if environ.get("TERM") == "dumb":
        return False
    if stream is None:
        stream = sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or closed
        return False


def strip_ansi(text: str) -> str:
    """`text` without SGR escape codes."""
    return _ANSI.sub("", text)


def sgr(codes: str, text: str) -> str:
    """`text` wrapped in the SGR `codes` (and a reset); empty codes or text: as is."""
    if not codes or not text:
        return text
    return f"\x1b[{codes}m{text}{RESET}"


def sgr_lines(codes: str, text: str) -> str:
    """Like sgr, but each line on its own, newlines left outside the codes."""
    return "\n".join(sgr(codes, part) for part in text.split("\n"))


# --- source highlighting ---------------------------------------------------------------


def source_tokens(lines, filename=""):
    """Per line of `lines` (source text without line ends), [(kind, text), ...] whose texts
    join to the line; kind is a key of TOKEN_STYLES. None when Pygments is not installed
    or the lexer does not give back the lines exactly (the caller then shows them plain).

    The lines are lexed together, so strings and brackets spanning lines come out right.
    """
    if not lines:
        return [] if lines is not None else None
    try:
        from pygments import token as T
        from pygments.lexers import CythonLexer, PythonLexer
    except ImportError:
        return None
    lexer_class = CythonLexer if str(filename).endswith((".pyx", ".pxd", ".pxi")) else PythonLexer
    lexer = lexer_class(stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    text = "\n".join(lines) + "\n"
    out: list = [[]]
    kinds = _KINDS
    try:
        for ttype, value in lexer.get_tokens(text):
            kind = kinds.get(ttype)
            if kind is None:
                kind = kinds[ttype] = _token_kind(ttype, T)
            for i, part in enumerate(value.split("\n")):
                if i:
                    out.append([])
                if part:
                    out[-1].append((kind, part))
    except Exception:  # a lexer bug must not cost the report
        return None
    if out and not out[-1]:
        out.pop()  # after the final newline
    if len(out) != len(lines):
        return None
    for line, tokens in zip(lines, out):
        if "".join(text for _, text in tokens) != line:
            return None
    return out


# Pygments token type -> kind, filled as types are met: a type's `in` tests walk its
# parents, and were a fifth of an HTML report's time on sympy's 1,400 functions.
_KINDS: dict = {}


def _token_kind(ttype, T) -> str:
    if ttype in T.Comment:
        return "comment"
    if ttype in T.String:
        return "string"
    if ttype in T.Number:
        return "number"
    if ttype in T.Name.Decorator:
        return "decorator"
    if ttype in T.Name.Function or ttype in T.Name.Class:
        return "defname"
    if ttype in T.Name.Builtin:
        return "builtin"
    if ttype in T.Keyword or ttype in T.Operator.Word:
        return "keyword"
    return ""


def diff_tokens(func, lex=source_tokens) -> dict:
    """{id(row): tokens} for the rows of a linewise.reports.diff.FunctionDiff: each
    side's text is lexed whole with `lex` (same and removed rows; same and added rows),
    so strings spanning lines come out right. Rows without tokens are left out."""
    out = {}
    for side_kind in ("removed", "added"):
        rows = [r for r in func.lines if r.kind in ("same", side_kind)]
        toks = lex([r.text for r in rows], func.filename) if rows else None
        for r, t in zip(rows, toks or ()):
            if r.kind == side_kind or side_kind == "added":
                out[id(r)] = t
    return out


def paint_source(tokens, text, dim=False) -> str:
    """One line of source in colour: `tokens` from source_tokens (None: uncoloured)."""
    if tokens is None:
        return sgr(DIM, text) if dim else text
    runs: list = []  # [codes, text]: neighbouring tokens of one style share their codes
    for kind, part in tokens:
        codes = TOKEN_STYLES.get(kind, "")
        if dim:
            codes = f"{DIM};{codes}" if codes else DIM
        if runs and (runs[-1][0] == codes or part.isspace() and not dim):
            runs[-1][1] += part
        else:
            runs.append([codes, part])
    return "".join(sgr(codes, part) for codes, part in runs)


def heat_codes(percent) -> str:
    """The SGR codes of the heat mark for a line taking `percent` % of the time."""
    if percent is None:
        return ""
    for lowest, codes in HEAT:
        if percent >= lowest:
            return codes
    return ""


# --- the report ------------------------------------------------------------------------


class TerminalPainter(report.Painter):
    """Colours linewise.reports.text's table (see the module doc). highlight=False
    leaves the source uncoloured even when Pygments is there."""

    def __init__(self, highlight=True):
        self.highlight = highlight
        self._tokens = None
        self._first = 0
        self._timed: dict = {}
        self._total = 0

    def start_function(self, func, lines):
        self._first = func.first_lineno
        self._timed = func.lines
        self._total = func.total
        self._tokens = self.tokens(lines, func.filename) if lines else None

    def tokens(self, lines, filename=""):
        return source_tokens(lines, filename) if self.highlight else None

    def paint_source(self, text, tokens=None, dim=False):
        return paint_source(tokens, text, dim=dim)

    def paint(self, kind, text, **info):
        if kind == "row":
            return self._row(**info)
        if kind == "file" and text.startswith("File: "):
            return "File: " + sgr_lines(PIECE_STYLES["file"], text[len("File: "):])
        if kind == "summary":
            seconds, sep, rest = text.partition(" seconds - ")
            if sep:
                return sgr("1", seconds) + sep + rest
        return sgr_lines(PIECE_STYLES.get(kind, ""), text)

    def _row(self, lineno, cells, widths, contents, memory_share=None, **_):
        hits, time = self._timed.get(lineno, (0, 0))
        ran = hits > 0
        percent = 100.0 * time / self._total if self._total and ran else None
        heat = heat_codes(percent)
        padded = [text.rjust(widths[column])
                  for column, text in zip(report.COLUMNS + MEMORY_COLUMNS, cells)]
        if not ran:
            numeric = sgr(DIM, " ".join(padded))
        else:
            line_cell = sgr("1;31", padded[0]) if heat == HEAT[0][1] else padded[0]
            # The memory cells (if any): the Alloc cell's heat is its share of the
            # function's allocated bytes, as % Time's is of its time.
            memory = padded[len(report.COLUMNS):]
            if memory:
                memory[0] = sgr(heat_codes(memory_share), memory[0])
            numeric = " ".join([line_cell, padded[1], padded[2], padded[3],
                                sgr(heat, padded[4])] + memory)
        tokens = None
        if self._tokens is not None:
            index = lineno - self._first
            if 0 <= index < len(self._tokens):
                tokens = self._tokens[index]
        return numeric + report.CONTENTS_GAP + paint_source(tokens, contents, dim=not ran)


class DiffPainter(TerminalPainter):
    """ANSI colours for the diff's text (linewise.reports.diff_text): wins green, losses
    red, removed/added marks, source highlighted (Pygments, when installed), lines that
    ran on neither side dimmed."""

    STYLES = {"title": "1", "note": "2", "heading": "1", "rule": "2",
              "name": "1", "fname": "1", "file": "36"}

    def paint(self, kind, text, **info):
        if kind == "change":
            value = info.get("value", 0.0)
            return sgr("32" if value < 0 else "31" if value > 0 else "", text)
        if kind == "mark":
            return sgr({"removed": "1;31", "added": "1;32"}.get(info.get("row"), ""), text)
        if kind == "cells":
            line = info["line"]
            if not (line.before_hits or line.after_hits):
                return sgr(DIM, text)
            return text
        return sgr(self.STYLES.get(kind, ""), text)


def show_text(stats, unit, output_unit=None, stream=None, stripzeros=False, details=True,
              summarize=False, sort=False, sources=None, highlight=True, **_ignored):
    """linewise.reports.text.show_text, coloured for a terminal (always: see use_color)."""
    report.show_text(stats, unit, output_unit=output_unit, stream=stream,
                     stripzeros=stripzeros, details=details, summarize=summarize, sort=sort,
                     sources=sources, painter=TerminalPainter(highlight))


def show_func(filename, start_lineno, func_name, timings, unit, output_unit=None,
              stream=None, stripzeros=False, source=None, highlight=True):
    """linewise.reports.text.show_func, coloured for a terminal."""
    report.show_func(filename, start_lineno, func_name, timings, unit,
                     output_unit=output_unit, stream=stream, stripzeros=stripzeros,
                     source=source, painter=TerminalPainter(highlight))
