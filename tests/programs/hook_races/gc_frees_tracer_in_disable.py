# A GC run inside disable() (lw_legacy_stop -> lines_back_off -> PyFrame_GetBack
# materialising an older frame) runs Python code that drops the tracer behind linewise.
import gc, sys, linewise
from linewise import LineProfiler
state = {"armed": False, "log": []}

def stack():
    f = sys._getframe(2); out = []
    while f: out.append(f.f_code.co_name); f = f.f_back
    return out

def cb(phase, info):
    if state["armed"] and phase == "start" and sys.settrace is not state["mine"]:
        state["armed"] = False
        state["log"].append(stack())
        sys.settrace(None)   # drops the thread's (new) reference to the tracer

def make_tracer():
    def tr(frame, event, arg):
        return None
    return tr

def F(lp):
    sys.settrace(make_tracer())      # behind linewise; only linewise's hook holds it
    state["mine"] = sys.settrace
    gc.collect()
    state["armed"] = True
    gc.set_threshold(1)
    lp.disable()
    gc.set_threshold(700)
    state["armed"] = False

def t1(frame, event, arg):
    return None

def main():
    sys.settrace(t1)                 # main's own frame stays unmaterialised
    lp = LineProfiler(F)
    lp.enable()
    F(lp)
    print("tracer after:", sys.gettrace())
    sys.settrace(None)

gc.callbacks.append(cb)
def level2(): main()
def level3(): level2()
level3()
print(state["log"])
print("ok")
