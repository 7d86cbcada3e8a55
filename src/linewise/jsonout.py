"""Results as JSON, for tools and notebooks: ``linewise view --json FILE``.

The document is described by docs/json-schema.json (JSON Schema, draft 2020-12) and
versioned by its "format" and "version" fields: a reader should check both, and a change
that could break a reader bumps the version. Times are in seconds. Example::

    {
      "format": "linewise-results",
      "version": 1,
      "unit": 1e-09,
      "python": "3.13.0",
      "implementation": "cpython",
      "linewise": "0.1.0",
      "created": "2026-11-25T12:33:51+0000",
      "command": "linewise run prog.py",
      "meta": {"python": "3.13.0", "...": "..."},
      "total_time": 0.0125,
      "files": [{"path": "prog.py", "total_time": 0.0125, "functions": 1}],
      "functions": [
        {"name": "work", "file": "prog.py", "first_line": 3, "total_time": 0.0125,
         "hits": 7,
         "lines": [{"line": 4, "hits": 1, "time": 0.0001, "percent": 0.8}, "..."],
         "source": ["def work():", "    x = 1", "..."]}
      ]
    }

"source" holds the function's lines as the text report shows them (line ``first_line + i``
is ``source[i]``), or null when neither the file nor the results have them. Strings are
kept as they are (JSON escapes control characters itself).

Every number is finite, as JSON requires: results whose times overflow a float once
converted to seconds (a unit of 1e300 s) raise JSONRangeError naming the function and line.
"""
from __future__ import annotations

import json
import math
import sys

from . import report

__all__ = ["FORMAT", "VERSION", "JSONRangeError", "to_dict", "dumps", "write_json"]

FORMAT = "linewise-results"
VERSION = 1


class JSONRangeError(ValueError):
    """A number of the results cannot be written as JSON (it is not finite)."""


def _finite(value, what):
    if not math.isfinite(value):
        raise JSONRangeError(f"{what} is {value!r} in seconds, which JSON cannot hold")
    return value


def to_dict(stats, sort=False, from_disk=None) -> dict:
    """The JSON document of a LineStats, as Python objects.

    Functions come in the order of the results, or by total time, longest first, with
    sort=True; lines in line order. from_disk: read sources the results lack from their
    files (default: unless the results were loaded from a file; see linewise.report).
    Raises JSONRangeError for a time that is not finite in seconds.
    """
    if from_disk is None:
        from_disk = not getattr(stats, "sources_complete", False)
    unit = stats.unit
    meta = {str(k): str(v) for k, v in stats.meta.items()}
    sources = stats.sources or {}
    functions = []
    ticks = []  # each function's total in the results' unit
    for key, timings in stats.timings.items():
        filename, first_lineno, name = key
        by_line = {}
        for lineno, hits, time in timings:  # a repeated line keeps its last, as the report
            by_line[lineno] = (hits, time)
        total = sum(time for _, time in by_line.values())
        where = f"{report.visible(name)} ({report.visible(filename)}:{first_lineno})"
        lines = [{
            "line": lineno,
            "hits": hits,
            "time": _finite(time * unit, f"the time of {where}, line {lineno},"),
            "percent": _finite(100.0 * time / total if total else 0.0,
                               f"the share of {where}, line {lineno},"),
        } for lineno, (hits, time) in sorted(by_line.items())]
        source = report._function_lines(filename, first_lineno, timings, sources.get(key),
                                        from_disk)
        functions.append({
            "name": name,
            "file": filename,
            "first_line": first_lineno,
            "total_time": _finite(total * unit, f"the total time of {where}"),
            "hits": sum(hits for hits, _ in by_line.values()),
            "lines": lines,
            "source": None if source is None else [report._strip_line_end(s) for s in source],
        })
        ticks.append(total)
    if sort:
        order = sorted(range(len(functions)), key=lambda i: -ticks[i])
        functions = [functions[i] for i in order]
        ticks = [ticks[i] for i in order]
    files: dict = {}
    for func, total in zip(functions, ticks):  # sums in ticks: no rounding piles up
        entry = files.setdefault(func["file"], {"path": func["file"], "total_time": 0,
                                               "functions": 0})
        entry["total_time"] += total
        entry["functions"] += 1
    for entry in files.values():
        entry["total_time"] = _finite(entry["total_time"] * unit,
                                      f"the total time of {report.visible(entry['path'])}")
    return {
        "format": FORMAT,
        "version": VERSION,
        "unit": unit,
        "python": meta.get("python"),
        "implementation": meta.get("implementation"),
        "linewise": meta.get("linewise"),
        "created": meta.get("created"),
        "command": meta.get("command", meta.get("argv")),
        "meta": meta,
        "total_time": _finite(sum(ticks) * unit, "the total time"),
        "files": sorted(files.values(), key=lambda f: -f["total_time"]),
        "functions": functions,
    }


def dumps(stats, sort=False, indent=2, from_disk=None) -> str:
    """The JSON text of a LineStats (ASCII, with escapes, so any stream can take it)."""
    return json.dumps(to_dict(stats, sort=sort, from_disk=from_disk), indent=indent,
                      allow_nan=False) + "\n"


def write_json(stats, stream=None, sort=False, indent=2, from_disk=None) -> None:
    """Writes the JSON of a LineStats to `stream` (default sys.stdout)."""
    (sys.stdout if stream is None else stream).write(
        dumps(stats, sort=sort, indent=indent, from_disk=from_disk))
