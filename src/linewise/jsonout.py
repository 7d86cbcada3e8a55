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
is ``source[i]``), or null when neither the file nor the results have them.
"""
from __future__ import annotations

import json
import sys

from . import report

__all__ = ["FORMAT", "VERSION", "to_dict", "dumps", "write_json"]

FORMAT = "linewise-results"
VERSION = 1


def to_dict(stats, sort=False) -> dict:
    """The JSON document of a LineStats, as Python objects.

    Functions come in the order of the results, or by total time, longest first, with
    sort=True; lines in line order.
    """
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
        lines = [{
            "line": lineno,
            "hits": hits,
            "time": time * unit,
            "percent": 100.0 * time / total if total else 0.0,
        } for lineno, (hits, time) in sorted(by_line.items())]
        source = report._function_lines(filename, first_lineno, timings, sources.get(key))
        functions.append({
            "name": name,
            "file": filename,
            "first_line": first_lineno,
            "total_time": total * unit,
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
        entry["total_time"] *= unit
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
        "total_time": sum(ticks) * unit,
        "files": sorted(files.values(), key=lambda f: -f["total_time"]),
        "functions": functions,
    }


def dumps(stats, sort=False, indent=2) -> str:
    """The JSON text of a LineStats (ASCII, with escapes, so any stream can take it)."""
    return json.dumps(to_dict(stats, sort=sort), indent=indent, allow_nan=False) + "\n"


def write_json(stats, stream=None, sort=False, indent=2) -> None:
    """Writes the JSON of a LineStats to `stream` (default sys.stdout)."""
    (sys.stdout if stream is None else stream).write(dumps(stats, sort=sort, indent=indent))
