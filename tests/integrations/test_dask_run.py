"""`linewise run -p mymod script.py` on a script that starts its own
LocalCluster(processes=True): the workers are child processes of the script (nannies
spawn them), so their counts reach the results through linewise run's child-process
following (issue 13), with no change to the script."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import clean_env
from linewise.store import load_stats

MYMOD = '''\
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total
'''

SCRIPT = '''\
import mymod
from distributed import Client, LocalCluster

# No dashboard, and the scheduler's HTTP server on a free loopback port (not 8787).
QUIET = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}

if __name__ == "__main__":
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs=QUIET,
                      silence_logs=50) as cluster, \\
            Client(cluster) as client:
        calls = list(range(1, 21))
        print(sum(client.gather(client.map(mymod.work, calls, pure=False))))
'''


def test_run_covers_the_workers_of_a_local_cluster(tmp_path):
    (tmp_path / "mymod.py").write_text(MYMOD)
    (tmp_path / "script.py").write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, "-m", "linewise", "run", "-q", "-p", "mymod", "-o", "out.lw",
         "script.py"], cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(sum(n * (n - 1) // 2 for n in range(1, 21)))]
    stats = load_stats(tmp_path / "out.lw")
    (key,) = [k for k in stats.timings if k[2] == "work"]
    hits = {ln: h for ln, h, _ in stats.timings[key]}
    first = key[1]
    calls = range(1, 21)
    # def on first; total = 0; for; total += i; return
    assert hits == {first + 1: 20, first + 2: sum(n + 1 for n in calls),
                    first + 3: sum(calls), first + 4: 20}
    # One run record per process: the script and its two workers at least.
    roles = [run.get("process.role") for run in stats.runs]
    assert roles.count("worker") + roles.count("child") >= 2, stats.runs
