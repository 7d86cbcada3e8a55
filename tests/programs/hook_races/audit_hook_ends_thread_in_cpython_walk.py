# Like audit_hook_ends_thread.py start, but the thread ends at the second "sys.settrace"
# audit: inside the walk over the threads that installs the hook (was CPython's own on 3.12).
import sys, threading, time
from linewise import LineProfiler
state = {"armed": False, "n": 0, "fired": 0}
lock = threading.Lock(); lock.acquire()
def w():
    lock.acquire()
def audit(event, args):
    if event == "sys.settrace" and state["armed"]:
        state["n"] += 1
        if state["n"] == 2:          # CPython's own per-thread audit inside PyEval_SetTraceAllThreads
            state["armed"] = False
            state["fired"] += 1
            lock.release()
            time.sleep(0.3)
sys.addaudithook(audit)
def profiled(): return 1
ts = [threading.Thread(target=w) for _ in range(1)]
for t in ts: t.start()
time.sleep(0.1)
lp = LineProfiler(profiled)
state["armed"] = True
lp.enable()
profiled()
lp.disable()
for t in ts: t.join()
print("fired", state["fired"], "n", state["n"], "ok")
