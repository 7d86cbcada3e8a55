"""Profiling results: the LineStats object every report reads, and how two of them add up.

Saving and loading them as .lw files is linewise.store's.
"""
from __future__ import annotations

__all__ = ["LineStats", "ResultsError"]

Key = tuple  # (filename, first_lineno, qualified_name)


class ResultsError(ValueError):
    """A results file is missing, unreadable, truncated, corrupt or not ours."""


class LineStats:
    """Per-line results, in the shape line_profiler users script against.

    ``timings``: ``{(filename, first_lineno, qualname): [(lineno, hits, time), ...]}`` with
    ``time`` in units of ``unit`` seconds. ``sources`` optionally maps the same keys to the
    function's source lines (starting at first_lineno), so reports work where the source
    file is gone. ``meta`` is free-form text about the run (Python version, command, ...).

    ``sources_complete`` is True for results loaded from a file: ``sources`` then holds
    all the source they have, and nothing reads more from disk on their behalf (the
    reports unless asked, dump_stats never), whatever file names the results hold.
    """

    def __init__(self, timings=None, unit=1e-9, meta=None, sources=None,
                 sources_complete=False):
        self.timings = dict(timings or {})
        self.unit = float(unit)
        self.meta = dict(meta or {})
        self.sources = dict(sources or {})
        self.sources_complete = bool(sources_complete)

    def __repr__(self):
        return f"LineStats({len(self.timings)} functions, unit={self.unit!r})"

    def __eq__(self, other):
        if not isinstance(other, LineStats):
            return NotImplemented
        return self.unit == other.unit and self.timings == other.timings

    def total_time(self, key) -> float:
        """Seconds spent in the function `key` (sum of its lines)."""
        return sum(t for _, _, t in self.timings.get(key, ())) * self.unit

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
        return LineStats(timings, unit, meta, sources,
                         self.sources_complete or other.sources_complete)

    def __radd__(self, other):
        # sum([a, b]) starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return self.__add__(other)

    def dump(self, path) -> None:
        from .store import dump_stats

        dump_stats(self, path)

    @classmethod
    def load(cls, path) -> "LineStats":
        from .store import load_stats

        return load_stats(path)

    # line_profiler's LineStats is a namedtuple-like (timings, unit): keep unpacking working.
    def __iter__(self):
        return iter((self.timings, self.unit))


I64_MIN, I64_MAX = -2**63, 2**63 - 1


def _overflow(what, key, lineno):
    from .report import visible

    filename, first_lineno, name = key
    raise ResultsError(f"cannot sum the results: the {what} of {visible(name)} "
                       f"({visible(filename)}:{first_lineno}), line {lineno}, would not fit "
                       "in 64 bits")


def _merged_count(stats) -> int:
    """How many results `stats` sums (its meta "merged"; 1 if missing or not a number)."""
    text = stats.meta.get("merged", "1")
    return int(text) if isinstance(text, str) and text.isdigit() and len(text) < 19 else 1
