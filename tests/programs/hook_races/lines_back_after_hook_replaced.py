# After coverage's C tracer replaced linewise's hook (the warned case), disable() leaves line
# events off in the running unprofiled frames: a debugger started there later sees no lines.
import os, sys, bdb, warnings, linewise, coverage
from linewise import LineProfiler
os.environ["COVERAGE_CORE"] = "ctrace"
warnings.simplefilter("ignore")

class Dbg(bdb.Bdb):
    def __init__(self): super().__init__(); self.stops = []
    def user_line(self, frame):
        if frame.f_code.co_name == "main":
            self.stops.append(frame.f_lineno - main.__code__.co_firstlineno)
        self.set_step()

def f(): pass
def main(lp, prof):
    cov = coverage.Coverage(data_file=None, config_file=False, include=[__file__])
    cov.start(); cov.stop()
    if prof: lp.disable()
    dbg = Dbg()
    dbg.set_trace()
    a = 1
    b = 2
    sys.settrace(None)
    return dbg.stops

def run(prof):
    lp = LineProfiler(f)
    if prof: lp.enable()
    return main(lp, prof)
a = run(False); b = run(True)
print("without:", a); print("with:   ", b); print("SAME" if a == b else "DIFFERENT")
