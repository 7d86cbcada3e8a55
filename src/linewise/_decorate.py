"""What LineProfiler's decorator returns: a function that turns profiling on while it runs.

On sys.monitoring a plain function gets a counting copy (the engine counts its frames);
on the legacy hook, or when that cannot be done, the engine's C Wrapper; generator,
coroutine and async-generator functions, and subclasses that count differently, get
Python wrappers. Everything here runs once per decoration, never per call.
"""
from __future__ import annotations

import functools
import inspect
import types
import weakref

from . import _engine
from ._codes import (line_range as _line_range, qualname as _qualname,
                     unprofilable as _unprofilable, yield_offsets as _yield_offsets)

# The code objects of decorated functions' copies (counting_copy), by id:
# code objects compare equal by value, so a copy and its original are one key in a set.
_COUNTING_CODES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
# Generators, coroutines, async generators: their frames leave at each yield (wrapped).
_SUSPENDS = (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE
             | inspect.CO_ASYNC_GENERATOR)


def decorate(profiler, func):
    """LineProfiler.__call__."""
    if isinstance(func, type):
        profiler.add_class(func)
        return func
    profiler.add_callable(func)
    if isinstance(func, (property, classmethod, staticmethod, functools.cached_property)):
        return func  # descriptors: profiled while enabled, not self-enabling
    if inspect.isasyncgenfunction(func):
        return wrap_asyncgen(profiler, func)
    if inspect.iscoroutinefunction(func):
        return wrap_coroutine(profiler, func)
    if inspect.isgeneratorfunction(func):
        return wrap_generator(profiler, func)
    return wrap_function(profiler, func)


def wrap_function(profiler, func):
    if profiler._counts_in_c() and _engine.backend == "monitoring":
        decorated = counting_copy(profiler, func)
        if decorated is not None:
            return decorated
    if profiler._counts_in_c():
        # The engine's Wrapper counts enable/disable around each call in C (what the
        # Python wrapper below does, at a fraction of the cost); functools.wraps'
        # metadata goes in its __dict__.
        wrapper = _engine.Wrapper(func, profiler._engine, profiler)
        functools.update_wrapper(wrapper, func)
        wrapper.__line_profiler_wrapped__ = True
        return wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        profiler.enable_by_count()
        try:
            return func(*args, **kwargs)
        finally:
            profiler._count_down(keep_armed=True)

    wrapper.__line_profiler_wrapped__ = True
    return wrapper


def counting_copy(profiler, func):
    """On sys.monitoring: a copy of `func` over its own code object, whose frames count
    this profiler up and down in the engine's PY_START and PY_RETURN/PY_UNWIND events.
    A call of it is then an ordinary Python-to-Python call, which the interpreter runs
    in the same C frame; a wrapper, even in C, costs a C frame per call (recursion
    through it being most of a decorated fib's overhead). `func` itself keeps its code,
    so calling the undecorated original does not enable profiling, as with a wrapper.
    None when it cannot be done (not a plain function, no tool id free): the caller
    wraps instead."""
    if type(func) is not types.FunctionType:
        return None
    code = func.__code__
    if code.co_flags & _SUSPENDS:
        return None
    if _COUNTING_CODES.get(id(code)) is code:
        # Already a decorated function (this profiler's or another's): its code counts
        # one engine, which a running frame's record holds; the wrapper nests over it.
        return None
    code = code.replace()  # a distinct object, equal to the original
    first, last = _line_range(code)
    if _unprofilable(code, first, last) is not None:
        return None
    try:
        profiler._engine.add_code(code, first, last, _yield_offsets(code), counting=True)
    except RuntimeError:  # every sys.monitoring tool id is taken: the wrapper waits
        return None
    _COUNTING_CODES[id(code)] = code
    profiler._names.setdefault(code, profiler._names.get(func.__code__) or _qualname(func))
    copy = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    functools.update_wrapper(copy, func)
    copy.__line_profiler_wrapped__ = True
    copy.__linewise_profiler__ = profiler  # kept alive, as a wrapper keeps it
    # The engine stays armed (holding its sys.monitoring tool id) while the copy lives.
    weakref.finalize(copy, profiler._engine.uncount_code, code).atexit = False
    return copy


def counters(profiler):
    """The wrappers' enable_by_count() and _count_down(keep_armed=True): the engine's
    own methods, unless a subclass changed how counting is done."""
    if profiler._counts_in_c():
        return (profiler._engine.enable_by_count,
                functools.partial(profiler._engine.disable_by_count, keep_armed=True))
    return profiler.enable_by_count, functools.partial(profiler._count_down, keep_armed=True)


def wrap_generator(profiler, func):
    count_up, count_down = counters(profiler)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gen = func(*args, **kwargs)
        to_send, to_throw = None, None
        while True:
            count_up()
            try:
                if to_throw is not None:
                    item = gen.throw(to_throw)
                else:
                    item = gen.send(to_send)
            except StopIteration as stop:
                return stop.value
            finally:
                count_down()
            to_send, to_throw = None, None
            try:
                to_send = yield item
            except GeneratorExit:
                count_up()
                try:
                    gen.close()
                finally:
                    count_down()
                raise
            except BaseException as exc:  # noqa: B036 - forwarded into the generator
                to_throw = exc

    wrapper.__linewise_profiler__ = profiler  # kept alive, as the C wrapper keeps it
    return wrapper


def wrap_coroutine(profiler, func):
    count_up, count_down = counters(profiler)

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        count_up()
        try:
            return await func(*args, **kwargs)
        finally:
            count_down()

    wrapper.__linewise_profiler__ = profiler  # kept alive, as the C wrapper keeps it
    return wrapper


def wrap_asyncgen(profiler, func):
    count_up, count_down = counters(profiler)

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        count_up()
        try:
            async for item in func(*args, **kwargs):
                yield item
        finally:
            count_down()

    wrapper.__linewise_profiler__ = profiler  # kept alive, as the C wrapper keeps it
    return wrapper
