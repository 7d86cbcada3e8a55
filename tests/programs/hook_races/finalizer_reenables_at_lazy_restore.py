# forget_saved() frees the saved-tracer table with the last lazily restored thread; a
# tracer whose last reference is in that table is finalized there and re-enables a profiler.
import sys, threading, time
from linewise import LineProfiler
def profiled(): return 1
lp2 = LineProfiler(profiled)
class Tracer:
    def __call__(self, frame, event, arg): return None
    def __del__(self):
        print("Tracer.__del__ -> lp2.enable()", flush=True)
        lp2.enable()
go = threading.Event()
def w():
    go.wait()
    profiled()
t = threading.Thread(target=w); t.start()
time.sleep(0.1)
sys.settrace(Tracer())        # main's tracer before enable: saved[main].obj
lp = LineProfiler(profiled)
lp.enable()
sys.settrace(None)            # now only the saved table holds the Tracer
lp.disable()                  # w still holds the bootstrap hook: table kept (n_unresolved=1)
go.set()                      # w's next event: retire -> forget_saved -> free_saved -> __del__
t.join()
lp2.disable()
print("ok")
