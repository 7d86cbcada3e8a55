"""Results files: saving and loading LineStats as .lw files.

The file format is read and written in C (``linewise._engine.read_results`` /
``write_results``); see docs/results-format.md. This module converts between LineStats and
the plain payload those functions take, and turns their errors into ResultsError.

A file's per-line columns beyond lineno, hits and time land in ``stats.columns``
(``{name: {key: {lineno: int}}}``) with their declarations in ``stats.column_types``
(``{name: (type, merge)}``), whether or not anything in linewise knows them, and are
written back as they came. A LineStats without runs (straight from a profiler, or from a
version-1 file) is written with one run made from its meta.
"""
from __future__ import annotations

import os

from . import _engine
from .provenance import run_from_meta
from .results import LineStats, ResultsError

__all__ = ["dump_stats", "load_stats", "dumps_stats", "loads_stats",
           "function_source"]


def dump_stats(stats: LineStats, path, format=None) -> None:
    """Writes `stats` to `path` as linewise writes every file: atomically (a temporary
    file beside the target, renamed into place; an existing file keeps its mode), following
    a symlink to the file it names, and writing through a device or a FIFO instead of
    replacing it. A directory or a socket at `path` is refused.

    A function with no entry in ``stats.sources`` gets its source from linecache (lines
    first_lineno through its last timed line) when the file can be read, so the results
    still show code after the file changes or moves. Raises OSError naming the path when
    the file cannot be written (an existing file is then left as it was), TypeError or
    ValueError naming the field when `stats` holds something the format cannot store.

    `format` is "lw" (linewise's results file) or "lprof" (line_profiler's, see
    linewise.lprof: timings and unit only); None picks "lprof" for a path ending in .lprof.
    """
    if format is None:
        format = "lprof" if _is_lprof_name(path) else "lw"
    if format == "lprof":
        from .lprof import dump_lprof

        return dump_lprof(stats, path)
    if format != "lw":
        raise ValueError(f"format must be 'lw' or 'lprof', not {format!r}")
    _engine.write_results(path, _payload_of(stats))


def dumps_stats(stats: LineStats) -> bytes:
    """The bytes dump_stats would write for `stats` (a .lw file in memory): how results
    travel between processes (pytest's xdist workers, Dask workers). Raises TypeError or
    ValueError as dump_stats does."""
    return _engine.encode_results(_payload_of(stats))


def _payload_of(stats):
    """The plain payload the engine's writer takes for `stats`."""
    columns, extra = _columns_of(stats)
    functions = []
    for key, lines in stats.timings.items():
        if not isinstance(key, tuple) or len(key) != 3:
            raise TypeError(f"timings key {key!r} is not (filename, first_lineno, name)")
        filename, first_lineno, name = key
        source = stats.sources.get(key)
        if source is None and not getattr(stats, "sources_complete", False):
            source = _source_from_file(filename, first_lineno, lines)
        if extra:
            lines = _with_columns(key, lines, extra)
        functions.append({
            "filename": filename,
            "first_lineno": first_lineno,
            "name": name,
            "lines": lines,
            "source": source,
        })
    runs = getattr(stats, "runs", None) or []
    if not runs:
        run = run_from_meta(stats.meta) if isinstance(stats.meta, dict) else {}
        runs = [run] if run else []
    return {"unit": stats.unit, "meta": stats.meta, "runs": runs, "columns": columns,
            "functions": functions}


FIXED_COLUMNS = [("lineno", "u32", "key"), ("hits", "u64", "sum"), ("time", "i64", "sum")]


def _columns_of(stats):
    """The file's column declarations for `stats` and its extra columns as a list of
    (name, values by key: {key: {lineno: int}})."""
    declared = getattr(stats, "column_types", None) or {}
    values = getattr(stats, "columns", None) or {}
    columns = list(FIXED_COLUMNS)
    extra = []
    for name in list(declared) + [n for n in values if n not in declared]:
        if name not in declared:
            raise ValueError(f"column {name!r} has values but no declaration in column_types")
        kind, merge = declared[name]
        columns.append((name, kind, merge))
        extra.append((name, values.get(name) or {}))
    return columns, extra


def _with_columns(key, lines, extra):
    """lines as (lineno, hits, time, extra values...) tuples: 0 where a column has no
    value for a line. A value for a line with no timing is an error (it would be lost)."""
    known = {line[0] for line in lines if isinstance(line, (tuple, list)) and line}
    out = []
    for name, by_key in extra:
        for lineno in (by_key.get(key) or {}):
            if lineno not in known:
                raise ValueError(f"column {name!r} has a value for line {lineno} of {key!r}, "
                                 "which has no timing")
    for line in lines:
        if not isinstance(line, (tuple, list)) or not line:
            out.append(line)  # the writer names what is wrong with it
            continue
        out.append((*line, *((by_key.get(key) or {}).get(line[0], 0) for _, by_key in extra)))
    return out


def function_source(key, lines):
    """The source lines dump_stats stores for the function `key` ((filename,
    first_lineno, name)) timed on `lines`: lines first_lineno .. its last timed line as
    linecache has them, or None. For callers that build LineStats with
    sources_complete and want them read once (the Dask workers' snapshots)."""
    if not isinstance(key, tuple) or len(key) != 3:
        return None
    return _source_from_file(key[0], key[1], lines)


def _source_from_file(filename, first_lineno, lines):
    """Lines first_lineno .. the last line in `lines` of `filename` (as linecache has them,
    newlines kept), or None when there are none to be had."""
    if not lines or not isinstance(filename, str) or not isinstance(first_lineno, int):
        return None
    last = max(lineno for lineno, _hits, _time in lines)
    if first_lineno < 1 or last < first_lineno:
        return None
    try:
        import linecache  # here: child processes save through this module (start-up cost)

        linecache.checkcache(filename)  # the file may have changed since linecache read it
        text = linecache.getlines(filename)
    except Exception:  # linecache runs loaders' get_source: anything can go wrong there
        return None
    return text[first_lineno - 1:last] or None


def _is_lprof_name(path) -> bool:
    try:
        name = os.fsdecode(path)
    except TypeError:
        return False
    return name.lower().endswith(".lprof")


def _head(path) -> bytes:
    """The first bytes of the file at `path` (b"" if it cannot be read: the reader says
    why)."""
    try:
        with open(path, "rb") as f:
            return f.read(2)
    except (OSError, TypeError, ValueError):
        return b""


def load_stats(path) -> LineStats:
    """Reads a results file, linewise's or line_profiler's (.lprof, told by its first
    bytes, read without running anything: see linewise.lprof); raises ResultsError
    saying what is wrong with it.

    The message is one line, ``"<path>: <why>"``: the file is missing or unreadable, or it
    is not a valid results file (truncated, corrupt, foreign, a newer format version...).
    """
    from .source import visible

    shown = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else repr(path)
    from . import lprof

    head = _head(path)
    # A pickle's header; or any file named .lprof but ours (protocol 0 and 1 pickles have
    # no header: refused by the .lprof reader rather than called a bad .lw magic).
    if lprof.is_lprof(head) or (head and not head.startswith(b"\x89L")
                                and _is_lprof_name(path)):
        try:
            return lprof.load_lprof(path)
        except lprof.Refused as exc:
            raise ResultsError(f"refused to load {shown}: {exc}") from None
        except ResultsError as exc:
            raise ResultsError(f"{shown}: {exc}") from None
        except OSError as exc:
            raise ResultsError(f"{shown}: {exc.strerror or exc}") from None
    try:
        payload = _engine.read_results(path)
    except OSError as exc:
        raise ResultsError(f"{shown}: {exc.strerror or exc}") from None
    except ValueError as exc:  # the message may quote the file's text (a meta key)
        raise ResultsError(f"{shown}: {visible(exc)}") from None
    return _stats_of(payload, shown)


def loads_stats(data, what="results") -> LineStats:
    """The LineStats in `data`, the bytes of a linewise results file (what dumps_stats
    returns), parsed as strictly as a file and without running anything (never a pickle:
    line_profiler's format is not taken here). Raises ResultsError, one line
    ``"<what>: <why>"``, when the bytes are not valid results."""
    from .source import visible

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ResultsError(f"{what}: expected bytes, not {type(data).__name__}")
    try:
        payload = _engine.decode_results(data)
    except ValueError as exc:
        raise ResultsError(f"{what}: {visible(exc)}") from None
    return _stats_of(payload, what)


def _stats_of(payload, shown) -> LineStats:
    """The LineStats of a payload the engine's reader made; `shown` names where it came
    from in errors."""
    timings: dict = {}
    sources: dict = {}
    extra = payload["columns"][3:]  # beyond lineno, hits, time: kept whatever they are
    column_types = {name: (kind, merge) for name, kind, merge in extra}
    columns: dict = {name: {} for name, _kind, _merge in extra}
    functions = payload.pop("functions")
    for index in range(len(functions)):
        func, functions[index] = functions[index], None  # freed as we go: files can be big
        key = (func["filename"], func["first_lineno"], func["name"])
        if key in timings:
            raise ResultsError(f"{shown}: function {key!r} appears twice")
        lines = func["lines"]
        if extra:
            for i, (name, _kind, _merge) in enumerate(extra, 3):
                columns[name][key] = {line[0]: line[i] for line in lines}
            lines = [line[:3] for line in lines]
        timings[key] = lines
        if func["source"] is not None:
            sources[key] = func["source"]
    return LineStats(timings, payload["unit"], payload["meta"], sources, sources_complete=True,
                     runs=payload["runs"], columns=columns, column_types=column_types)
