# Another thread's tracer switched lines off in a running profiled frame; main disables.
import sys, threading, linewise
from linewise import LineProfiler

lock = threading.Lock()
entered = threading.Event()
def F():
    entered.set()
    lock.acquire(); lock.release()
    a = 1
    b = 2
    return a + b

class T:
    def __init__(self): self.ev = []
    def __call__(self, frame, event, arg):
        if frame.f_code is F.__code__:
            self.ev.append((event, frame.f_lineno - F.__code__.co_firstlineno))
            if event == 'call':
                frame.f_trace_lines = False
        return self

def run(prof):
    t = T()
    lock.acquire(); entered.clear()
    lp = LineProfiler(F)
    if prof: lp.enable()
    th = threading.Thread(target=lambda: (sys.settrace(t), F(), sys.settrace(None)))
    th.start(); entered.wait()
    import time; time.sleep(0.05)
    if prof: lp.disable()
    lock.release(); th.join()
    return t.ev
a = run(False); b = run(True)
print("without:", a); print("with:   ", b); print("SAME" if a == b else "DIFFERENT")
