"""LineProfiler: line_profiler's API over the C engine.

Everything here runs when functions are registered or results are read, never per event:
the events are handled in C (linewise._engine).
"""
from __future__ import annotations

import dis
import functools
import inspect
import sys
import types

from . import _engine
from .reports.text import show_func, show_text
from .results import OUTER, OWN, TIME_COLUMNS, LineStats
from .provenance import default_meta
from .store import dump_stats
from .compensation import event_cost_ns

__all__ = ["LineProfiler", "show_func", "show_text"]

_GENERATOR_FLAGS = (
    inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
    | inspect.CO_ITERABLE_COROUTINE
)


def _line_range(code: types.CodeType) -> tuple[int, int]:
    """The lowest and highest line a code object can report."""
    lines = [line for _, _, line in code.co_lines() if line is not None]
    first = min([code.co_firstlineno, *lines])
    return first, max([first, *lines])


# The highest line number a table may hold: a code at 2**31 - 1 has had CPython's own line
# arithmetic wrap past it (code.replace(co_firstlineno=...)), and the engine's are C ints.
_MAX_LINE = 2**31 - 2


def _unprofilable(code: types.CodeType, first: int, last: int) -> str | None:
    """Why linewise cannot profile this code, or None."""
    if first < 0 or last > _MAX_LINE:
        return (f"its line numbers ({first}..{last}) are outside 0..{_MAX_LINE} "
                f"(co_firstlineno {code.co_firstlineno})")
    span = last - max(first, 1) + 1
    if span > _engine.MAX_LINE_SPAN:
        return (f"it spans {span:,} lines ({first}..{last}), more than linewise's limit "
                f"of {_engine.MAX_LINE_SPAN:,} lines per function")
    return None


def _yield_offsets(code: types.CodeType) -> list[int] | None:
    """Byte offsets where a generator-like frame suspends or resumes (legacy backend)."""
    if not code.co_flags & _GENERATOR_FLAGS:
        return None
    return [
        ins.offset for ins in dis.get_instructions(code)
        if ins.opname == "YIELD_VALUE" or (ins.opname == "RESUME" and ins.arg)
    ]


def _is_pseudo_file(filename) -> bool:
    """True for the names Python gives code that has no file (``<string>``, ``<stdin>``)."""
    return filename.startswith("<") and filename.endswith(">")


def _qualname(func: types.FunctionType) -> str:
    """The name a report shows: the code's own qualified name. functools.wraps copies the
    wrapped function's __qualname__ onto a wrapper, so that one would be misleading."""
    code = func.__code__
    if hasattr(code, "co_qualname"):
        return code.co_qualname
    if getattr(func, "__wrapped__", None) is not None:
        return code.co_name  # 3.10: the wrapper's real qualified name is not recorded
    return func.__qualname__


def _functions_of(obj, seen: set) -> list[types.FunctionType]:
    """The Python functions behind a callable-like object: methods, wrappers, properties,
    partials, classes (their members, nested classes included). Builtins give none."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, types.MethodType):
        return _functions_of(obj.__func__, seen)
    if isinstance(obj, (classmethod, staticmethod)):
        return _functions_of(obj.__func__, seen)
    if isinstance(obj, (functools.partial, functools.partialmethod, functools.cached_property)):
        return _functions_of(obj.func, seen)
    if isinstance(obj, property):
        found = []
        for part in (obj.fget, obj.fset, obj.fdel):
            if part is not None:
                found += _functions_of(part, seen)
        return found
    if isinstance(obj, type):
        found = []
        for member in vars(obj).values():
            if isinstance(member, type) and member.__qualname__.startswith(obj.__qualname__ + "."):
                found += _functions_of(member, seen)
            elif not isinstance(member, type):
                found += _functions_of(member, seen)
        return found
    if isinstance(obj, types.FunctionType):
        # A functools.wraps wrapper: profile the wrapper and what it wraps, so a decorated
        # method (e.g. scikit-learn's fit) shows its own body, not only the decorator's.
        found = [obj]
        inner = _wrapped(obj)
        if inner is not None:
            found += _functions_of(inner, seen)
        return found
    inner = _wrapped(obj)
    if inner is not None:
        return _functions_of(inner, seen)
    return []


def _wrapped(obj):
    """obj.__wrapped__, or None; a __getattr__ may raise anything, which means no."""
    try:
        return getattr(obj, "__wrapped__", None)
    except Exception:
        return None


class LineProfiler:
    """Profiles the functions given (or added later) line by line.

    A drop-in for ``line_profiler.LineProfiler``: add functions, classes or modules, run
    code with it enabled (``with``, ``run``, ``runcall``, ``enable()``, or as a decorator),
    then ``print_stats()``, ``get_stats()`` or ``dump_stats(path)``.
    """

    def __init__(self, *functions, compensate=False):
        self._engine = _engine.Engine()
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
        """Decorator: profiles `func` and returns a wrapper that enables profiling while it
        runs (a class is profiled whole and returned unchanged)."""
        if isinstance(func, type):
            self.add_class(func)
            return func
        self.add_callable(func)
        if isinstance(func, (property, classmethod, staticmethod, functools.cached_property)):
            return func  # descriptors: profiled while enabled, not self-enabling
        if inspect.isasyncgenfunction(func):
            return self._wrap_asyncgen(func)
        if inspect.iscoroutinefunction(func):
            return self._wrap_coroutine(func)
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)
        return self._wrap_function(func)

    def wrap_function(self, func):
        return self(func)

    def _wrap_function(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            self.enable_by_count()
            try:
                return func(*args, **kwargs)
            finally:
                self._count_down(keep_armed=True)

        wrapper.__line_profiler_wrapped__ = True
        return wrapper

    def _wrap_generator(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            to_send, to_throw = None, None
            while True:
                self.enable_by_count()
                try:
                    if to_throw is not None:
                        item = gen.throw(to_throw)
                    else:
                        item = gen.send(to_send)
                except StopIteration as stop:
                    return stop.value
                finally:
                    self._count_down(keep_armed=True)
                to_send, to_throw = None, None
                try:
                    to_send = yield item
                except GeneratorExit:
                    self.enable_by_count()
                    try:
                        gen.close()
                    finally:
                        self._count_down(keep_armed=True)
                    raise
                except BaseException as exc:  # noqa: B036 - forwarded into the generator
                    to_throw = exc

        return wrapper

    def _wrap_coroutine(self, func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            self.enable_by_count()
            try:
                return await func(*args, **kwargs)
            finally:
                self._count_down(keep_armed=True)

        return wrapper

    def _wrap_asyncgen(self, func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            self.enable_by_count()
            try:
                async for item in func(*args, **kwargs):
                    yield item
            finally:
                self._count_down(keep_armed=True)

        return wrapper

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
        profiled in ``.meta["profiled"]``."""
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
        return LineStats(timings, 1e-9, meta, columns=columns, column_types=dict(TIME_COLUMNS))

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

        stats = self.get_stats()
        painter = TerminalPainter() if use_color(stream, color) else None
        show_text(stats.timings, stats.unit, output_unit=output_unit, stream=stream,
                  stripzeros=stripzeros, details=details, summarize=summarize, sort=sort,
                  sources=stats.sources or None, painter=painter)

    def dump_stats(self, filename) -> None:
        """Saves the results to `filename` (atomically; see linewise.load_stats)."""
        dump_stats(self.get_stats(), filename)

    def reset_stats(self) -> None:
        """Zeroes every count and the seconds profiled, keeping the functions."""
        self._engine.reset()

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
