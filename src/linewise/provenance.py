"""Where results come from: the run record of a process (pid, host, Python, command, start
time, linewise version) and the free-text meta the reports show.

A results file holds one run record per process its results come from (see
docs/results-format.md, "Runs"); merging results concatenates them.
"""
from __future__ import annotations

import os
import sys
import time

__all__ = ["RUN_FIELDS", "PROCESS_ROLES", "default_meta", "default_run", "run_from_meta",
           "tag_process", "process_lines"]

# When this process started profiling, near enough: linewise imports this module at once.
_STARTED = time.strftime("%Y-%m-%dT%H:%M:%S%z")

# The fields of a run record (docs/results-format.md, "Runs"), all str.
RUN_FIELDS = ("pid", "host", "python", "implementation", "command", "started", "linewise",
              "profiled", "event_cost_ns")


def default_meta() -> dict:
    """What a results file records about the run that made it, as free text (the reports
    show it); dump_stats makes the file's run record from it (see run_from_meta)."""
    from ._version import __version__

    return {
        "linewise": __version__,
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": " ".join(sys.argv),
        "pid": str(os.getpid()),
        "host": _hostname(),
    }


def _hostname() -> str:
    """gethostname(), without importing socket where uname says the same (child
    processes save through here, and pay for each import at start-up)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def default_run() -> dict:
    """The run record of this process (RUN_FIELDS)."""
    run = run_from_meta(default_meta())
    run["started"] = _STARTED
    return run


def run_from_meta(meta: dict) -> dict:
    """The run record that a LineStats without runs stands for, from what its meta says
    (default_meta's keys; a version-1 file's meta has all but host): only the fields it
    has, str values only."""
    names = {"pid": "pid", "host": "host", "python": "python",
             "implementation": "implementation", "started": "created",
             "linewise": "linewise", "profiled": "profiled", "event_cost_ns": "event_cost_ns"}
    run = {field: meta[key] for field, key in names.items() if isinstance(meta.get(key), str)}
    command = meta.get("command", meta.get("argv"))
    if isinstance(command, str):
        run["command"] = command
    if _STARTED and run.get("pid") == str(os.getpid()):
        run["started"] = _STARTED  # this process: its start, not when the stats were taken
    return {field: run[field] for field in RUN_FIELDS if field in run}


# -- one process's own counts inside merged results ----------------------------------------
#
# When results from several processes are merged (a program's children, pool workers, Dask
# workers), the tables hold the totals and each process's run record keeps what that
# process counted itself, so reports can break each line down per process:
#   "process.role"   "parent", "child" or "worker"
#   "process.parent" the pid of the process that started it ("" when unknown or none)
#   "process.unit"   seconds per time unit of process.lines (repr of a float)
#   "process.lines"  JSON [[filename, first_lineno, name, [[lineno, hits, time], ...]], ...]
# (the same encoding as the pytest plugin's per-test "pytest.lines").

PROCESS_ROLES = ("parent", "child", "worker")


def tag_process(stats, role, parent_pid=None, run=None):
    """A copy of `stats` (one process's results) whose single run record also says the
    process's role, its parent and its own per-line counts: what to merge with the other
    processes' results. `run` is the run record to use (default: the one stats has, or
    this process's when it has none)."""
    import json

    if role not in PROCESS_ROLES:
        raise ValueError(f"role must be one of {PROCESS_ROLES}, not {role!r}")
    if run is None:
        run = dict(stats.runs[0]) if len(stats.runs) == 1 else (run_from_meta(stats.meta)
                                                               or default_run())
    run = dict(run)
    run["process.role"] = role
    run["process.parent"] = "" if parent_pid is None else str(parent_pid)
    run["process.unit"] = repr(stats.unit)
    run["process.lines"] = json.dumps(
        [[*key, [list(row) for row in rows]] for key, rows in stats.timings.items()
         if any(hits for _, hits, _ in rows)], separators=(",", ":"))
    return type(stats)(stats.timings, stats.unit, stats.meta, stats.sources,
                     stats.sources_complete, [run], stats.columns, stats.column_types)


def process_lines(run, unit):
    """The per-line counts a tagged run record holds, in time units of `unit` seconds:
    {key: [(lineno, hits, time), ...]}, or None when the record has none. Raises
    ValueError when they are broken."""
    import json

    text = run.get("process.lines")
    if text is None:
        return None
    scale = float(run.get("process.unit", "1e-9")) / unit
    out: dict = {}
    for filename, first_lineno, name, rows in json.loads(text):
        if not (isinstance(filename, str) and isinstance(first_lineno, int)
                and isinstance(name, str)):
            raise ValueError("a function key is not (str, int, str)")
        out[(filename, first_lineno, name)] = [(int(ln), int(h), round(t * scale))
                                               for ln, h, t in rows]
    return out
