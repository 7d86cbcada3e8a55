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

Times are in seconds here; the text report (linewise.reports.diff_text) shows them in
one unit chosen to fit, the HTML page (linewise.reports.html) each in its own.
Change is after - before (negative: faster); ratio is after / before.

When either side has memory figures (linewise.reports.memory), each timed line also
carries its (alloc, net, peak) before and after, and each function its totals (None on
a side without them): Diff.memory says so.

This module is the comparison only (the model both renderers read, and how functions
and lines are matched): sources come from the results (and from disk only when asked:
``from_disk``; see linewise.source), and control characters in names, file names and
source are shown as escapes. Functions longer than MAX_ALIGN lines (on both sides together) are aligned by
offset instead: matching lines by text costs up to the product of the two lengths.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

from ..source import shown_lines
from .memory import ZERO, function_totals, memory_by_key

__all__ = ["LineDiff", "FunctionDiff", "Diff", "diff_stats", "MAX_ALIGN"]

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
    # (alloc, net, peak) in bytes where the side has timing and memory figures, or None.
    before_memory: tuple | None = None
    after_memory: tuple | None = None

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
    # The function's (alloc, net, peak) on each side with memory figures, or None.
    before_memory: tuple | None = None
    after_memory: tuple | None = None

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
    memory: bool = False  # either side has memory figures

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
    bmem, amem = memory_by_key(before), memory_by_key(after)
    if bmem is not None or amem is not None:
        for func in functions:
            _add_memory(func, bmem, amem)
    functions.sort(key=lambda f: (-abs(f.change), f.name, f.filename))
    return Diff(before_label, after_label, functions, dict(before.meta), dict(after.meta),
                memory=bmem is not None or amem is not None)


def _add_memory(func, bmem, amem):
    """Fills in the memory figures of a FunctionDiff and its lines from each side's
    memory_by_key (None: that side has none); a timed line without figures has zeros."""
    blines = None if bmem is None or func.before is None else bmem.get(func.before, {})
    alines = None if amem is None or func.after is None else amem.get(func.after, {})
    func.before_memory = None if blines is None else function_totals(blines)
    func.after_memory = None if alines is None else function_totals(alines)
    for line in func.lines:
        if blines is not None and line.before_hits is not None:
            line.before_memory = blines.get(line.before_line, ZERO)
        if alines is not None and line.after_hits is not None:
            line.after_memory = alines.get(line.after_line, ZERO)


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
    func = stats.function(key)
    timed = {lineno: (hits, time * stats.unit) for lineno, (hits, time) in func.lines.items()}
    block = func.source_lines(from_disk).block
    return (None if block is None else shown_lines(block)), timed


def _diff_function(before, after, bkey, akey, from_disk=True) -> FunctionDiff:
    blines, btimed = _side(before, bkey, from_disk)
    alines, atimed = _side(after, akey, from_disk)
    result = FunctionDiff((akey or bkey)[2], bkey, akey)
    # Counted once (FunctionStats.once): recursion does not multiply a function's total.
    result.before_total = before.function(bkey).once_time if bkey is not None else 0.0
    result.after_total = after.function(akey).once_time if akey is not None else 0.0
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
