"""Profiling results: the LineStats object, and saving/loading them as .lw files.

The file format is read and written in C (``linewise._engine.read_results`` /
``write_results``); see docs/results-format.md. This module converts between LineStats and
the plain payload those functions take, and turns their errors into ResultsError.
"""
from __future__ import annotations

import linecache
import os
import sys
import time

from . import _engine

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
        dump_stats(self, path)

    @classmethod
    def load(cls, path) -> "LineStats":
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
    """Writes `stats` to `path` as linewise writes every file: atomically (a temporary
    file beside the target, renamed into place; an existing file keeps its mode), following
    a symlink to the file it names, and writing through a device or a FIFO instead of
    replacing it. A directory or a socket at `path` is refused.

    A function with no entry in ``stats.sources`` gets its source from linecache (lines
    first_lineno through its last timed line) when the file can be read, so the results
    still show code after the file changes or moves. Raises OSError naming the path when
    the file cannot be written (an existing file is then left as it was), TypeError or
    ValueError naming the field when `stats` holds something the format cannot store.
    """
    functions = []
    for key, lines in stats.timings.items():
        if not isinstance(key, tuple) or len(key) != 3:
            raise TypeError(f"timings key {key!r} is not (filename, first_lineno, name)")
        filename, first_lineno, name = key
        source = stats.sources.get(key)
        if source is None and not getattr(stats, "sources_complete", False):
            source = _source_from_file(filename, first_lineno, lines)
        functions.append({
            "filename": filename,
            "first_lineno": first_lineno,
            "name": name,
            "lines": lines,
            "source": source,
        })
    _engine.write_results(path, {"unit": stats.unit, "meta": stats.meta, "functions": functions})


def _source_from_file(filename, first_lineno, lines):
    """Lines first_lineno .. the last line in `lines` of `filename` (as linecache has them,
    newlines kept), or None when there are none to be had."""
    if not lines or not isinstance(filename, str) or not isinstance(first_lineno, int):
        return None
    last = max(lineno for lineno, _hits, _time in lines)
    if first_lineno < 1 or last < first_lineno:
        return None
    try:
        linecache.checkcache(filename)  # the file may have changed since linecache read it
        text = linecache.getlines(filename)
    except Exception:  # linecache runs loaders' get_source: anything can go wrong there
        return None
    return text[first_lineno - 1:last] or None


def load_stats(path) -> LineStats:
    """Reads a results file; raises ResultsError saying what is wrong with it.

    The message is one line, ``"<path>: <why>"``: the file is missing or unreadable, or it
    is not a valid results file (truncated, corrupt, foreign, a newer format version...).
    """
    from .report import visible

    shown = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else repr(path)
    try:
        payload = _engine.read_results(path)
    except OSError as exc:
        raise ResultsError(f"{shown}: {exc.strerror or exc}") from None
    except ValueError as exc:  # the message may quote the file's text (a meta key)
        raise ResultsError(f"{shown}: {visible(exc)}") from None
    timings: dict = {}
    sources: dict = {}
    functions = payload.pop("functions")
    for index in range(len(functions)):
        func, functions[index] = functions[index], None  # freed as we go: files can be big
        key = (func["filename"], func["first_lineno"], func["name"])
        if key in timings:
            raise ResultsError(f"{shown}: function {key!r} appears twice")
        timings[key] = func["lines"]
        if func["source"] is not None:
            sources[key] = func["source"]
    return LineStats(timings, payload["unit"], payload["meta"], sources, sources_complete=True)
