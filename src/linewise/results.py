"""Profiling results: the LineStats object every report reads, and how two of them add up.

Saving and loading them as .lw files is linewise.store's.
"""
from __future__ import annotations

__all__ = ["LineStats", "FunctionStats", "ResultsError", "OWN", "OUTER", "TIME_COLUMNS"]

Key = tuple  # (filename, first_lineno, qualified_name)

# The engine's two time columns beyond line_profiler's, in `unit` like the times:
#   own_time    the line's time less the time of the profiled frames it started (callees)
#   outer_time  the line's time when its frame was the outermost of its code on its
#               thread, else 0: a function's sum counts each moment once (recursion)
OWN, OUTER = "own_time", "outer_time"
TIME_COLUMNS = {OWN: ("i64", "sum"), OUTER: ("i64", "sum")}


class ResultsError(ValueError):
    """A results file is missing, unreadable, truncated, corrupt or not ours."""


class LineStats:
    """Per-line results, in the shape line_profiler users script against.

    ``timings``: ``{(filename, first_lineno, qualname): [(lineno, hits, time), ...]}`` with
    ``time`` in units of ``unit`` seconds. ``sources`` optionally maps the same keys to the
    function's source lines (starting at first_lineno), so reports work where the source
    file is gone. ``meta`` is free-form text about the run (Python version, command, ...).

    ``memory`` (a property, from the columns ``alloc``, ``net`` and ``peak`` of a run with
    ``memory=True``): ``{key: [(lineno, alloc, net, peak), ...]}`` in bytes, the lines of
    ``timings`` in their order: ``alloc`` allocated while the line ran, callees included;
    ``net`` the change of live traced memory from the line's start to its end, summed over
    its runs; ``peak`` the highest live traced memory above the line's starting level
    while it ran, the highest over its runs. Empty when memory was not traced.
    ``call_memory(key)`` gives the function's own (alloc, net, peak) for whole calls.

    ``sources_complete`` is True for results loaded from a file: ``sources`` then holds
    all the source they have, and nothing reads more from disk on their behalf (the
    reports unless asked, dump_stats never), whatever file names the results hold.
    """

    def __init__(self, timings=None, unit=1e-9, meta=None, sources=None,
                 sources_complete=False, runs=None, columns=None, column_types=None):
        self.timings = dict(timings or {})
        self.unit = float(unit)
        self.meta = dict(meta or {})
        self.sources = dict(sources or {})
        self.sources_complete = bool(sources_complete)
        # The processes these results come from: dicts of str (pid, host, python,
        # implementation, command, started, linewise); empty means "one run, see meta".
        self.runs = [dict(run) for run in runs or ()]
        # Per-line columns beyond hits and time: {name: {key: {lineno: int}}}, declared in
        # column_types as {name: (type, merge)}: type "u32" "i32" "u64" "i64", merge "sum"
        # or "max" (what __add__ does with two values of one line).
        self.columns = {name: dict(by_key) for name, by_key in (columns or {}).items()}
        self.column_types = dict(column_types or {})

    def __repr__(self):
        return f"LineStats({len(self.timings)} functions, unit={self.unit!r})"

    def _repr_html_(self):
        # Jupyter shows results at the end of a cell as %lprun does: the HTML report.
        from .integrations.ipython import notebook_html

        return notebook_html(self)

    def __eq__(self, other):
        if not isinstance(other, LineStats):
            return NotImplemented
        return self.unit == other.unit and self.timings == other.timings

    @property
    def memory(self) -> dict:
        if "alloc" not in self.columns:
            return {}
        alloc, net, peak = (self.columns.get(name, {}) for name in ("alloc", "net", "peak"))
        out = {}
        for key, lines in self.timings.items():
            a, n, p = alloc.get(key, {}), net.get(key, {}), peak.get(key, {})
            out[key] = [(ln, a.get(ln, 0), n.get(ln, 0), p.get(ln, 0)) for ln, _, _ in lines]
        return out

    def call_memory(self, key):
        """(alloc, net, peak) in bytes of the function `key`'s calls: alloc and net summed
        over them, peak the highest any call reached above its starting level (which a
        line's peak may not show: it counts from the call's start, not the line's). None
        when memory was not traced. Stored as the columns call_alloc, call_net and
        call_peak, a function's values on its first row (totalled here over its rows, so
        that merged results stay right)."""
        if "call_alloc" not in self.columns:
            return None
        values = [self.columns.get(name, {}).get(key, {}).values()
                  for name in ("call_alloc", "call_net", "call_peak")]
        return sum(values[0]), sum(values[1]), max(values[2], default=0)

    def total_time(self, key) -> float:
        """Seconds spent in the function `key` (sum of its lines)."""
        return sum(t for _, _, t in self.timings.get(key, ())) * self.unit

    @property
    def own_timings(self):
        """``timings``' shape with each line's own time (less its profiled callees') for
        its time; None when the results do not have it (older files, line_profiler's)."""
        own = self.columns.get(OWN)
        if own is None:
            return None
        return {key: [(ln, hits, own.get(key, {}).get(ln, 0)) for ln, hits, _ in lines]
                for key, lines in self.timings.items()}

    def with_own_times(self) -> "LineStats":
        """A copy whose timings hold each line's own time (for a report of own times);
        itself when it has none."""
        own = self.own_timings
        if own is None:
            return self
        copy = LineStats(own, self.unit, self.meta, self.sources, self.sources_complete,
                         self.runs, self.columns, self.column_types)
        return copy

    @property
    def profiled(self):
        """Seconds the results were profiled for (wall time, summed over their runs), or
        None when a run does not say. Each function's counted-once total fits in it."""
        runs = _runs_of(self)
        try:
            seconds = [float(run["profiled"]) for run in runs]
        except (KeyError, ValueError, TypeError):
            return None
        if not seconds or not all(0.0 <= x < 1e12 for x in seconds):  # nan, inf, < 0
            return None
        return sum(seconds)

    def __add__(self, other):
        """Sums two results line by line, in the finer of the two units.

        Raises ResultsError naming the function and line when a sum (or a time converted
        to the finer unit) does not fit the 64 bits a results file holds.
        """
        if not isinstance(other, LineStats):
            return NotImplemented
        unit = min(self.unit, other.unit)
        merged: dict = {}
        for stats in (self, other):
            scale = stats.unit / unit
            for key, lines in stats.timings.items():
                acc = merged.setdefault(key, {})
                for lineno, hits, t in lines:
                    h0, t0 = acc.get(lineno, (0, 0))
                    if scale != 1.0:
                        try:
                            t = round(t * scale)
                        except (OverflowError, ValueError):  # inf or nan
                            _overflow("time", key, lineno)
                    hits, t = h0 + hits, t0 + t
                    if hits > I64_MAX:
                        _overflow("hits", key, lineno)
                    if not I64_MIN <= t <= I64_MAX:
                        _overflow("time", key, lineno)
                    acc[lineno] = (hits, t)
        timings = {k: sorted((ln, h, t) for ln, (h, t) in v.items()) for k, v in merged.items()}
        sources = {**other.sources, **self.sources}
        meta = dict(self.meta)
        meta["merged"] = str(_merged_count(self) + _merged_count(other))
        column_types, columns = _merge_columns(self, other, unit)
        return LineStats(timings, unit, meta, sources,
                         self.sources_complete or other.sources_complete,
                         runs=_runs_of(self) + _runs_of(other), columns=columns,
                         column_types=column_types)

    def __radd__(self, other):
        # sum([a, b]) starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return self.__add__(other)

    # line_profiler's LineStats is a namedtuple-like (timings, unit): keep unpacking working.
    def __iter__(self):
        return iter((self.timings, self.unit))

    # -- per function: what every report reads ------------------------------------------

    def function(self, key) -> "FunctionStats":
        """The FunctionStats of the function `key` (KeyError if there is none)."""
        return FunctionStats(key, self.timings[key], self.unit, self.sources.get(key),
                             self.sources_complete, self.columns.get(OWN, {}).get(key),
                             self.columns.get(OUTER, {}).get(key))

    def functions(self) -> list:
        """[FunctionStats], one per function, in the order of ``timings``."""
        return [self.function(key) for key in self.timings]

    def select(self, top=None, skip_zero=False, sort=False) -> list:
        """The functions a report shows, as [FunctionStats]:

        top: only the `top` functions with the most time (counted once: ``once``; ties:
        the first in the results), kept in their order; skip_zero: without the functions
        never run (no hits; applied after top, as -t/--top then --skip-zero); sort: False
        keeps the order of the results, True or "longest" orders by that time, longest first,
        "shortest" shortest first (line_profiler's --sort); ties keep their order.
        """
        chosen = self.functions()
        if top is not None and len(chosen) > top:
            hottest = {id(f) for f in sorted(chosen, key=lambda f: f.once,
                                             reverse=True)[:max(0, top)]}
            chosen = [f for f in chosen if id(f) in hottest]
        if skip_zero:
            chosen = [f for f in chosen if f.hits]
        if sort not in (False, None):
            if sort not in (True, "longest", "shortest"):
                raise ValueError(f"sort must be False, True, 'longest' or 'shortest', "
                                 f"not {sort!r}")
            if sort == "shortest":
                chosen.sort(key=lambda f: f.once)
            else:
                chosen.sort(key=lambda f: -f.once)
        return chosen



class FunctionStats:
    """One function of a LineStats, as the reports read it (LineStats.functions()).

    ``key`` (filename, first_lineno, qualified name) and its parts ``filename``,
    ``first_lineno``, ``name``; ``rows``: its ``(lineno, hits, time)`` rows as the results
    hold them, ``time`` in ``unit`` seconds; ``lines``: ``{lineno: (hits, time)}`` (a
    line given twice keeps its last row, as the tables show it); ``total``: the sum of
    their times in ``unit``, ``total_time`` the same in seconds; ``hits``: the sum of
    their hits. (Results from the profiler or a file never repeat a line; the text table
    alone, to stay line_profiler's, counts each row of a hand-made one.) ``source``: the source lines saved
    with the results (from first_lineno on), or None; source_lines() adds the file's.

    ``own`` ``{lineno: own time}`` and ``outer`` ``{lineno: counted-once time}`` (see
    OWN, OUTER), or None for results without them; ``once`` is the function's total
    counting each moment once (the sum of ``outer``; ``total`` when unknown), what
    everything that ranks or sums functions uses; ``own_total`` the sum of ``own``.
    """

    __slots__ = ("key", "rows", "unit", "source", "sources_complete", "own", "outer",
                 "_lines")

    def __init__(self, key, rows, unit, source=None, sources_complete=False, own=None,
                 outer=None):
        self.key = tuple(key)
        self.rows = rows
        self.unit = unit
        self.source = source
        self.sources_complete = sources_complete
        self.own = own
        self.outer = outer
        self._lines = None

    def __repr__(self):
        return f"FunctionStats({self.name!r}, {self.filename!r}:{self.first_lineno})"

    @property
    def filename(self) -> str:
        return self.key[0]

    @property
    def first_lineno(self) -> int:
        return self.key[1]

    @property
    def name(self) -> str:
        return self.key[2]

    @property
    def lines(self) -> dict:
        if self._lines is None:
            self._lines = {lineno: (hits, time) for lineno, hits, time in self.rows}
        return self._lines

    @property
    def total(self):
        return sum(time for _, time in self.lines.values())

    @property
    def total_time(self) -> float:
        return self.total * self.unit

    @property
    def hits(self) -> int:
        return sum(hits for hits, _ in self.lines.values())

    @property
    def once(self):
        if self.outer is None:
            return self.total
        return sum(self.outer.get(ln, 0) for ln in self.lines)

    @property
    def once_time(self) -> float:
        return self.once * self.unit

    @property
    def own_total(self):
        if self.own is None:
            return self.total
        return sum(self.own.get(ln, 0) for ln in self.lines)

    def source_lines(self, from_disk=None):
        """Its linewise.source.Source: the saved lines, or the file's when from_disk
        (default: unless the results came from a file, whose sources are complete)."""
        from .source import function_source

        if from_disk is None:
            from_disk = not self.sources_complete
        return function_source(self.filename, self.first_lineno, self.rows, self.source,
                               from_disk)


I64_MIN, I64_MAX = -2**63, 2**63 - 1


def _overflow(what, key, lineno):
    from .source import visible

    filename, first_lineno, name = key
    raise ResultsError(f"cannot sum the results: the {what} of {visible(name)} "
                       f"({visible(filename)}:{first_lineno}), line {lineno}, would not fit "
                       "in 64 bits")


COLUMN_RANGES = {"u32": (0, 2**32 - 1), "i32": (-2**31, 2**31 - 1), "u64": (0, I64_MAX),
                 "i64": (I64_MIN, I64_MAX)}


def _runs_of(stats) -> list:
    """stats.runs, or the one run its meta describes when it has none."""
    if stats.runs:
        return [dict(run) for run in stats.runs]
    from .provenance import run_from_meta

    run = run_from_meta(stats.meta)
    return [run] if run else []


def _merge_columns(a, b, unit):
    """The extra columns of a + b, line by line by each column's declared merge (sum or
    max), the time columns (TIME_COLUMNS) in `unit`; (column_types, columns). Raises
    ResultsError when the two declare a column differently or a sum leaves the column's
    type."""
    types = dict(a.column_types)
    for name, decl in b.column_types.items():
        if types.setdefault(name, decl) != decl:
            raise ResultsError(f"cannot sum the results: column {name!r} is {types[name]} "
                               f"in one and {decl} in the other")
    columns: dict = {}
    for name, (kind, merge) in types.items():
        lo, hi = COLUMN_RANGES.get(kind, (I64_MIN, I64_MAX))
        acc: dict = {}
        for stats in (a, b):
            for key, values in stats.columns.get(name, {}).items():
                into = acc.setdefault(key, {})
                scale = stats.unit / unit if name in TIME_COLUMNS else 1.0
                for lineno, value in values.items():
                    if scale != 1.0:
                        try:
                            value = round(value * scale)
                        except (OverflowError, ValueError):
                            _overflow(name, key, lineno)
                    if lineno in into:
                        value = max(into[lineno], value) if merge == "max" else into[lineno] + value
                    if not lo <= value <= hi:
                        _overflow(name, key, lineno)
                    into[lineno] = value
        columns[name] = acc
    return types, columns


def _merged_count(stats) -> int:
    """How many results `stats` sums (its meta "merged"; 1 if missing or not a number)."""
    text = stats.meta.get("merged", "1")
    return int(text) if isinstance(text, str) and text.isdigit() and len(text) < 19 else 1
