# A tracer switched lines off in a profiled generator; disable() while it is suspended.
import sys, linewise
from linewise import LineProfiler

def gen():
    x = 1
    yield x
    y = 2
    yield y
    z = 3

class T:
    def __init__(self): self.ev = []; self.seen = set()
    def __call__(self, frame, event, arg):
        if frame.f_code is gen.__code__:
            self.ev.append((event, frame.f_lineno - gen.__code__.co_firstlineno))
            if id(frame) not in self.seen:       # decides once per frame
                self.seen.add(id(frame))
                frame.f_trace_lines = False
        return self

def run(prof):
    t = T(); sys.settrace(t)
    g = gen()
    if prof:
        lp = LineProfiler(gen); lp.enable()
    next(g)
    if prof:
        lp.disable()
    list(g)
    sys.settrace(None)
    return t.ev
a = run(False); b = run(True)
print("without:", a); print("with:   ", b); print("SAME" if a == b else "DIFFERENT")
