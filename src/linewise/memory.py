"""Memory per line, the Python side: the result columns and numpy's import watcher.

The counting is the engine's (linewise._engine, memory.c): this module only turns what
``Engine.get_memory()`` returns into LineStats columns, and tells the engine when numpy
has been imported so that its allocation handler (NEP 49) is wrapped too.

Columns (bytes, callees included, like time): ``alloc`` (u64, sum) allocated while the
line ran; ``net`` (i64, sum) live traced memory at the line's end minus at its start;
``peak`` (u64, max) the highest live traced memory above the line's starting level while
it ran. Per function, for whole calls: ``call_alloc`` (u64, sum), ``call_net`` (i64, sum)
and ``call_peak`` (u64, max), one value per function kept on its first row (its lowest
line number); a reader totals a function's values over its rows (see
LineStats.call_memory), which stays right when results are merged.
"""
from __future__ import annotations

import sys

from . import _engine

__all__ = ["LINE_COLUMNS", "CALL_COLUMNS", "memory_columns", "watch_numpy", "parse_mode"]

LINE_COLUMNS = {"alloc": ("u64", "sum"), "net": ("i64", "sum"), "peak": ("u64", "max")}
CALL_COLUMNS = {"call_alloc": ("u64", "sum"), "call_net": ("i64", "sum"),
                "call_peak": ("u64", "max")}
COLUMN_TYPES = {**LINE_COLUMNS, **CALL_COLUMNS}

_NUMPY_CORE = ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath")


def parse_mode(value) -> str | None:
    """None (off), "python" or "native" from a switch's value: False/None/""/"0"/"off"
    are off, True/"1"/"on"/"python"/"yes" Python's allocators (and numpy's), "native"
    also malloc and friends. ValueError on anything else."""
    if value is None or value is False:
        return None
    if value is True:
        return "python"
    text = str(value).strip().lower()
    if text in ("", "0", "off", "no", "false", "none"):
        return None
    if text in ("1", "on", "yes", "true", "python"):
        return "python"
    if text == "native":
        return "native"
    raise ValueError(f"memory mode must be on, off or native, not {value!r}")


def memory_columns(engine_memory, key_for, timings):
    """The LineStats columns of an engine's get_memory(): {name: {key: {lineno: int}}}.
    Lines are kept where `timings` has a row for them (a column needs one)."""
    columns: dict = {name: {} for name in COLUMN_TYPES}
    for code, lines, call in engine_memory:
        key = key_for(code)
        rows = {ln for ln, _, _ in timings.get(key, ())}
        if not rows:
            continue
        for lineno, alloc, net, peak in lines:
            if lineno not in rows:
                continue
            for name, value in (("alloc", alloc), ("net", net), ("peak", peak)):
                into = columns[name].setdefault(key, {})
                if name == "peak":
                    into[lineno] = max(into.get(lineno, 0), value)
                else:
                    into[lineno] = into.get(lineno, 0) + value
        first = min(rows)
        for name, value in zip(CALL_COLUMNS, call):
            into = columns[name].setdefault(key, {})
            if name == "call_peak":
                into[first] = max(into.get(first, 0), value)
            else:
                into[first] = into.get(first, 0) + value
    return columns, dict(COLUMN_TYPES)


class _NumpyWatcher:
    """On sys.meta_path while numpy is not loaded: at each import it checks whether
    numpy's core now is, and if so tells the engine and leaves. It finds nothing itself."""

    def find_spec(self, name, path=None, target=None):
        if _numpy_loaded():
            _unwatch()
            _engine.memory_numpy_check()
        return None

    def __repr__(self):
        return "<linewise numpy watcher>"


_watcher = _NumpyWatcher()


def _numpy_loaded() -> bool:
    return any(getattr(sys.modules.get(name), "_ARRAY_API", None) is not None
               for name in _NUMPY_CORE)


def _unwatch():
    try:
        sys.meta_path.remove(_watcher)
    except ValueError:
        pass


def watch_numpy() -> None:
    """Makes sure numpy's handler is wrapped whenever memory is traced: now if numpy is
    loaded (the engine also checks at each start), else at the import that loads it."""
    if _numpy_loaded():
        _engine.memory_numpy_check()
    elif _watcher not in sys.meta_path:
        sys.meta_path.insert(0, _watcher)


# -- native allocations: the preloaded malloc hook ------------------------------------------

_PRELOADED = "LINEWISE_NATIVE_PRELOADED"  # set in the re-executed process: LD_PRELOAD before


def native_library() -> str | None:
    """The path of linewise's malloc hook (built on Linux only), or None."""
    import glob
    import importlib.machinery
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        found = glob.glob(os.path.join(glob.escape(here), "_native_malloc" + suffix))
        if found:
            return found[0]
    return None


def ensure_native_preload() -> None:
    """For --memory=native: returns once the malloc hook is in this process, having
    restored the environment the program should see; else re-executes the same command
    line with the hook in LD_PRELOAD (never returns). RuntimeError when it cannot be."""
    import os

    if not sys.platform.startswith("linux"):
        raise RuntimeError("--memory=native needs Linux (it preloads a malloc hook)")
    library = native_library()
    if library is None:
        raise RuntimeError("--memory=native: linewise was built without its malloc hook")
    if _PRELOADED in os.environ:
        before = os.environ.pop(_PRELOADED)
        # The program and its children see the LD_PRELOAD they would have had.
        if before:
            os.environ["LD_PRELOAD"] = before
        else:
            os.environ.pop("LD_PRELOAD", None)
        if not _engine.memory_diagnostics()["native"]:
            raise RuntimeError(f"--memory=native: the malloc hook {library} was not "
                               "loaded (LD_PRELOAD ignored: a setuid program, or a "
                               "static Python?)")
        return
    argv = getattr(sys, "orig_argv", None)
    if not argv:
        raise RuntimeError("--memory=native: cannot tell this process's command line")
    env = dict(os.environ)
    env[_PRELOADED] = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = " ".join(p for p in (library, env.get("LD_PRELOAD", "")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *argv[1:]], env)
