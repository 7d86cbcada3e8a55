"""Line-by-line comparison of two results: ``linewise diff BEFORE AFTER``.

Functions are matched by qualified name and file (first by both; then, for those left,
by qualified name and the file's base name when that pairs them one to one, so a project
moved to another directory or venv still matches). The first line of a function may
differ: functions move in their file.

Within a pair, lines are aligned by their source text (difflib.SequenceMatcher over the
stripped lines), so lines added or removed above a line do not shift its numbers onto
another line. A line whose text changed shows as removed (with its time before) and added
(with its time after), like a unified diff. Without source on one side, lines are
aligned by their offset from the function's first line.

Times are in seconds here; the text report shows them in one unit chosen to fit.
Change is after - before (negative: faster); ratio is after / before.

As in linewise.report, sources come from the results (and from disk only when asked:
``from_disk``), and control characters in names, file names and source are shown as
escapes. Functions longer than MAX_ALIGN lines (on both sides together) are aligned by
offset instead: matching lines by text costs up to the product of the two lengths.
"""
from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field

from . import report

__all__ = ["LineDiff", "FunctionDiff", "Diff", "diff_stats", "write_text", "pick_unit",
           "UNITS"]

#: Display units, largest first: (seconds per unit, name).
UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"))
#: Functions with more source lines than this (both sides together) are not aligned by
#: text (see the module doc).
MAX_ALIGN = 20000


@dataclass
class LineDiff:
    """One row: a line on both sides ("same"), only before ("removed") or only after
    ("added"). Hits are None where the side has no timing for the line (or no line)."""

    kind: str
    before_line: int | None
    after_line: int | None
    text: str
    before_hits: int | None = None
    after_hits: int | None = None
    before_time: float = 0.0
    after_time: float = 0.0

    @property
    def change(self) -> float:
        return self.after_time - self.before_time

    @property
    def ratio(self) -> float | None:
        """after / before when the line ran on both sides and took time before."""
        if self.before_hits and self.after_hits and self.before_time > 0:
            return self.after_time / self.before_time
        return None

    @property
    def timed(self) -> bool:
        return self.before_hits is not None or self.after_hits is not None


@dataclass
class FunctionDiff:
    """A function on both sides ("both"), or only before or after ("removed", "added")."""

    name: str
    before: tuple | None  # the results key (filename, first_lineno, qualname)
    after: tuple | None
    lines: list = field(default_factory=list)
    before_total: float = 0.0
    after_total: float = 0.0

    @property
    def status(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "both"

    @property
    def change(self) -> float:
        return self.after_total - self.before_total

    @property
    def ratio(self) -> float | None:
        if self.before is not None and self.after is not None and self.before_total > 0:
            return self.after_total / self.before_total
        return None

    @property
    def filename(self) -> str:
        return (self.after or self.before)[0]


@dataclass
class Diff:
    """The comparison: functions with the biggest change (win or loss) first."""

    before_label: str
    after_label: str
    functions: list
    before_meta: dict = field(default_factory=dict)
    after_meta: dict = field(default_factory=dict)

    @property
    def before_total(self) -> float:
        return sum(f.before_total for f in self.functions)

    @property
    def after_total(self) -> float:
        return sum(f.after_total for f in self.functions)

    @property
    def change(self) -> float:
        return self.after_total - self.before_total

    @property
    def ratio(self) -> float | None:
        return self.after_total / self.before_total if self.before_total > 0 else None

    def biggest_lines(self, count=10):
        """[(FunctionDiff, LineDiff)] of the `count` lines that changed most, by |change|;
        lines that did not change left out."""
        rows = [(f, line) for f in self.functions for line in f.lines if line.change]
        rows.sort(key=lambda fl: -abs(fl[1].change))
        return rows[:count]


# --- building the comparison ------------------------------------------------------------


def diff_stats(before, after, before_label="before", after_label="after",
               from_disk=None) -> Diff:
    """Compares two LineStats (see the module doc). from_disk: read sources the results
    lack from their files (default: unless the results were loaded from files)."""
    if from_disk is None:
        from_disk = not (getattr(before, "sources_complete", False)
                         or getattr(after, "sources_complete", False))
    pairs = _match_functions(list(before.timings), list(after.timings))
    functions = [_diff_function(before, after, b, a, from_disk) for b, a in pairs]
    functions.sort(key=lambda f: (-abs(f.change), f.name, f.filename))
    return Diff(before_label, after_label, functions, dict(before.meta), dict(after.meta))


def _match_functions(before_keys, after_keys):
    """[(before key or None, after key or None)]: by (name, file), then by (name, base
    name of the file) where that is one to one; several functions of one name in one file
    pair up in line order."""
    pairs = []
    left_before, left_after = [], []

    def group(keys, by):
        groups: dict = {}
        for key in sorted(keys, key=lambda k: (k[1], k[2], k[0])):
            groups.setdefault(by(key), []).append(key)
        return groups

    by_file = lambda k: (k[2], k[0])  # noqa: E731
    gb, ga = group(before_keys, by_file), group(after_keys, by_file)
    for ident, keys in gb.items():
        others = ga.get(ident, [])
        pairs += list(zip(keys, others))
        left_before += keys[len(others):]
    for ident, keys in ga.items():
        left_after += keys[len(gb.get(ident, [])):]

    by_base = lambda k: (k[2], os.path.basename(k[0]))  # noqa: E731
    gb, ga = group(left_before, by_base), group(left_after, by_base)
    for ident, keys in gb.items():
        others = ga.get(ident, [])
        if len(keys) == 1 and len(others) == 1:
            pairs.append((keys[0], others[0]))
        else:
            pairs += [(key, None) for key in keys]
    for ident, keys in ga.items():
        if not (len(keys) == 1 and len(gb.get(ident, [])) == 1):
            pairs += [(None, key) for key in keys]
    return pairs


def _side(stats, key, from_disk):
    """(source lines or None, {lineno: (hits, seconds)}) of one function; the lines are
    shown as they are, control characters escaped."""
    if key is None:
        return None, {}
    timings = stats.timings[key]
    timed = {lineno: (hits, time * stats.unit) for lineno, hits, time in timings}
    lines = report._function_lines(key[0], key[1], timings, (stats.sources or {}).get(key),
                                   from_disk)
    if lines is not None:
        lines = [report.visible_source(report._strip_line_end(line)) for line in lines]
    return lines, timed


def _diff_function(before, after, bkey, akey, from_disk=True) -> FunctionDiff:
    blines, btimed = _side(before, bkey, from_disk)
    alines, atimed = _side(after, akey, from_disk)
    result = FunctionDiff((akey or bkey)[2], bkey, akey)
    result.before_total = sum(t for _, t in btimed.values())
    result.after_total = sum(t for _, t in atimed.values())
    bfirst = bkey[1] if bkey else 0
    afirst = akey[1] if akey else 0
    rows = []
    if bkey is None or akey is None:
        first, lines, timed = (afirst, alines, atimed) if bkey is None else (bfirst, blines, btimed)
        kind = "added" if bkey is None else "removed"
        linenos = list(range(first, first + len(lines))) if lines is not None else []
        for lineno in linenos:
            rows.append(_row(kind, lineno if kind == "removed" else None,
                             lineno if kind == "added" else None,
                             lines[lineno - first], btimed, atimed))
    elif blines is not None and alines is not None and len(blines) + len(alines) > MAX_ALIGN:
        for offset in range(max(len(blines), len(alines))):
            if offset < len(blines) and offset < len(alines) and blines[offset] == alines[offset]:
                rows.append(_row("same", bfirst + offset, afirst + offset, alines[offset],
                                 btimed, atimed))
                continue
            if offset < len(blines):
                rows.append(_row("removed", bfirst + offset, None, blines[offset], btimed,
                                 atimed))
            if offset < len(alines):
                rows.append(_row("added", None, afirst + offset, alines[offset], btimed,
                                 atimed))
    elif blines is not None and alines is not None:
        matcher = difflib.SequenceMatcher(None, [s.strip() for s in blines],
                                          [s.strip() for s in alines], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                for i, j in zip(range(i1, i2), range(j1, j2)):
                    rows.append(_row("same", bfirst + i, afirst + j, alines[j], btimed, atimed))
                continue
            for i in range(i1, i2):
                rows.append(_row("removed", bfirst + i, None, blines[i], btimed, atimed))
            for j in range(j1, j2):
                rows.append(_row("added", None, afirst + j, alines[j], btimed, atimed))
    # Timed lines no row covers (no source on a side, or a line outside the source block):
    # aligned by their offset from the function's first line, after the rows above.
    covered_b = {r.before_line for r in rows}
    covered_a = {r.after_line for r in rows}
    extra_b = {ln - bfirst: ln for ln in btimed if ln not in covered_b}
    extra_a = {ln - afirst: ln for ln in atimed if ln not in covered_a}
    for offset in sorted(set(extra_b) | set(extra_a)):
        bl, al = extra_b.get(offset), extra_a.get(offset)
        if bl is not None and al is not None:
            kind = "same"
        else:
            kind = "removed" if al is None else "added"
        rows.append(_row(kind, bl, al, _text_at(blines if al is None else alines,
                                                bfirst if al is None else afirst,
                                                bl if al is None else al), btimed, atimed))
    result.lines = rows
    return result


def _text_at(lines, first, lineno):
    if lines is None or lineno is None or not 0 <= lineno - first < len(lines):
        return ""
    return lines[lineno - first]


def _row(kind, bline, aline, text, btimed, atimed) -> LineDiff:
    bh, bt = btimed.get(bline, (None, 0.0)) if bline is not None else (None, 0.0)
    ah, at = atimed.get(aline, (None, 0.0)) if aline is not None else (None, 0.0)
    return LineDiff(kind, bline, aline, text, bh, ah, bt, at)


# --- the text report --------------------------------------------------------------------


def pick_unit(seconds_values):
    """(seconds per unit, name): the largest unit in which the biggest value is >= 1."""
    biggest = max((abs(v) for v in seconds_values), default=0.0)
    for scale, name in UNITS:
        if biggest >= scale:
            return scale, name
    return UNITS[-1]


def format_ratio(ratio) -> str:
    return "" if ratio is None else "%.2fx" % ratio


def _fmt(value, scale) -> str:
    return "%.3f" % (value / scale)


def _fmt_change(value, scale) -> str:
    text = "%+.3f" % (value / scale)
    return "0.000" if text in ("+0.000", "-0.000") else text


class _Plain:
    """Styles for the text report: none. linewise.color's styles replace these."""

    def __call__(self, kind, text, **info):
        return text

    def source(self, text, tokens=None, dim=False):
        return text


def write_text(diff: Diff, stream=None, unit=None, top=10, color=False, highlight=True):
    """Writes the comparison as text to `stream` (default sys.stdout).

    unit: seconds per display unit (default: chosen to fit the biggest time); top: how
    many lines the "biggest changes" list shows (0: none); color: ANSI colours (see
    linewise.color), highlight: syntax-highlighted source when coloured.
    """
    if stream is None:
        stream = sys.stdout
    style = _ColorStyle(highlight) if color else _Plain()
    values = [diff.before_total, diff.after_total]
    values += [v for f in diff.functions for v in (f.before_total, f.after_total)]
    if unit is None:
        scale, uname = pick_unit(values)
    else:
        scale = float(unit)
        uname = next((name for s, name in UNITS if s == scale), "%g s" % scale)
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
    report._write(stream, "".join(out))


_v = report.visible


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
    tokens = style.tokens(func) if hasattr(style, "tokens") else {}
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
        source = style.source(line.text, tokens.get((line.kind, line.before_line,
                                                     line.after_line)), dim=not ran)
        w(style("cells", cells, line=line) + " " + style("mark", mark, row=line.kind) + " "
          + source + "\n")


class _ColorStyle(_Plain):
    """ANSI colours for the diff: wins green, losses red, removed/added marks, source
    highlighted (Pygments, when installed), lines that ran on neither side dimmed."""

    STYLES = {"title": "1", "note": "2", "heading": "1", "rule": "2",
              "name": "1", "fname": "1", "file": "36"}

    def __init__(self, highlight=True):
        from . import color

        self.color = color
        self.highlight = highlight

    def __call__(self, kind, text, **info):
        sgr = self.color.sgr
        if kind == "change":
            value = info.get("value", 0.0)
            return sgr("32" if value < 0 else "31" if value > 0 else "", text)
        if kind == "mark":
            return sgr({"removed": "1;31", "added": "1;32"}.get(info.get("row"), ""), text)
        if kind == "cells":
            line = info["line"]
            if not (line.before_hits or line.after_hits):
                return sgr("2", text)
            return text
        return sgr(self.STYLES.get(kind, ""), text)

    def source(self, text, tokens=None, dim=False):
        return self.color.paint_source(tokens, text, dim=dim)

    def tokens(self, func):
        """{(kind, before_line, after_line): tokens} for each row of `func`: each side's
        text is lexed whole (same and removed rows; same and added rows), so strings
        spanning lines come out right."""
        if not self.highlight:
            return {}
        out = {}
        for side_kind in ("removed", "added"):
            rows = [r for r in func.lines if r.kind in ("same", side_kind)]
            toks = self.color.source_tokens([r.text for r in rows], func.filename) if rows else None
            for r, t in zip(rows, toks or ()):
                if r.kind == side_kind or side_kind == "added":
                    out[(r.kind, r.before_line, r.after_line)] = t
        return out
