# Code at the edges of what a line table holds (argv[1]):
#   big:  a function spanning more than _engine.MAX_LINE_SPAN lines (raised ValueError
#         from @profile inside the program);
#   max:  co_firstlineno 2**31 - 1, so CPython's line numbers wrap (raised in add_function
#         on 3.13; signed overflow in the engine's line arithmetic on 3.11);
#   zero: co_firstlineno 0 (the time before the first line was charged to a line 0).
# Unprofilable code: one RuntimeWarning naming the function and why, the function runs
# as usual, the rest is profiled.
import io
import sys
import warnings

from linewise import LineProfiler, _engine

mode = sys.argv[1]


def g():
    a = 1
    b = 2
    return a + b


def other():
    return 5


if mode == "big":
    src = "def h():\n    a = 1\n" + "\n" * getattr(_engine, "MAX_LINE_SPAN", 10**7) + "    return a + 2\n"
    ns = {}
    exec(compile(src, "big.py", "exec"), ns)
    target = ns["h"]
elif mode == "max":
    g.__code__ = g.__code__.replace(co_firstlineno=2**31 - 1)
    target = g
else:
    g.__code__ = g.__code__.replace(co_firstlineno=0)
    target = g

lp = LineProfiler(other)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    wrapped = lp(target)
    assert wrapped() == 3
    assert lp(other)() == 5
messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
stats = lp.get_stats().timings
by_name = {key[2]: {ln: h for ln, h, _ in lines} for key, lines in stats.items()}
assert by_name["other"] == {25: 1}, by_name
if mode == "zero":
    assert messages == [], messages
    assert by_name["g"] == {1: 1, 2: 1, 3: 1}, by_name  # no line 0
    out = io.StringIO()
    lp.print_stats(stream=out)
    assert "Line #" in out.getvalue()
else:
    name = target.__code__.co_name
    assert len(messages) == 1, messages
    assert f"cannot profile {name}" in messages[0], messages
    assert ("spans" if mode == "big" else "line numbers") in messages[0], messages
    assert name not in by_name, by_name
print("ok")
