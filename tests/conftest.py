"""Shared helpers for linewise's behavioural tests.

Programs under tests/programs/ mark interesting lines with ``# L:name`` comments; tests find
line numbers with line_of() and compare whole {lineno: hits} maps, so that a hit on a line
nobody expected fails as loudly as a missing one.
"""
from __future__ import annotations

import functools
import inspect
import os
import re
import sys
import types

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# line_profiler picks its core (sys.monitoring or the legacy C trace hook) from
# LINE_PROFILER_CORE when it is first imported: make it use the same mechanism as the
# linewise backend under test, so the differential tests compare like with like.
if os.environ.get("LINEWISE_BACKEND") == "legacy":
    os.environ.setdefault("LINE_PROFILER_CORE", "legacy")
elif sys.version_info >= (3, 12):
    os.environ.setdefault("LINE_PROFILER_CORE", "sys.monitoring")

PY312 = sys.version_info >= (3, 12)


# -- running linewise and Python as a user would --------------------------------------------

# What a test's subprocess must not inherit from the test run: linewise's switches (but the
# backend under test and the sanitizer run's), PYTHONPATH, line_profiler's LINE_PROFILE.
_KEPT = ("LINEWISE_BACKEND", "LINEWISE_SANITIZED")


def clean_env(extra=None) -> dict:
    """os.environ for a subprocess: without linewise's switches, PYTHONPATH and
    LINE_PROFILE, writing no .pyc files; `extra` added last."""
    env = {k: v for k, v in os.environ.items()
           if not ((k.startswith("LINEWISE") and k not in _KEPT)
                   or k in ("PYTHONPATH", "LINE_PROFILE"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def run_python(*args, cwd, stdin=None, env=None, timeout=120, **kwargs):
    """`python ARGS` in `cwd` (this interpreter), output captured as text."""
    import subprocess

    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env=clean_env(env),
                          timeout=timeout, **kwargs)


def run_linewise(*args, cwd, **kwargs):
    """`python -m linewise ARGS` in `cwd` (run_python's options)."""
    return run_python("-m", "linewise", *args, cwd=cwd, **kwargs)


def one_error_line(result, status=2) -> str:
    """Asserts the command failed with `status`, one line on stderr and no traceback;
    returns that line."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def repr_id(value) -> str:
    """A parametrized test's id from repr(value), without object addresses: ids must be
    the same in every process that collects them (pytest-xdist's workers)."""
    return _ADDRESS.sub("", repr(value))


_MARKER = re.compile(r"#\s*L:([A-Za-z0-9_]+)\s*$")


def backend() -> str:
    """The linewise backend in use: "monitoring" or "legacy"."""
    from linewise import _engine

    return _engine.backend


@functools.lru_cache(maxsize=None)
def _markers(filename: str) -> dict:
    found: dict = {}
    with open(filename, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            m = _MARKER.search(text)
            if m:
                name = m.group(1)
                if name in found:
                    raise AssertionError(f"marker {name!r} twice in {filename}")
                found[name] = lineno
    return found


def _filename(where) -> str:
    if isinstance(where, str):
        return where
    if isinstance(where, types.CodeType):
        return where.co_filename
    return inspect.getsourcefile(where)


def line_of(where, marker: str) -> int:
    """The line number of the line marked ``# L:<marker>`` in the file of `where` (a module,
    function, code object or filename)."""
    marks = _markers(_filename(where))
    if marker not in marks:
        raise KeyError(f"no line marked # L:{marker} in {_filename(where)}")
    return marks[marker]


def lines(where, expected: dict) -> dict:
    """{marker: hits} -> {lineno: hits}, dropping zero counts."""
    return {line_of(where, m): n for m, n in expected.items() if n}


def code_of(obj) -> types.CodeType:
    if isinstance(obj, types.CodeType):
        return obj
    while isinstance(obj, (types.MethodType, classmethod, staticmethod)):
        obj = obj.__func__
    if isinstance(obj, (functools.partial, functools.partialmethod, functools.cached_property)):
        return code_of(obj.func)
    return obj.__code__


def find_key(timings: dict, obj):
    """The timings key of `obj`'s code: same file and first line; when several functions
    share those, the one whose name matches the code's (line_profiler names by co_name on
    3.10, by qualified name elsewhere; linewise by the function's __qualname__)."""
    code = code_of(obj)
    found = [key for key in timings
             if key[0] == code.co_filename and key[1] == code.co_firstlineno]
    if len(found) > 1:
        qual = getattr(code, "co_qualname", None)
        found = ([k for k in found if k[2] == qual]
                 or [k for k in found if k[2] == code.co_name or k[2].endswith("." + code.co_name)]
                 or found)
    assert len(found) <= 1, f"ambiguous keys for {code}: {found}"
    return found[0] if found else None


def hits_of(stats, obj) -> dict:
    """{lineno: hits} of `obj` (function, method, code, ...) in `stats` (a LineStats of
    linewise or line_profiler), lines never hit left out. {} if the function is absent."""
    timings = stats.timings if hasattr(stats, "timings") else stats[0]
    key = find_key(timings, obj)
    if key is None:
        return {}
    return {ln: hits for ln, hits, _t in timings[key] if hits}


def times_of(stats, obj) -> dict:
    """{lineno: seconds} of `obj` in `stats`."""
    timings, unit = stats.timings, stats.unit
    key = find_key(timings, obj)
    if key is None:
        return {}
    return {ln: t * unit for ln, _h, t in timings[key]}


def profile(targets, run, profiler_cls=None):
    """Profiles `targets` (each passed to add_function) while run() is called; returns the
    LineStats."""
    if profiler_cls is None:
        from linewise import LineProfiler as profiler_cls
    lp = profiler_cls()
    for t in targets:
        lp.add_function(t)
    lp.enable_by_count()
    try:
        run()
    finally:
        lp.disable_by_count()
    return lp.get_stats()


# Fixed results files of the report tests (tests/data/reports, made by make_data.py).
REPORTS_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "reports")


@pytest.fixture(scope="module")
def run1():
    from linewise import load_stats
    return load_stats(os.path.join(REPORTS_DATA, "run1.lw"))


@pytest.fixture(scope="module")
def run2():
    from linewise import load_stats
    return load_stats(os.path.join(REPORTS_DATA, "run2.lw"))
