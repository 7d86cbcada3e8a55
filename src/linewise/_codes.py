"""What the profiler needs to know of a callable's code before registering it: its line
range, whether it can be profiled, where a generator yields, the functions behind an
object (classes, partials, properties, wrappers) and the name a report shows.

Runs when functions are registered, never per event.
"""
from __future__ import annotations

import functools
import types

from . import _engine

# CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR (inspect's),
# spelled out: importing inspect here would cost every child process that linewise
# follows milliseconds at start-up.
GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200


def line_range(code: types.CodeType) -> tuple[int, int]:
    """The lowest and highest line a code object can report."""
    lines = [line for _, _, line in code.co_lines() if line is not None]
    first = min([code.co_firstlineno, *lines])
    return first, max([first, *lines])


# The highest line number a table may hold: a code at 2**31 - 1 has had CPython's own line
# arithmetic wrap past it (code.replace(co_firstlineno=...)), and the engine's are C ints.
_MAX_LINE = 2**31 - 2


def unprofilable(code: types.CodeType, first: int, last: int) -> str | None:
    """Why linewise cannot profile this code, or None."""
    if first < 0 or last > _MAX_LINE:
        return (f"its line numbers ({first}..{last}) are outside 0..{_MAX_LINE} "
                f"(co_firstlineno {code.co_firstlineno})")
    span = last - max(first, 1) + 1
    if span > _engine.MAX_LINE_SPAN:
        return (f"it spans {span:,} lines ({first}..{last}), more than linewise's limit "
                f"of {_engine.MAX_LINE_SPAN:,} lines per function")
    return None


def yield_offsets(code: types.CodeType) -> list[int] | None:
    """Byte offsets where a generator-like frame suspends or resumes (legacy backend)."""
    if not code.co_flags & GENERATOR_FLAGS:
        return None
    import dis

    return [
        ins.offset for ins in dis.get_instructions(code)
        if ins.opname == "YIELD_VALUE" or (ins.opname == "RESUME" and ins.arg)
    ]


def is_pseudo_file(filename) -> bool:
    """True for the names Python gives code that has no file (``<string>``, ``<stdin>``)."""
    return filename.startswith("<") and filename.endswith(">")


def qualname(func: types.FunctionType) -> str:
    """The name a report shows: the code's own qualified name. functools.wraps copies the
    wrapped function's __qualname__ onto a wrapper, so that one would be misleading."""
    code = func.__code__
    if hasattr(code, "co_qualname"):
        return code.co_qualname
    if getattr(func, "__wrapped__", None) is not None:
        return code.co_name  # 3.10: the wrapper's real qualified name is not recorded
    return func.__qualname__


def functions_of(obj, seen: set) -> list[types.FunctionType]:
    """The Python functions behind a callable-like object: methods, wrappers, properties,
    partials, classes (their members, nested classes included). Builtins give none."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, types.MethodType):
        return functions_of(obj.__func__, seen)
    if isinstance(obj, (classmethod, staticmethod)):
        return functions_of(obj.__func__, seen)
    if isinstance(obj, (functools.partial, functools.partialmethod, functools.cached_property)):
        return functions_of(obj.func, seen)
    if isinstance(obj, property):
        found = []
        for part in (obj.fget, obj.fset, obj.fdel):
            if part is not None:
                found += functions_of(part, seen)
        return found
    if isinstance(obj, type):
        found = []
        for member in vars(obj).values():
            if isinstance(member, type) and member.__qualname__.startswith(obj.__qualname__ + "."):
                found += functions_of(member, seen)
            elif not isinstance(member, type):
                found += functions_of(member, seen)
        return found
    if isinstance(obj, types.FunctionType):
        # A functools.wraps wrapper: profile the wrapper and what it wraps, so a decorated
        # method (e.g. scikit-learn's fit) shows its own body, not only the decorator's.
        found = [obj]
        inner = wrapped(obj)
        if inner is not None:
            found += functions_of(inner, seen)
        return found
    inner = wrapped(obj)
    if inner is not None:
        return functions_of(inner, seen)
    return []


def wrapped(obj):
    """obj.__wrapped__, or None; a __getattr__ may raise anything, which means no."""
    try:
        return getattr(obj, "__wrapped__", None)
    except Exception:
        return None
