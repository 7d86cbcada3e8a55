"""Profiling results: the LineStats object, and saving/loading them as .lw files.

The file format is read and written in C (``linewise._engine.read_results`` /
``write_results``); see docs/results-format.md. This module converts between LineStats and
the plain payload those functions take, and turns their errors into ResultsError.
"""
from __future__ import annotations

import os
import sys
import time

__all__ = ["LineStats", "ResultsError", "load_stats", "dump_stats"]

Key = tuple  # (filename, first_lineno, qualified_name)


class ResultsError(ValueError):
    """A results file is missing, unreadable, truncated, corrupt or not ours."""


class LineStats:
    """Per-line results, in the shape line_profiler users script against.

    ``timings``: ``{(filename, first_lineno, qualname): [(lineno, hits, time), ...]}`` with
    ``time`` in units of ``unit`` seconds. ``sources`` optionally maps the same keys to the
    function's source lines (starting at first_lineno), so reports work where the source
    file is gone. ``meta`` is free-form text about the run (Python version, command, ...).
    """

    def __init__(self, timings=None, unit=1e-9, meta=None, sources=None):
        self.timings = dict(timings or {})
        self.unit = float(unit)
        self.meta = dict(meta or {})
        self.sources = dict(sources or {})

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
        """Sums two results line by line, in the finer of the two units."""
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
                    acc[lineno] = (h0 + hits, t0 + round(t * scale))
        timings = {k: sorted((ln, h, t) for ln, (h, t) in v.items()) for k, v in merged.items()}
        sources = {**other.sources, **self.sources}
        meta = dict(self.meta)
        meta["merged"] = str(int(self.meta.get("merged", "1")) + int(other.meta.get("merged", "1")))
        return LineStats(timings, unit, meta, sources)

    __radd__ = __add__

    def dump(self, path) -> None:
        dump_stats(self, path)

    @classmethod
    def load(cls, path) -> "LineStats":
        return load_stats(path)

    # line_profiler's LineStats is a namedtuple-like (timings, unit): keep unpacking working.
    def __iter__(self):
        return iter((self.timings, self.unit))


def default_meta() -> dict:
    """What a results file records about the run that made it."""
    from . import __version__

    return {
        "linewise": __version__,
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": " ".join(sys.argv),
        "pid": str(os.getpid()),
    }


def dump_stats(stats: LineStats, path) -> None:
    """Writes `stats` to `path` atomically (a temporary file renamed into place)."""
    raise NotImplementedError


def load_stats(path) -> LineStats:
    """Reads a results file; raises ResultsError saying what is wrong with it."""
    raise NotImplementedError
