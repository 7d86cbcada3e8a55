"""Bad input to the API: things that are not Python functions, wrong argument types and
values, to LineProfiler and to the raw engine (_engine.Engine, read_results,
write_results, and the callables the engine hands to sys.monitoring and threading).

The rule: a clear TypeError/ValueError (or a warning and the thing skipped), never a crash,
a stray exception or a profiler left in a broken state.
"""
import collections
import datetime
import functools
import io
import math
import operator
import os
import sys
import threading
import warnings

import pytest

from conftest import PY312, backend, hits_of, lines, repr_id
from linewise import LineProfiler, LineStats, ResultsError, _engine, load_stats
from programs import api_prog as A

F_ONCE = {"f_add": 1, "f_ret": 1}

# Set by scripts/test-asan.sh. UBSan (which halts the run) sees the signed overflow of the
# add_code range bug below, so those tests only run in the normal builds.
SANITIZED = bool(os.environ.get("LINEWISE_SANITIZED"))


def still_works(lp):
    """lp profiles A.f exactly after whatever was done to it."""
    lp.add_function(A.f)
    lp.reset_stats()
    with lp:
        A.f(1)
    assert hits_of(lp.get_stats(), A.f) == lines(A, F_ONCE)


def nothing_pending():
    """Fails if an exception was left set in the interpreter (a C function that returned a
    value with an error indicator set): the next C call would turn it into SystemError."""
    assert str(12) == "12"
    assert sorted([2, 1]) == [1, 2]


def skipped(lp, obj):
    """add_function(obj) must raise TypeError or warn and add nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            added = lp.add_function(obj)
        except TypeError:
            return "TypeError"
    assert added == 0
    assert caught, f"{obj!r} skipped without a word"
    assert "no Python code" in str(caught[0].message)
    return "warning"


# -- LineProfiler: things with no Python code ----------------------------------------------


class CallableObject:
    def __call__(self):
        return 1


NOT_CALLABLE = [42, 3.5, "text", b"bytes", None, [1, 2], {"a": 1}, (), object(), Ellipsis]

C_CALLABLES = [
    len, print, math.sin, functools.reduce,          # builtin functions
    dict.get, str.upper, object.__init__,            # method and slot descriptors
    "abc".upper, [].append,                          # bound builtin methods
    operator.itemgetter(1), functools.partial(len),  # C callables, a partial of one
    staticmethod(len), classmethod(len),
    int, dict, type, collections.OrderedDict, datetime.date,  # C classes
]

NO_CODE = [CallableObject(), A.f.__code__, property(), sys, math]


@pytest.mark.parametrize("obj", NOT_CALLABLE + C_CALLABLES + NO_CODE, ids=repr_id)
def test_object_without_python_code_is_refused_or_skipped(obj):
    lp = LineProfiler()
    skipped(lp, obj)
    assert lp.functions == [] and lp._engine.codes == []
    still_works(lp)


@pytest.mark.parametrize("obj", C_CALLABLES[:6], ids=repr_id)
def test_decorating_a_builtin_keeps_it_working(obj):
    lp = LineProfiler()
    with pytest.warns(UserWarning, match="no Python code"):
        wrapped = lp(obj)
    if obj is len:
        assert wrapped([1, 2]) == 2
        assert lp.enable_count == 0
    still_works(lp)


def test_decorating_a_non_callable():
    lp = LineProfiler()
    with pytest.warns(UserWarning):
        wrapped = lp(42)
    with pytest.raises(TypeError, match="not callable"):
        wrapped()
    assert lp.enable_count == 0 and not lp._engine.enabled
    still_works(lp)


def test_constructor_with_bad_functions():
    with pytest.warns(UserWarning):
        lp = LineProfiler(len, A.f, 42)
    assert lp.functions == [A.f]
    still_works(lp)


class RaisingProxy:
    """A lazy proxy that cannot resolve anything (as an unbound context-local proxy)."""

    def __getattr__(self, name):
        raise RuntimeError(f"no {name} outside a context")


def test_object_whose_attribute_access_raises():
    lp = LineProfiler()
    skipped(lp, RaisingProxy())
    still_works(lp)


def test_wrapped_chain_without_code():
    def make(inner):
        class W:
            __wrapped__ = inner
        return W()

    lp = LineProfiler()
    skipped(lp, make(make(len)))
    loop = make(None)
    loop.__wrapped__ = loop  # a cycle
    skipped(lp, loop)
    assert lp.add_function(make(make(A.f))) == 1  # a chain ending in a Python function
    still_works(lp)


# -- LineProfiler: wrong argument types ----------------------------------------------------


@pytest.mark.parametrize("bad", [42, "os", None, A.f], ids=repr_id)
def test_add_class_and_add_module_need_the_right_type(bad):
    lp = LineProfiler()
    with pytest.raises(TypeError, match="add_class"):
        lp.add_class(bad)
    with pytest.raises(TypeError, match="add_module"):
        lp.add_module(bad)
    still_works(lp)


def test_classes_and_modules_without_python_code():
    lp = LineProfiler()
    assert lp.add_class(dict) == 0
    assert lp.add_class(type("Empty", (), {})) == 0
    assert lp.add_module(math) == 0
    assert lp(dict) is dict
    still_works(lp)


def test_run_functions_with_bad_arguments_leave_profiling_off():
    lp = LineProfiler(A.f)
    with pytest.raises(TypeError):
        lp.runcall(42)
    with pytest.raises(TypeError):
        lp.runctx(42, {}, {})
    with pytest.raises(TypeError):
        lp.runctx("A.f(1)", 42, None)
    with pytest.raises(SyntaxError):
        lp.run("def (:")
    assert lp.enable_count == 0 and not lp._engine.enabled
    A.f(1)  # not counted
    assert hits_of(lp.get_stats(), A.f) == {}
    still_works(lp)


def test_results_methods_with_bad_arguments(tmp_path):
    lp = LineProfiler(A.f)
    with lp:
        A.f(1)
    for bad in (42, None, 3.5):
        with pytest.raises(TypeError):
            lp.dump_stats(bad)
        with pytest.raises(TypeError):
            load_stats(bad)
    with pytest.raises(OSError):
        lp.dump_stats("")
    with pytest.raises(OSError):
        lp.dump_stats(str(tmp_path / "no" / "such" / "dir.lw"))
    with pytest.raises(ResultsError):
        load_stats("")
    with pytest.raises(ValueError):
        lp.dump_stats("a\0b")
    with pytest.raises(AttributeError):
        lp.print_stats(stream=42)
    with pytest.raises(TypeError):
        lp.print_stats(stream=io.StringIO(), output_unit="x")
    assert hits_of(lp.get_stats(), A.f) == lines(A, F_ONCE)  # results untouched


def test_linestats_with_bad_contents(tmp_path):
    from linewise.store import dump_stats

    path = tmp_path / "bad.lw"
    with pytest.raises(TypeError, match="first_lineno"):
        dump_stats(LineStats({("a.py", "1", "f"): [(1, 1, 1)]}), path)
    with pytest.raises(TypeError, match="timings key"):
        dump_stats(LineStats({"not a tuple": [(1, 1, 1)]}), path)
    with pytest.raises(ValueError, match="hits"):
        dump_stats(LineStats({("a.py", 1, "f"): [(1, -1, 1)]}), path)
    with pytest.raises(ValueError):
        LineStats(unit="fast")
    assert not path.exists()


# -- the raw engine: Engine ----------------------------------------------------------------


def fresh_code():
    """A code object no engine has seen (code extras are not copied by replace())."""
    return A.f.__code__.replace(co_name="f")


def test_engine_constructor_arguments():
    with pytest.raises(TypeError):
        _engine.Engine(1)
    with pytest.raises(TypeError):
        _engine.Engine(codes=[])
    with pytest.raises(TypeError):
        type("Sub", (_engine.Engine,), {})
    with pytest.raises(TypeError):
        _engine.Engine.__new__(int)


@pytest.mark.parametrize("args,exc", [
    ((), TypeError),
    ((None, 1, 2), TypeError),
    ((A.f, 1, 2), TypeError),           # a function, not its code
    (("code", 1, 2), TypeError),
    (("C", "1", 2), TypeError),
    (("C", 1.0, 2), TypeError),
    (("C", 1, None), TypeError),
    (("C", 5, 1), ValueError),          # last before first
    (("C", 1, 20_000_000), ValueError),  # absurdly many lines
    (("C", 0, 2 ** 31 - 1), ValueError),
    (("C", 2 ** 31, 2 ** 31 + 5), OverflowError),
    (("C", 1, 2, "yields"), TypeError),
    (("C", 1, 2, 5), TypeError),
    (("C", 1, 2, [1.5]), TypeError),
    (("C", 1, 2, [-2]), ValueError),
    (("C", 1, 2, [2 ** 40]), ValueError),
    (("C", 1, 2, [None]), TypeError),
    (("C", 1, 2, 3, 4), TypeError),
], ids=repr_id)
def test_add_code_argument_errors(args, exc):
    e = _engine.Engine()
    code = fresh_code()
    args = tuple(code if a == "C" else a for a in args)
    with pytest.raises(exc):
        e.add_code(*args)
    nothing_pending()
    assert e.codes == []
    # The code object is not spoiled for a later, correct registration.
    assert e.add_code(code, code.co_firstlineno, code.co_firstlineno + 2) is True
    assert e.codes == [code]


OVERFLOWING_RANGES = [(-2 ** 31, 2 ** 31 - 1), (-2 ** 31 + 5, 2 ** 31 - 1), (-2 ** 31, 10)]


@pytest.mark.parametrize("first,last", OVERFLOWING_RANGES, ids=repr_id)
def test_add_code_range_overflowing_int(first, last):
    e = _engine.Engine()
    with pytest.raises(ValueError, match="line range"):
        e.add_code(fresh_code(), first, last)


def test_failed_add_code_does_not_poison_the_function():
    def victim(x):
        return x + 1

    e = _engine.Engine()
    with pytest.raises((ValueError, MemoryError)):
        e.add_code(victim.__code__, -2 ** 31, 10)
    lp = LineProfiler(victim)
    with lp:
        victim(1)
    assert hits_of(lp.get_stats(), victim) == {victim.__code__.co_firstlineno + 1: 1}


def test_engine_methods_argument_errors():
    e = _engine.Engine()
    for call in (lambda: e.enable(1), lambda: e.disable(1, 2), lambda: e.disable(x=1),
                 lambda: e.get_stats(1), lambda: e.reset(1), lambda: e.add_code(),
                 lambda: _engine.diagnostics(1), lambda: _engine.timer_now(1),
                 lambda: _engine.ns_per_tick(1)):
        with pytest.raises(TypeError):
            call()
    for attr in ("enabled", "armed", "codes"):
        with pytest.raises(AttributeError):
            setattr(e, attr, True)
    with pytest.raises(AttributeError):
        e.anything = 1
    nothing_pending()


def test_engine_codes_is_a_copy():
    e = _engine.Engine()
    code = fresh_code()
    e.add_code(code, code.co_firstlineno, code.co_firstlineno + 2)
    codes = e.codes
    codes.clear()
    codes.append(42)
    assert e.codes == [code]
    assert [c for c, _ in e.get_stats()] == [code]


def test_engine_disable_keep_armed_takes_any_truth_value():
    e = _engine.Engine()
    code = fresh_code()
    e.add_code(code, code.co_firstlineno, code.co_firstlineno + 2)
    for value in ([], [1], "", "x", None, 0, 2):
        e.enable()
        e.disable(keep_armed=value)
        assert not e.enabled
    e.disable()
    assert not e.armed


def test_engine_enable_disable_out_of_order():
    e = _engine.Engine()
    e.disable()
    e.disable(keep_armed=True)
    e.enable()
    e.enable()
    e.reset()
    assert e.get_stats() == []
    e.disable()
    e.disable()
    assert _engine.diagnostics()["armed_engines"] == 0


def test_same_code_twice_and_in_many_engines():
    code = fresh_code()
    first, last = code.co_firstlineno, code.co_firstlineno + 2
    engines = [_engine.Engine() for _ in range(5)]
    for e in engines:
        assert e.add_code(code, first, last) is True
        assert e.add_code(code, first, last) is False
        # Extras for a code that already has a table are not looked at: no error, no effect.
        assert e.add_code(code, first, last, None) is False
    del engines
    assert _engine.Engine().add_code(code, first, last) is True


# -- the raw engine: results files ---------------------------------------------------------

EMPTY = {"unit": 1e-9, "meta": {}, "functions": []}


def test_read_results_arguments(tmp_path):
    for args in ((), (1, 2), ("a", "b")):
        with pytest.raises(TypeError):
            _engine.read_results(*args)
    for bad in (42, None, 3.5, [str(tmp_path)]):
        with pytest.raises(TypeError):
            _engine.read_results(bad)
    with pytest.raises(TypeError):
        _engine.read_results(path=str(tmp_path / "x"))
    with pytest.raises(ValueError, match="null"):
        _engine.read_results("a\0b")
    with pytest.raises(FileNotFoundError):
        _engine.read_results(str(tmp_path / "missing.lw").encode())
    with pytest.raises(IsADirectoryError):
        _engine.read_results(tmp_path)
    garbage = tmp_path / "garbage.lw"
    garbage.write_bytes(b"\x89LWR\r\n\x1a\n" + b"\xff" * 40)
    with pytest.raises(ValueError):
        _engine.read_results(garbage)
    nothing_pending()


def test_write_results_arguments(tmp_path):
    target = tmp_path / "out.lw"
    for args in ((), (str(target),), (str(target), EMPTY, 1)):
        with pytest.raises(TypeError):
            _engine.write_results(*args)
    with pytest.raises(TypeError):
        _engine.write_results(path=str(target), payload=EMPTY)
    for bad in (42, None, 3.5):
        with pytest.raises(TypeError):
            _engine.write_results(bad, EMPTY)
    for bad in (42, None, [], "payload", ["unit", "meta", "functions"]):
        with pytest.raises(TypeError):
            _engine.write_results(target, bad)
    with pytest.raises(ValueError, match="null"):
        _engine.write_results("a\0b", EMPTY)
    with pytest.raises(IsADirectoryError):
        _engine.write_results(tmp_path, EMPTY)
    with pytest.raises(FileNotFoundError):
        _engine.write_results(tmp_path / "no" / "dir.lw", EMPTY)
    assert not target.exists()
    nothing_pending()


class Spy:
    """Records that Python code ran during a write (the writer promises none does)."""
    calls = []


class SpyInt(int):
    def __index__(self):
        Spy.calls.append("__index__")
        return 1

    def __int__(self):
        Spy.calls.append("__int__")
        return 1


class SpyFloat(float):
    def __float__(self):
        Spy.calls.append("__float__")
        return 1.0


class SpyStr(str):
    def __str__(self):
        Spy.calls.append("__str__")
        return "spy"


class SpyDict(dict):
    def __getitem__(self, key):
        Spy.calls.append("__getitem__")
        raise KeyError(key)

    def get(self, key, default=None):
        Spy.calls.append("get")
        return default


class SpyList(list):
    def __iter__(self):
        Spy.calls.append("__iter__")
        return iter([])

    def __len__(self):
        Spy.calls.append("__len__")
        return 0


class Index:
    def __index__(self):
        Spy.calls.append("Index.__index__")
        return 1


def test_write_results_runs_no_python_code_of_the_payload(tmp_path):
    """Subclasses with overridden methods are read as their plain base types, and objects
    that only convert (via __index__) are refused, without calling any of their code."""
    Spy.calls = []
    func = SpyDict(filename=SpyStr("a.py"), first_lineno=SpyInt(3), name=SpyStr("f"),
                   lines=SpyList([(SpyInt(4), SpyInt(2), SpyInt(-1))]), source=None)
    payload = SpyDict(unit=SpyFloat(1e-9), meta=SpyDict({SpyStr("k"): SpyStr("v")}),
                      functions=SpyList([func]))
    path = tmp_path / "spy.lw"
    _engine.write_results(path, payload)
    assert Spy.calls == []
    back = _engine.read_results(path)
    assert back["functions"][0]["lines"] == [(4, 2, -1)]
    assert back["meta"] == {"k": "v"}
    with pytest.raises(TypeError, match="hits"):
        _engine.write_results(path, {**EMPTY, "functions": [
            {"filename": "a", "first_lineno": 1, "name": "f", "lines": [(1, Index(), 0)]}]})
    assert Spy.calls == []


def test_write_results_with_big_and_odd_numbers(tmp_path):
    path = tmp_path / "odd.lw"

    def one_line(lineno=1, hits=1, time=0, first=1):
        return {**EMPTY, "functions": [{"filename": "a", "first_lineno": first, "name": "f",
                                        "lines": [(lineno, hits, time)]}]}

    for payload, exc in [
        (one_line(hits=2 ** 63), ValueError), (one_line(hits=2 ** 200), ValueError),
        (one_line(time=-2 ** 63 - 1), ValueError), (one_line(lineno=-1), ValueError),
        (one_line(lineno=2 ** 31), ValueError), (one_line(first=-5), ValueError),
        (one_line(hits=1.0), TypeError), (one_line(time="0"), TypeError),
        ({**EMPTY, "unit": float("nan")}, ValueError), ({**EMPTY, "unit": 0}, ValueError),
        ({**EMPTY, "unit": 10 ** 400}, ValueError), ({**EMPTY, "unit": "1e-9"}, TypeError),
        ({**EMPTY, "meta": {1: "x"}}, TypeError), ({**EMPTY, "meta": {"x": "\ud800"}}, ValueError),
    ]:
        with pytest.raises(exc):
            _engine.write_results(path, payload)
        assert not path.exists()
    # Booleans are ints.
    _engine.write_results(path, one_line(hits=True, time=False))
    assert _engine.read_results(path)["functions"][0]["lines"] == [(1, 1, 0)]


# -- the callables the engine gives to sys.monitoring and threading ------------------------


def monitoring_callbacks(tool):
    mon = sys.monitoring
    found = {}
    for name in ("LINE", "PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "PY_UNWIND",
                 "PY_THROW"):
        event = getattr(mon.events, name)
        callback = mon.register_callback(tool, event, None)
        mon.register_callback(tool, event, callback)
        found[name] = callback
    return found


BAD_CALLBACK_ARGS = [(), (1,), (None, None), ("code",), ("code", 0, None, None, None),
                     ("code", 0, object())]


@pytest.mark.skipif(not PY312 or backend() != "monitoring", reason="sys.monitoring backend")
def test_monitoring_callbacks_called_with_wrong_arguments():
    """Anyone can fetch linewise's callbacks back from sys.monitoring.register_callback and
    call them by hand."""
    lp = LineProfiler(A.f)
    with lp:
        callbacks = monitoring_callbacks(_engine.diagnostics()["tool_id"])
        assert all(callable(c) for c in callbacks.values())
        code = A.f.__code__
        for name, callback in callbacks.items():
            for args in BAD_CALLBACK_ARGS:
                args = tuple(code if a == "code" else a for a in args)
                try:
                    callback(*args)
                except TypeError:
                    pass
                nothing_pending()
        A.f(1)
    assert hits_of(lp.get_stats(), A.f)  # still counting


@pytest.mark.skipif(not PY312 or backend() != "monitoring", reason="sys.monitoring backend")
@pytest.mark.parametrize("line", ["7", 2 ** 70, None, 1.5], ids=repr_id)
def test_monitoring_line_callback_with_a_bad_line_number(line):
    lp = LineProfiler(A.f)
    with lp:
        callback = monitoring_callbacks(_engine.diagnostics()["tool_id"])["LINE"]
        try:
            callback(A.f.__code__, line)
        except (TypeError, OverflowError):
            pass
        nothing_pending()


@pytest.mark.skipif(backend() != "legacy", reason="legacy backend")
def test_thread_bootstrap_called_with_wrong_arguments():
    """While the legacy backend is on, threading.gettrace() is linewise's bootstrap."""
    lp = LineProfiler(A.f)
    with lp:
        bootstrap = threading.gettrace()
        assert callable(bootstrap)
        for args in [(), (1, 2, 3), (None, None, None), (sys._getframe(),)]:
            with pytest.raises(TypeError):
                bootstrap(*args)
        with pytest.raises(TypeError):
            bootstrap(sys._getframe(), "call", None, extra=1)
        for args in [(sys._getframe(), "call", None), (sys._getframe(), 5, 5),
                     (sys._getframe(), "line", None)]:
            assert bootstrap(*args) is None
            nothing_pending()
        A.f(1)
    assert hits_of(lp.get_stats(), A.f) == lines(A, F_ONCE)
    assert sys.gettrace() is None
