# Four threads call one @profile-decorated function, with the GIL switching as often as
# it can: every call must be counted (the enable count was a Python counter whose test and
# update other threads could come between, losing calls), none may raise (the legacy
# backend's switch runs Python code, and another thread enabling then was refused).
import sys
import threading
import time

from linewise import LineProfiler

sys.setswitchinterval(1e-6)
lp = LineProfiler()


@lp
def f(x):
    y = x + 1
    return y


N = 2000
errors = []
calls = 0


def worker():
    for i in range(N):
        try:
            f(i)
        except RuntimeError as e:
            errors.append(str(e))


deadline = time.perf_counter() + float(sys.argv[1] if len(sys.argv) > 1 else 3)
rounds = 0
while True:
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rounds += 1
    calls += 4 * N
    hits = sorted({h for lines in lp.get_stats().timings.values() for _, h, _ in lines})
    if errors or hits != [calls] or time.perf_counter() > deadline:
        break
assert lp.enable_count == 0, lp.enable_count
print(f"{rounds} rounds, {len(errors)} errors {errors[:1]}, hits {hits} of {calls}")
if not errors and hits == [calls]:
    print("ok")
