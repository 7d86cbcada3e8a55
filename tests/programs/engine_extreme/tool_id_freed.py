# Profiled code frees linewise's sys.monitoring tool id (argv[1]: "free"; "steal": and
# another tool takes it; "decorated": freed inside an @profile-decorated function).
# disable() used to raise ValueError (or, with the id taken, freed the other tool's id).
# Now: no exception, one RuntimeWarning, the results kept, the id cleaned up or left to
# its new owner, and the next enable() profiles normally.
import sys
import warnings

from linewise import LineProfiler, _engine

mode = sys.argv[1]
mon = sys.monitoring
taken = []


def f():
    x = 1
    tid = _engine.diagnostics()["tool_id"]
    taken.append(tid)
    mon.free_tool_id(tid)
    if mode == "steal":
        mon.use_tool_id(tid, "other")
    y = 2
    return x + y


def g():
    z = 3
    return z


lp = LineProfiler(f, g)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if mode == "decorated":
        lp(f)()
    else:
        lp.enable()
        f()
    lp.disable()  # raised ValueError before
messages = [str(w.message) for w in caught]
assert len(messages) == 1 and "tool id" in messages[0] and issubclass(caught[0].category, RuntimeWarning), messages
hits = {ln - f.__code__.co_firstlineno: h for key, lines in lp.get_stats().timings.items()
        if key[2] == "f" for ln, h, _ in lines}
assert hits.get(1) == 1 and hits.get(2) == 1, hits  # what ran before the free is kept
assert _engine.diagnostics()["armed_engines"] == 0
assert _engine.diagnostics()["tool_id"] == -1
tid = taken[0]
if mode == "steal":
    assert mon.get_tool(tid) == "other"
    for name in ("LINE", "PY_START", "PY_RETURN"):  # linewise's callbacks are gone from it
        assert mon.register_callback(tid, getattr(mon.events, name), None) is None, name
    mon.free_tool_id(tid)
else:
    assert mon.get_tool(tid) is None  # freed again
    mon.use_tool_id(tid, "next")  # nothing of linewise's left on it
    assert mon.get_events(tid) == 0
    assert mon.get_local_events(tid, f.__code__) == 0, mon.get_local_events(tid, f.__code__)
    mon.free_tool_id(tid)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    with lp:
        g()
ghits = sorted(h for key, lines in lp.get_stats().timings.items() if key[2] == "g"
               for _, h, _ in lines)
assert ghits == [1, 1], ghits
print("ok")
