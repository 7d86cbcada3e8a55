# An audit hook that releases the GIL on "sys.settrace" (logging to a file would do) runs
# inside lw_legacy_start/stop's walk over the thread states; a thread ending meanwhile
# leaves the walk on a freed PyThreadState.
import sys, threading, time, linewise
from linewise import LineProfiler
state = {"armed": False, "fired": 0}
lock = threading.Lock(); lock.acquire()

def w():
    lock.acquire()

def audit(event, args):
    if event == "sys.settrace" and state["armed"]:
        state["armed"] = False
        state["fired"] += 1
        lock.release()
        time.sleep(0.3)          # GIL released: w's thread ends

sys.addaudithook(audit)
def profiled(): return 1
which = sys.argv[1] if len(sys.argv) > 1 else "stop"
t = threading.Thread(target=w); t.start()
time.sleep(0.1)
lp = LineProfiler(profiled)
if which == "start":
    state["armed"] = True
lp.enable()
profiled()
if which == "stop":
    state["armed"] = True
lp.disable()
t.join()
print("fired", state["fired"], "ok")
