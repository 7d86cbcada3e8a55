"""`linewise run` follows child Python processes and merges their counts (issue 13).

Each test runs a real `linewise run` (or explicit mode, or the API) on
tests/programs/children/kids.py, which calls work.work N times in child processes, one
way per mode, and PARENT times itself: the results must hold exactly N + PARENT hits on
work's body, each process's results tagged with its role (provenance.tag_process), and no
children directory left behind. Every wait is bounded.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import clean_env, line_of
from linewise import load_stats

TIMEOUT = 60
PROGRAMS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "programs", "children")
BODY = line_of(os.path.join(PROGRAMS, "work.py"), "body")


@pytest.fixture
def here(tmp_path):
    for name in ("kids.py", "work.py"):
        shutil.copy(os.path.join(PROGRAMS, name), tmp_path / name)
    return tmp_path


def run(here, mode, n, parent=1, *options, output="out.lw"):
    result = subprocess.run(
        [sys.executable, "-m", "linewise", "run", "-o", output, "-p", "work", *options,
         "kids.py", mode, str(n), str(parent)],
        cwd=here, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result


def body_hits(stats) -> int:
    for (filename, _, name), rows in stats.timings.items():
        if name == "work" and filename.endswith("work.py"):
            return sum(h for ln, h, _ in rows if ln == BODY)
    return 0


def roles(stats) -> list:
    return sorted(run.get("process.role") for run in stats.runs)


def own_hits(run) -> int:
    rows = [r for f in json.loads(run["process.lines"]) for r in f[3] if r[0] == BODY]
    return sum(r[1] for r in rows)


def no_leftovers(here):
    assert not list(here.glob("*.children")), os.listdir(here)


MODES = ["pool:fork:terminate", "pool:spawn:terminate", "pool:forkserver:terminate",
         "pool:spawn:join", "executor:spawn", "executor:fork", "process:fork",
         "process:spawn", "process:forkserver", "fork", "python:script", "python:module",
         "python:c", "nested", "joblib"]


@pytest.mark.parametrize("mode", MODES)
def test_children_counts_reach_the_parent(here, mode):
    n = 7
    result = run(here, mode, n, 2)
    assert "left no results" not in result.stderr, result.stderr
    stats = load_stats(here / "out.lw")
    assert body_hits(stats) == n + 2, [(r["pid"], r["process.role"], own_hits(r))
                                       for r in stats.runs]
    found = roles(stats)
    assert found.count("parent") == 1 and len(found) >= 2, found
    if mode.startswith(("pool", "executor", "joblib")):
        assert "worker" in found, found
    # The per-process breakdown adds up to the totals.
    assert sum(own_hits(run) for run in stats.runs) == n + 2
    parent = next(run for run in stats.runs if run["process.role"] == "parent")
    assert own_hits(parent) == 2
    no_leftovers(here)


def test_no_children_counts_the_parent_only(here):
    result = run(here, "pool:fork:terminate", 7, 3, "--no-children")
    stats = load_stats(here / "out.lw")
    assert body_hits(stats) == 3
    assert len(stats.runs) == 1
    assert "left no results" not in result.stderr
    no_leftovers(here)


def test_sigkilled_child_is_named_in_one_line(here):
    result = run(here, "killed", 5, 1)
    pid = re.search(r"killed pid (\d+)", result.stdout).group(1)
    lines = [line for line in result.stderr.splitlines() if "left no results" in line]
    assert lines == [f"linewise: 1 child process left no results: pid {pid} (SIGKILL)"]
    # The other child's 5 and the parent's 1; the killed child's 3 calls are lost.
    assert body_hits(load_stats(here / "out.lw")) == 6
    no_leftovers(here)


def test_sigkilled_pool_worker_keeps_what_it_saved_after_a_task(here):
    result = run(here, "poolkill", 0, 0)
    assert "killed pid" in result.stdout
    assert "left no results" not in result.stderr, result.stderr
    assert body_hits(load_stats(here / "out.lw")) == 1


def test_two_parents_at_once_in_one_directory(here):
    procs = [subprocess.Popen(
        [sys.executable, "-m", "linewise", "run", "-o", f"{name}.lw", "-p", "work",
         "kids.py", "pool:fork:terminate", str(n), "0"],
        cwd=here, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, n in (("a", 5), ("b", 9))]
    for proc in procs:
        _, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, err
    assert body_hits(load_stats(here / "a.lw")) == 5
    assert body_hits(load_stats(here / "b.lw")) == 9
    no_leftovers(here)


def test_orphan_folded_in_later_by_merge(here):
    start = time.perf_counter()
    result = run(here, "orphan", 4, 1)
    pid = int(re.search(r"orphan pid (\d+)", result.stdout).group(1))
    assert re.search(rf"left no results: pid {pid} \(still running\); .* fold it in "
                     r"with linewise merge out.lw", result.stderr), result.stderr
    stats = load_stats(here / "out.lw")
    assert body_hits(stats) == 1
    folder = stats.meta["children"]
    assert os.path.isdir(folder)
    (here / "go").write_text("")
    deadline = start + TIMEOUT
    while not os.path.exists(os.path.join(folder, f"{pid}.lw")):
        assert time.perf_counter() < deadline
        time.sleep(0.02)
    while os.path.exists(f"/proc/{pid}"):
        assert time.perf_counter() < deadline
        time.sleep(0.02)
    merged = subprocess.run([sys.executable, "-m", "linewise", "merge", "out.lw"],
                            cwd=here, env=clean_env(), capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert merged.returncode == 0, merged.stderr
    stats = load_stats(here / "out.lw")
    assert body_hits(stats) == 5
    assert "children" not in stats.meta
    assert not os.path.exists(folder)


EXPLICIT = '''\
import multiprocessing, sys
from linewise import profile

@profile
def work(x):
    y = x * 2  # L:body
    return y

if __name__ == "__main__":
    work(0)
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
        pool.map(work, range(8), chunksize=1)
'''


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_explicit_mode_pool(tmp_path, method):
    (tmp_path / "prog.py").write_text(EXPLICIT)
    result = subprocess.run([sys.executable, "prog.py", method], cwd=tmp_path,
                            env=clean_env({"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"}),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Timer unit") == 1  # one report: the parent's
    stats = load_stats(tmp_path / "out.lw")
    (rows,) = stats.timings.values()
    assert {ln: h for ln, h, _ in rows}[line_of(str(tmp_path / "prog.py"), "body")] == 9, (
        result.stderr, stats.runs)
    assert roles(stats).count("parent") == 1 and "worker" in roles(stats)
    assert not list(tmp_path.glob("*.children"))


IN_PROCESS = '''\
import multiprocessing
from linewise import LineProfiler
import work

lp = LineProfiler(work.work)
lp.enable()
pool = multiprocessing.get_context("fork").Pool(2)
pool.map(work.work, range(10), chunksize=1)
pool.close()
pool.join()
work.work(1)
lp.disable()
before = lp.get_stats()
print(lp.collect_children())
lp.dump_stats("out.lw")
'''


def test_collect_children_in_process(here):
    (here / "prog.py").write_text(IN_PROCESS)
    result = subprocess.run([sys.executable, "prog.py"], cwd=here, env=clean_env(),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\n"  # the two workers
    stats = load_stats(here / "out.lw")
    assert body_hits(stats) == 11
    assert roles(stats) == ["parent", "worker", "worker"]


def test_children_trace_memory_when_the_parent_does(tmp_path):
    """run --memory: the workers' allocations are in the merged results too (they were
    timed and counted, but their memory columns were missing)."""
    (tmp_path / "memwork.py").write_text(
        "def grab(i):\n"
        "    b = bytearray(200_000)\n"
        "    return len(b)\n")
    (tmp_path / "prog.py").write_text(
        "import multiprocessing\n"
        "import memwork\n"
        "if __name__ == '__main__':\n"
        "    memwork.grab(0)\n"
        "    pool = multiprocessing.get_context('spawn').Pool(2)\n"
        "    pool.map(memwork.grab, range(4), chunksize=1)\n"
        "    pool.close()\n"
        "    pool.join()\n")
    result = subprocess.run(
        [sys.executable, "-m", "linewise", "run", "--memory", "-o", "out.lw", "-p",
         "memwork", "prog.py"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
        timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    stats = load_stats(str(tmp_path / "out.lw"))
    (key,) = [k for k in stats.memory if k[2] == "grab"]
    line = {ln: (alloc, net, peak) for ln, alloc, net, peak in stats.memory[key]}[key[1] + 1]
    assert {ln: h for ln, h, _ in stats.timings[key]}[key[1] + 1] == 5
    # Five calls, one in the parent and four in the workers: 5 x 200 000 bytes and the
    # bytearray objects' headers.
    assert 5 * 200_000 <= line[0] <= 5 * 200_000 + 5 * 1024, line
    assert roles(stats) == ["parent", "worker", "worker"]
