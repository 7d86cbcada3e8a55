# Python code run inside the legacy backend's start (a tracer seeing threading.gettrace's
# call) enables the profiler: refused, and the outer enable() fails cleanly, leaving
# nothing installed.
import sys
import threading

from linewise import LineProfiler, _engine

builtin_settrace = sys.settrace


def f():
    return 1


lp = LineProfiler(f)
inner = []


def tr(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "gettrace" and not inner:
        try:
            lp.enable()
        except RuntimeError as e:
            inner.append(str(e))
    return None


sys.settrace(tr)
lp.enable()
sys.settrace(None)
f()
lp.disable()
assert _engine.diagnostics()["armed_engines"] == 0
assert sys.settrace is builtin_settrace
assert threading.gettrace() is None
if _engine.backend == "legacy":
    assert inner and "being switched on or off" in inner[0], inner
print("ok")
