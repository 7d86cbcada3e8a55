"""Where results come from: the run record of a process (pid, host, Python, command, start
time, linewise version) and the free-text meta the reports show.

A results file holds one run record per process its results come from (see
docs/results-format.md, "Runs"); merging results concatenates them.
"""
from __future__ import annotations

import os
import socket
import sys
import time

__all__ = ["RUN_FIELDS", "default_meta", "default_run", "run_from_meta"]

# When this process started profiling, near enough: linewise imports this module at once.
_STARTED = time.strftime("%Y-%m-%dT%H:%M:%S%z")

# The fields of a run record (docs/results-format.md, "Runs"), all str.
RUN_FIELDS = ("pid", "host", "python", "implementation", "command", "started", "linewise")


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
        "host": socket.gethostname(),
    }


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
             "linewise": "linewise"}
    run = {field: meta[key] for field, key in names.items() if isinstance(meta.get(key), str)}
    command = meta.get("command", meta.get("argv"))
    if isinstance(command, str):
        run["command"] = command
    if _STARTED and run.get("pid") == str(os.getpid()):
        run["started"] = _STARTED  # this process: its start, not when the stats were taken
    return {field: run[field] for field in RUN_FIELDS if field in run}
