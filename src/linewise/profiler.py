"""LineProfiler: line_profiler's API over the C engine.

Everything here runs when functions are registered or results are read, never per event:
the events are handled in C (linewise._engine).
"""
from __future__ import annotations

import sys
import types

from . import _engine, _follow
from ._codes import (functions_of as _functions_of, is_pseudo_file as _is_pseudo_file,
                     line_range as _line_range, qualname as _qualname,
                     unprofilable as _unprofilable, yield_offsets as _yield_offsets)
from .compensation import event_cost_ns
from .results import OUTER, OWN, TIME_COLUMNS, LineStats
from .provenance import default_meta
from .store import dump_stats

__all__ = ["LineProfiler", "show_func", "show_text"]

# Importing the reports here would cost every child process that linewise follows
# milliseconds at start-up: show_func and show_text load on use.


def __getattr__(name):
    if name in ("show_func", "show_text"):
        from .reports import text

        return getattr(text, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _watch_numpy():
    from .memory import watch_numpy  # on use: only memory profiling needs it

    watch_numpy()


class LineProfiler:
    """Profiles the functions given (or added later) line by line.

    A drop-in for ``line_profiler.LineProfiler``: add functions, classes or modules, run
    code with it enabled (``with``, ``run``, ``runcall``, ``enable()``, or as a decorator),
    then ``print_stats()``, ``get_stats()`` or ``dump_stats(path)``.

    ``memory=True`` also charges memory to each line (linewise.memory: bytes allocated,
    net and peak, in ``get_stats().memory``); "native" is accepted for the command line's
    mode, whose malloc hook only ``linewise run --memory=native`` can preload.
    """

    def __init__(self, *functions, memory=False, compensate=False):
        from .memory import parse_mode

        self.memory = parse_mode(memory)
        self._engine = _engine.Engine(memory=self.memory is not None)
        # compensate: each line's time less the calibrated cost of the events that fired
        # while it ran (see event_cost_ns); off, the figures are line_profiler's.
        if compensate:
            near, far = event_cost_ns()
            self._engine.event_cost_ns = near
            self._engine.event_cost_far_ns = far
        self.functions: list = []
        self._names: dict = {}  # code -> qualified name (co_qualname does not exist on 3.10)
        # Code without a file: {plain key: [one code object per distinct source]}, in the
        # order they were first seen (see key_for).
        self._pseudo_keys: dict = {}
        # Child processes (linewise._follow): where forked children of this profiler
        # save their counts (None until one is needed), and what collect_children() has
        # gathered from there (LineStats, each tagged with its process).
        self._children_dir = None
        self._children: list = []
        _follow.register(self)
        for func in functions:
            self.add_callable(func)

    # -- choosing what to profile ------------------------------------------------------

    def add_function(self, func) -> int:
        """Profiles `func`; returns how many code objects were new to this profiler."""
        return self.add_callable(func)

    def add_callable(self, obj) -> int:
        """Profiles every Python function behind `obj` (see _functions_of); returns how many
        code objects were new. A builtin or C function has no lines: it is skipped with a
        warning, as is anything not callable."""
        funcs = _functions_of(obj, set())
        if not funcs:
            import warnings

            warnings.warn(
                f"linewise: {obj!r} has no Python code to profile (builtin or C function?); skipped",
                stacklevel=3,
            )
            return 0
        added = 0
        for func in funcs:
            if self.add_code(func.__code__, _qualname(func)):
                self.functions.append(func)
                added += 1
        return added

    def add_code(self, code: types.CodeType, qualname: str | None = None) -> bool:
        """Profiles a code object directly (what the command line's -p uses: the functions
        do not exist yet when their module is found). `qualname` names it in reports on
        3.10, which has no co_qualname. Returns True if the code was new here."""
        if not isinstance(code, types.CodeType):
            raise TypeError(f"add_code() needs a code object, not {type(code).__name__}")
        first, last = _line_range(code)
        why = _unprofilable(code, first, last)
        if why is not None:
            import warnings

            name = getattr(code, "co_qualname", None) or qualname or code.co_name
            warnings.warn(f"linewise: cannot profile {name} ({code.co_filename}, line "
                          f"{code.co_firstlineno}): {why}; skipped", RuntimeWarning,
                          stacklevel=2)
            return False
        if not self._engine.add_code(code, first, last, _yield_offsets(code)):
            return False
        self._names[code] = getattr(code, "co_qualname", None) or qualname or code.co_name
        return True

    def add_class(self, cls) -> int:
        """Profiles the methods of `cls` and of the classes in it. Returns what
        line_profiler's add_class returns: how many of its members were added (see
        _add_namespace)."""
        if not isinstance(cls, type):
            raise TypeError(f"add_class() needs a class, not {type(cls).__name__}")
        return self._add_namespace(cls, set())

    def add_module(self, module) -> int:
        """Profiles the functions and classes defined in `module` (not the ones it imports).
        Returns what line_profiler's add_module returns: how many of its members were
        added (see _add_namespace)."""
        if not isinstance(module, types.ModuleType):
            raise TypeError(f"add_module() needs a module, not {type(module).__name__}")
        return self._add_namespace(module, set())

    def _add_namespace(self, namespace, seen: set) -> int:
        """Adds the members of a module or class that belong to it, and returns how many
        members were added, counted as line_profiler counts them: one per member (a
        function, a property, a partial, a class with something added inside it),
        however many code objects it holds. A member belongs to a class if it comes from
        the class's module; to a module if it comes from that module, a submodule of it or,
        for a module in a package, the package. Submodules are not walked."""
        if isinstance(namespace, type):
            home = namespace.__module__
            belongs = lambda name: name == home  # noqa: E731
        else:
            home = namespace.__name__
            parent = home.rpartition(".")[0]
            belongs = lambda name: (name == home or name.startswith(home + ".")  # noqa: E731
                                    or bool(parent) and (name == parent
                                                         or name.startswith(parent + ".")))
        count = 0
        for value in list(vars(namespace).values()):
            if id(value) in seen or isinstance(value, types.ModuleType):
                continue
            seen.add(id(value))
            if isinstance(value, type):
                if belongs(getattr(value, "__module__", None) or "") and \
                        self._add_namespace(value, seen):
                    count += 1
                continue
            funcs = [f for f in _functions_of(value, set())
                     if belongs(getattr(f, "__module__", None) or "")]
            for func in funcs:
                if self.add_code(func.__code__, _qualname(func)):
                    self.functions.append(func)
            count += bool(funcs)
        return count

    # -- turning it on and off ---------------------------------------------------------

    def enable(self) -> None:
        self._engine.enable()
        if self.memory:
            _watch_numpy()

    def disable(self) -> None:
        self._engine.disable()

    @property
    def enable_count(self) -> int:
        """enable_by_count() calls not yet matched by disable_by_count()."""
        return self._engine.enable_count

    def enable_by_count(self) -> None:
        """enable(), counted: nested enables need as many disables. The count is kept in
        the engine, so that testing it and switching are one step for other threads."""
        self._engine.enable_by_count()
        if self.memory:
            _watch_numpy()

    def disable_by_count(self) -> None:
        self._count_down(keep_armed=False)

    def _count_down(self, keep_armed: bool) -> None:
        """disable_by_count(). A decorated function's wrapper passes keep_armed: its code
        stays instrumented (monitoring backend) so that the next call re-enables with a
        flag write instead of re-instrumenting; decorated code only runs through its
        wrapper, so nothing else pays for it. disable() removes the instrumentation."""
        self._engine.disable_by_count(keep_armed=keep_armed)

    def __enter__(self):
        self.enable_by_count()
        return self

    def __exit__(self, *exc_info):
        self.disable_by_count()
        return False

    # -- running code under it ---------------------------------------------------------

    def run(self, cmd: str):
        """Runs `cmd` in __main__'s namespace with profiling on; returns self."""
        import __main__

        return self.runctx(cmd, __main__.__dict__, __main__.__dict__)

    def runctx(self, cmd: str, globals, locals):
        """Runs `cmd` with these namespaces and profiling on; returns self."""
        self.enable_by_count()
        try:
            exec(cmd, globals, locals)
        finally:
            self.disable_by_count()
        return self

    def runcall(self, func, /, *args, **kwargs):
        """Calls func(*args, **kwargs) with profiling on; returns its result."""
        self.enable_by_count()
        try:
            return func(*args, **kwargs)
        finally:
            self.disable_by_count()

    # -- as a decorator ----------------------------------------------------------------

    def __call__(self, func):
        """Decorator: profiles `func` and returns a function that enables profiling while
        it runs (a class is profiled whole and returned unchanged); see _decorate."""
        from . import _decorate

        return _decorate.decorate(self, func)

    def wrap_function(self, func):
        return self(func)

    def _counts_in_c(self) -> bool:
        """Whether a decorator may count this profiler's engine directly: unless a subclass
        changed how counting is done, whose methods a wrapper must then call."""
        cls = type(self)
        return (cls.enable_by_count is LineProfiler.enable_by_count
                and cls._count_down is LineProfiler._count_down)

    # -- results ---------------------------------------------------------------------

    @property
    def compensated(self) -> float:
        """The nanoseconds subtracted per event (0.0: no compensation), in code whose lines
        are all below 257; ``compensated_far`` in the rest (see event_cost_ns)."""
        return self._engine.event_cost_ns

    @property
    def compensated_far(self) -> float:
        return self._engine.event_cost_far_ns

    def get_stats(self) -> LineStats:
        """The results so far: ``.timings`` keyed (filename, first_lineno, qualname), ``.unit``;
        own and counted-once times in ``.columns`` (see LineStats.own_timings), the seconds
        profiled in ``.meta["profiled"]``; with the children's that collect_children()
        gathered, tagged by process."""
        from ._gather import fold

        stats = self._own_stats()
        return fold(stats, self._children) if self._children else stats

    def collect_children(self, wait=1.0) -> int:
        """Adds the counts of this profiler's forked children (fork pools, os.fork) that
        have ended to get_stats() and what reads it (its .runs: per process). Waits up
        to `wait` seconds for those still running; returns how many were added, and
        says on stderr which left no results."""
        from ._gather import collect_for

        return collect_for(self, wait)

    def _own_stats(self) -> LineStats:
        """What this process counted (get_stats without the children)."""
        rows: dict = {}  # key -> {lineno: [hits, time, own, outer]}
        seen: set = set()
        for code, lines in self._engine.get_stats(extended=True):
            key = self.key_for(code)
            if key in seen and not lines:
                continue
            seen.add(key)
            # Two code objects with one identity (a module reloaded) sum into one.
            acc = rows.setdefault(key, {})
            for ln, *values in lines:
                acc[ln] = [a + b for a, b in zip(acc.get(ln, (0, 0, 0, 0)), values)]
        timings = {key: [(ln, v[0], v[1]) for ln, v in sorted(acc.items())]
                   for key, acc in rows.items()}
        columns = {name: {key: {ln: v[i] for ln, v in acc.items()} for key, acc in rows.items()}
                   for name, i in ((OWN, 2), (OUTER, 3))}
        meta = default_meta()
        meta["profiled"] = repr(self._engine.profiled_ns / 1e9)
        if self._engine.event_cost_ns:
            meta["event_cost_ns"] = (f"{self._engine.event_cost_ns:.1f}, past line 256 "
                                     f"{self._engine.event_cost_far_ns:.1f}")
        types = dict(TIME_COLUMNS)
        if self.memory:
            from .memory import memory_columns

            more, more_types = memory_columns(self._engine.get_memory(), self.key_for, timings)
            columns.update(more)
            types.update(more_types)
        return LineStats(timings, 1e-9, meta, columns=columns, column_types=types)

    def key_for(self, code: types.CodeType) -> tuple:
        """The key ``(filename, first_lineno, qualname)`` under which `code`'s results
        appear in get_stats().

        Code from a real file is known by its name and line, so a module reloaded sums
        into the same entry. Code without a file (``exec``, ``-c``: a filename such as
        ``<string>``) has only its source to tell it apart: two different sources with
        the same name and line get keys of their own, the second one's filename marked
        ``<string>#2``, and so on (the same source compiled twice shares one key)."""
        key = (code.co_filename, code.co_firstlineno, self._names.get(code, code.co_name))
        if not _is_pseudo_file(code.co_filename):
            return key
        # Code objects compare equal when compiled from the same source (bytecode,
        # constants, names, line table), whatever object they are.
        variants = self._pseudo_keys.setdefault(key, [])
        if code not in variants:
            variants.append(code)
        index = variants.index(code)
        return key if index == 0 else (f"{key[0]}#{index + 1}",) + key[1:]

    def print_stats(self, stream=None, output_unit=None, stripzeros=False, details=True,
                    summarize=False, sort=False, rich=False, color="auto", **kwargs):
        """Prints the per-line report (line_profiler's layout) to `stream` (stdout).

        color: "auto" colours it when `stream` is a terminal and NO_COLOR is not set;
        "always" or "never" (see linewise.reports.color). Uncoloured, it is the plain text.
        """
        from .reports.color import TerminalPainter, use_color
        from .reports.memory import memory_by_key
        from .reports.text import show_text

        stats = self.get_stats()
        painter = TerminalPainter() if use_color(stream, color) else None
        show_text(stats.timings, stats.unit, output_unit=output_unit, stream=stream,
                  stripzeros=stripzeros, details=details, summarize=summarize, sort=sort,
                  sources=stats.sources or None, painter=painter,
                  memory=memory_by_key(stats))

    def dump_stats(self, filename) -> None:
        """Saves the results to `filename` (atomically; see linewise.load_stats)."""
        dump_stats(self.get_stats(), filename)

    def reset_stats(self) -> None:
        """Zeroes every count and the seconds profiled (the children's collected too),
        keeping the functions."""
        self._engine.reset()
        self._children = []

    @property
    def code_map(self) -> dict:
        """{code: {lineno: (hits, time)}}, for scripts written against line_profiler."""
        return {code: {ln: (h, t) for ln, h, t in lines} for code, lines in self._engine.get_stats()}

    def __del__(self):
        engine = getattr(self, "_engine", None)
        if engine is not None and not sys.is_finalizing():
            try:
                engine.disable()
            except Exception:
                pass
