"""Results as JSON, for tools and notebooks: ``linewise view --json FILE``.

(The module is linewise.reports.json; inside it ``import json`` is the standard
library's, as imports are absolute.)

The document is described by docs/json-schema.json (JSON Schema, draft 2020-12) and
versioned by its "format" and "version" fields: a reader should check both, and a change
that could break a reader bumps the version. Times are in seconds. Example::

    {
      "format": "linewise-results",
      "version": 2,
      "unit": 1e-09,
      "python": "3.13.0",
      "implementation": "cpython",
      "linewise": "0.1.0",
      "created": "2026-11-25T12:33:51+0000",
      "command": "linewise run prog.py",
      "meta": {"python": "3.13.0", "...": "..."},
      "total_time": 0.0125,
      "processes": [],
      "files": [{"path": "prog.py", "total_time": 0.0125, "functions": 1}],
      "functions": [
        {"name": "work", "file": "prog.py", "first_line": 3, "total_time": 0.0125,
         "hits": 7,
         "lines": [{"line": 4, "hits": 1, "time": 0.0001, "percent": 0.8}, "..."],
         "source": ["def work():", "    x = 1", "..."]}
      ]
    }

Results with memory figures (linewise.reports.memory) also give each function and each
line "alloc", "net" and "peak", in bytes (a function's: its whole calls' where the results
hold them, else its lines' alloc and net summed and their highest peak).

"source" holds the function's lines as the text report shows them (line ``first_line + i``
is ``source[i]``), or null when neither the file nor the results have them. Strings are
kept as they are (JSON escapes control characters itself).

"processes" (version 2) lists the processes of results merged from several (a program's
children, pool or Dask workers; linewise.reports.by_process), empty for one process; each
line then has "processes" too: what each process that ran it counted, by index into that
list. Version 2 adds only these and the memory figures: a reader of version 1 that ignores
unknown keys reads it.

Every number is finite, as JSON requires: results whose times overflow a float once
converted to seconds (a unit of 1e300 s) raise JSONRangeError naming the function and line.
"""
from __future__ import annotations

import io
import json
import math
import sys

from ..source import strip_line_end, visible
from . import memory as mem

__all__ = ["FORMAT", "VERSION", "JSONRangeError", "to_dict", "dumps", "write_json"]

FORMAT = "linewise-results"
VERSION = 2


class JSONRangeError(ValueError):
    """A number of the results cannot be written as JSON (it is not finite)."""


def _finite(value, what):
    if not math.isfinite(value):
        raise JSONRangeError(f"{what} is {value!r} in seconds, which JSON cannot hold")
    return value


def _function(func, from_disk, breakdown=None, memory=None):
    """The JSON object of one FunctionStats (with its source when from_disk is not None:
    None checks the numbers only and reads nothing); breakdown: the per-process counts
    (by_process.Breakdown) that give each line its "processes"; memory: its {lineno:
    (alloc, net, peak)} when the results have memory figures."""
    unit = func.unit
    by_line = func.lines  # a repeated line keeps its last, as the report
    total = func.total
    where = f"{visible(func.name)} ({visible(func.filename)}:{func.first_lineno})"
    lines = [{
        "line": lineno,
        "hits": hits,
        "time": _finite(time * unit, f"the time of {where}, line {lineno},"),
        "percent": _finite(100.0 * time / total if total else 0.0,
                           f"the share of {where}, line {lineno},"),
    } for lineno, (hits, time) in sorted(by_line.items())]
    if breakdown:
        for line in lines:
            line["processes"] = _line_processes(breakdown, func, line["line"], where)
    if func.own is not None:
        for line in lines:
            line["own_time"] = _finite(func.own.get(line["line"], 0) * unit,
                                       f"the own time of {where}, line {line['line']},")
    source = None if from_disk is None else func.source_lines(from_disk).block
    obj = {
        "name": func.name,
        "file": func.filename,
        "first_line": func.first_lineno,
        "total_time": _finite(total * unit, f"the total time of {where}"),
        "once_time": _finite(func.once * unit, f"the counted-once time of {where}"),
        "hits": func.hits,
        "lines": lines,
        "source": None if source is None else [strip_line_end(s) for s in source],
    }
    if memory is not None:
        for line in lines:
            line.update(mem.json_fields(memory.get(line["line"], mem.ZERO)))
        obj.update(mem.json_fields(mem.function_totals(memory)))
    if func.own is not None:
        obj["own_time"] = _finite(func.own_total * unit, f"the own time of {where}")
    return obj


def _line_processes(breakdown, func, lineno, where) -> list:
    """What each process counted on one line: [{"process": index, "hits", "time"}]."""
    return [{"process": breakdown.position[id(proc)], "hits": hits,
             "time": _finite(time * func.unit, f"a process's time of {where}, line {lineno},")}
            for proc, hits, time in breakdown.line(func.key, lineno) if proc is not None]


def _processes(breakdown, unit) -> list:
    """The document's "processes": one object per process of the breakdown."""
    return [{"pid": proc.pid, "role": proc.role, "parent": proc.parent or None,
             "command": proc.command or None, "host": proc.host or None,
             "total_time": _finite(proc.total() * unit, f"the total time of pid {proc.pid}"),
             "hits": sum(h for rows in proc.lines.values() for h, _ in rows.values())}
            for proc in breakdown.processes]


def _document(stats, sort, from_disk, functions, top=None, skip_zero=False):
    """(the document with its "functions" (None: leave the list empty and only check
    every number: write_json then writes the functions one by one), the FunctionStats
    in document order, from_disk, memory_by_key's figures or None)."""
    if from_disk is None:
        from_disk = not getattr(stats, "sources_complete", False)
    from .by_process import split_by_process

    unit = stats.unit
    meta = {str(k): str(v) for k, v in stats.meta.items()}
    breakdown = split_by_process(stats)  # ByProcessError: a broken record
    chosen = stats.select(top=top, skip_zero=skip_zero, sort="longest" if sort else False)
    memory = mem.memory_by_key(stats)  # None: no memory figures
    built = []
    for func in chosen:
        obj = _function(func, None if functions is None else from_disk, breakdown,
                        _memory_of(memory, func))
        if functions is not None:
            built.append(obj)
    files: dict = {}
    for func in chosen:  # sums in ticks: no rounding piles up
        entry = files.setdefault(func.filename, {"path": func.filename, "total_time": 0,
                                                 "once_time": 0, "functions": 0})
        entry["total_time"] += func.total
        entry["once_time"] += func.once
        entry["functions"] += 1
    for entry in files.values():
        entry["total_time"] = _finite(entry["total_time"] * unit,
                                      f"the total time of {visible(entry['path'])}")
        entry["once_time"] = _finite(entry["once_time"] * unit,
                                     f"the counted-once time of {visible(entry['path'])}")
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "unit": unit,
        "python": meta.get("python"),
        "implementation": meta.get("implementation"),
        "linewise": meta.get("linewise"),
        "created": meta.get("created"),
        "command": meta.get("command", meta.get("argv")),
        "meta": meta,
        "total_time": _finite(sum(func.total for func in chosen) * unit, "the total time"),
        "once_time": _finite(sum(func.once for func in chosen) * unit, "the counted-once time"),
        "profiled": stats.profiled,
        "processes": _processes(breakdown, unit),
        "files": sorted(files.values(), key=lambda f: -f["once_time"]),
        "functions": built,
    }
    return doc, chosen, from_disk, breakdown, memory


def _memory_of(memory, func):
    return None if memory is None else memory.get(func.key, {})


def to_dict(stats, sort=False, from_disk=None, top=None, skip_zero=False) -> dict:
    """The JSON document of a LineStats, as Python objects.

    Functions come in the order of the results, or by total time, longest first, with
    sort=True; lines in line order. top, skip_zero: only the `top` functions with the
    most time, without those never run (LineStats.select). from_disk: read sources the
    results lack from their files (default: unless the results were loaded from a file;
    see linewise.source). Raises JSONRangeError for a time that is not finite in seconds.
    """
    return _document(stats, sort, from_disk, True, top, skip_zero)[0]


def dumps(stats, sort=False, indent=2, from_disk=None, top=None, skip_zero=False) -> str:
    """The JSON text of a LineStats (ASCII, with escapes, so any stream can take it)."""
    out = io.StringIO()
    write_json(stats, out, sort=sort, indent=indent, from_disk=from_disk, top=top,
               skip_zero=skip_zero)
    return out.getvalue()


def write_json(stats, stream=None, sort=False, indent=2, from_disk=None, top=None,
               skip_zero=False) -> None:
    """Writes the JSON of a LineStats to `stream` (default sys.stdout): the same text as
    json.dumps(to_dict(...)), written one function at a time, so memory does not grow
    with the document. Every number is checked first: an error writes nothing."""
    stream = sys.stdout if stream is None else stream
    doc, chosen, from_disk, breakdown, memory = _document(stats, sort, from_disk, None, top,
                                                          skip_zero)
    head = json.dumps(doc, indent=indent, allow_nan=False)
    if not chosen or indent is None:
        if chosen:
            doc["functions"] = [_function(func, from_disk, breakdown, _memory_of(memory, func))
                                for func in chosen]
            head = json.dumps(doc, indent=indent, allow_nan=False)
        stream.write(head + "\n")
        return
    tail = '"functions": []\n}'
    assert head.endswith(tail)
    pad = " " * indent
    stream.write(head[:-len(tail)] + '"functions": [\n')
    for n, func in enumerate(chosen):
        text = json.dumps(_function(func, from_disk, breakdown, _memory_of(memory, func)),
                          indent=indent,
                          allow_nan=False).replace("\n", "\n" + pad * 2)
        stream.write(pad * 2 + text + (",\n" if n + 1 < len(chosen) else "\n"))
    stream.write(pad + "]\n}\n")
