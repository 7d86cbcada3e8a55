"""linewise.dask with a real dask.distributed cluster: two worker processes on loopback,
started once for the module. Exact hits per line summed over the workers, for tasks sent
through client.map, dask.delayed and dask.array.map_blocks; a worker joining while the
profile is active; a worker killed mid-run."""
from __future__ import annotations

import importlib
import io
import os
import signal
import sys
import time

import pytest

import dask
import dask.array as da
from distributed import Client, LocalCluster

import linewise.dask
from linewise.provenance import process_lines
from linewise.store import load_stats

from conftest import find_key, hits_of, line_of
from programs import dask_work
from programs.dask_work import add, double_block, hang, work

TARGET = "programs.dask_work"
# No dashboard, and the scheduler's HTTP server on a free loopback port (its default,
# 8787, may be taken on a shared machine).
QUIET = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=2, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs=QUIET,
                      silence_logs=50) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2)
        yield cluster, client


def work_hits(calls):
    """work's {lineno: hits} after work(n) for each n in calls."""
    m = lambda name: line_of(work, name)  # noqa: E731
    return {m("w_init"): len(calls), m("w_loop"): sum(n + 1 for n in calls),
            m("w_body"): sum(calls), m("w_ret"): len(calls)}


def _leftovers(dask_worker):
    """What a profile could leave on a worker: its plugin, its import hook."""
    return ([name for name in dask_worker.plugins if name.startswith("linewise-")]
            + [type(f).__module__ for f in sys.meta_path
               if type(f).__module__.startswith("linewise")])


def assert_nothing_left(client):
    assert all(found == [] for found in client.run(_leftovers).values())


def worker_runs(stats):
    return [run for run in stats.runs if run.get("process.role") == "worker"]


def own_hits(run, unit, func):
    """{lineno: hits} of `func` in one worker's own counts."""
    own = process_lines(run, unit) or {}
    code = func.__code__
    for (filename, first, _name), rows in own.items():
        if filename == code.co_filename and first == code.co_firstlineno:
            return {ln: h for ln, h, _ in rows if h}
    return {}


def test_map_delayed_and_map_blocks_sum_exactly_over_the_workers(cluster, tmp_path):
    _cluster, client = cluster
    calls = list(range(3, 23))
    # Imported before the profile starts (as a script's imports are, in workers that
    # spawn re-ran it in): found in sys.modules, not by the import hook.
    client.run(importlib.import_module, TARGET)
    with linewise.dask.profile(client, TARGET) as prof:
        results = client.gather(client.map(work, calls, pure=False))
        total = dask.delayed(add)(dask.delayed(add)(1, 2), dask.delayed(add)(3, 4))
        assert total.compute() == 10
        array = da.ones(8, chunks=2).map_blocks(double_block, meta=da.ones(0)._meta)
        assert float(array.sum().compute()) == 16.0
    stats = prof.stats
    assert hits_of(stats, work) == work_hits(calls)
    assert hits_of(stats, add) == {line_of(add, "add"): 3}
    assert hits_of(stats, double_block) == {line_of(double_block, "db_mul"): 4,
                                            line_of(double_block, "db_ret"): 4}
    # With their sources, read on the workers.
    for func in (work, add, double_block):
        assert stats.sources[find_key(stats.timings, func)][0].startswith(f"def {func.__name__}(")
    # One run record per worker process, each naming its worker; their own counts add
    # up to the totals, and each holds what the tasks say ran there.
    runs = worker_runs(stats)
    addresses = {w["worker"] for w in prof.workers}
    assert len(runs) == 2 and {r["dask.worker"] for r in runs} == addresses
    assert all(r["command"].startswith("dask worker ") for r in runs)
    pids = {int(r["pid"]) for r in runs}
    assert {pid for _total, pid in results} <= pids
    for run in runs:
        ran_here = [n for n, (_t, pid) in zip(calls, results) if pid == int(run["pid"])]
        assert own_hits(run, stats.unit, work) == {
            k: v for k, v in work_hits(ran_here).items() if v}
    assert prof.lost == [] and all(w["final"] for w in prof.workers)
    # The report: the summed table, then one line per worker.
    out = io.StringIO()
    prof.print_stats(out)
    text = out.getvalue()
    assert "Function: work" in text and "Per worker:" in text
    assert all(address in text for address in addresses)
    # Saved and loaded back whole.
    prof.dump_stats(tmp_path / "dask.lw")
    back = load_stats(tmp_path / "dask.lw")
    assert back.timings == stats.timings and len(worker_runs(back)) == 2


def test_callables_and_modules_travel_as_names(cluster):
    _cluster, client = cluster
    with linewise.dask.profile(client, work, dask_work.add) as prof:
        client.gather(client.map(work, [4, 5], pure=False))
        client.submit(add, 1, 1, pure=False).result()
        client.submit(double_block, 1, pure=False).result()  # not a target
    assert hits_of(prof.stats, work) == work_hits([4, 5])
    assert hits_of(prof.stats, add) == {line_of(add, "add"): 1}
    assert hits_of(prof.stats, double_block) == {}
    with pytest.raises(TypeError, match="cannot be imported by the workers"):
        linewise.dask.profile(client, lambda: None)
    # Nothing is left behind on the workers.
    assert_nothing_left(client)


def test_a_target_the_workers_cannot_find_is_an_error(cluster):
    _cluster, client = cluster
    with pytest.raises(Exception, match="no_such_module_here"):
        with linewise.dask.profile(client, "no_such_module_here.f"):
            pass
    assert_nothing_left(client)


def test_a_worker_that_joins_while_active_is_profiled(cluster):
    local, client = cluster
    before = set(client.scheduler_info()["workers"])
    with linewise.dask.profile(client, TARGET) as prof:
        local.scale(3)
        client.wait_for_workers(3)
        (new,) = set(client.scheduler_info()["workers"]) - before
        assert client.submit(work, 7, workers=[new], pure=False).result()[0] == 21
        client.gather(client.map(work, [2, 3], pure=False))
        # It leaves before the end: its counts came with its teardown.
        local.scale(2)
        deadline = time.monotonic() + 30
        while len(client.scheduler_info()["workers"]) > 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert hits_of(prof.stats, work) == work_hits([7, 2, 3])
    joined = [r for r in worker_runs(prof.stats) if r["dask.worker"] == new]
    assert len(joined) == 1
    assert own_hits(joined[0], prof.stats.unit, work).get(line_of(work, "w_body"), 0) >= 7
    assert prof.lost == []
    client.wait_for_workers(2)


def test_a_killed_worker_costs_only_its_own_unsent_counts(cluster, tmp_path):
    """Two profiles at once (each worker holds two profilers): one whose workers send
    their counts after every task, one whose workers send them only at the end."""
    _cluster, client = cluster
    client.wait_for_workers(2)
    err_every, err_never = io.StringIO(), io.StringIO()
    flag = str(tmp_path / "flag")
    with linewise.dask.profile(client, TARGET, flush_interval=0, stream=err_every) as every, \
            linewise.dask.profile(client, TARGET, flush_interval=3600,
                                  stream=err_never) as never:
        first = list(range(2, 12))
        results = client.gather(client.map(work, first, pure=False))
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        hung = client.submit(hang, flag, workers=[victim], allow_other_workers=True,
                             pure=False)
        deadline = time.monotonic() + 30
        while not os.path.exists(flag + ".started") and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pids[victim], signal.SIGKILL)
        open(flag, "w").close()  # the task, run again elsewhere, ends at once
        hung.result(timeout=60)
        client.wait_for_workers(2)
        later = [5, 6, 7]
        client.gather(client.map(work, later, pure=False))
    lost_pid = pids[victim]
    survived = [n for n, (_t, pid) in zip(first, results) if pid != lost_pid]
    assert len(survived) < len(first)  # the victim ran some of them
    # The killed worker's last snapshot is kept: sent after every task, it holds all its
    # work; never sent but the first (at setup), it holds none of it.
    for prof, err, expected in ((every, err_every, first), (never, err_never, survived)):
        assert hits_of(prof.stats, work) == work_hits(expected + later)
        assert [(w["worker"], w["pid"]) for w in prof.lost] == [(victim, lost_pid)]
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and victim in lines[0] and str(lost_pid) in lines[0]
        assert lines[0].startswith("linewise: 1 Dask worker ended before the profile did")
    (tasks_flushed,) = [w["tasks"] for w in every.lost]
    assert tasks_flushed == len(first) - len(survived)
    assert_nothing_left(client)
