# 3.13: a thread idle through enable()/disable() keeps st->saved alive; its tracer object
# outlives every reference the program has.
import gc, sys, threading, time, weakref, linewise
from linewise import LineProfiler
class T:
    def __call__(self, frame, event, arg): return None
go = threading.Event(); done = threading.Event(); ref = {}
def worker():
    t = T(); ref["w"] = weakref.ref(t)
    sys.settrace(t); del t
    go.wait()
    sys.settrace(None)
    done.set()
    time.sleep(0.3)
th = threading.Thread(target=worker); th.start()
time.sleep(0.1)
def f(): pass
lp = LineProfiler(f); lp.enable(); f(); lp.disable()
go.set(); done.wait(); th.join(); gc.collect()
print("tracer still alive:", ref["w"]() is not None)
