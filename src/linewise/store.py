"""Results files: saving and loading LineStats as .lw files.

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
from .results import LineStats, ResultsError

__all__ = ["default_meta", "dump_stats", "load_stats"]


def default_meta() -> dict:
    """What a results file records about the run that made it."""
    from ._version import __version__

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
    from .source import visible

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
