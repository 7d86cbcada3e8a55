# disable() walks every thread state; a GC run inside lines_back_on(other thread) runs a
# callback that lets that thread finish (GIL released): its PyThreadState is freed under
# lw_legacy_stop's loop.
import gc, sys, threading, time, linewise
from linewise import LineProfiler
state = {"armed": False, "fired": 0}
lock = threading.Lock(); lock.acquire()

def w():
    lock.acquire()          # blocked from before enable() to inside disable()

def cb(phase, info):
    if state["armed"] and phase == "start" and sys.settrace is not state["mine"]:
        state["armed"] = False
        state["fired"] += 1
        lock.release()
        time.sleep(0.3)     # GIL released: w's thread ends and its thread state goes

def profiled(): return 1

def main():
    t = threading.Thread(target=w); t.start()
    time.sleep(0.1)
    lp = LineProfiler(profiled)
    lp.enable()
    profiled()
    state["mine"] = sys.settrace
    gc.collect()
    state["armed"] = True
    gc.set_threshold(1)
    lp.disable()
    gc.set_threshold(700)
    t.join()

gc.callbacks.append(cb)
main()
print("fired", state["fired"], "ok")
