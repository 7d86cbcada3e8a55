"""Profiling where Dask runs the work: ``linewise.dask.profile(client, *targets)``.

    with linewise.dask.profile(client, "mypkg.features", mypkg.model.fit) as prof:
        client.gather(client.map(mypkg.features.build, parts))
    prof.print_stats()

How it works, all through distributed's own mechanisms:

- On enter, a WorkerPlugin (_Plugin) is registered with the client. The scheduler gives it
  to every worker, and to each worker that joins while it is registered. Its setup makes a
  LineProfiler in the worker process, resolves the targets there (as ``linewise run -p``
  does: modules, packages, ``module.function``, ``module.Class``; a module imported later
  is registered as it loads) and enables it.
- Workers send snapshots of their counts as they go, as linewise's results format (bytes,
  never pickles; see linewise.store.dumps_stats), in distributed's events under a topic of
  this profile's own, which the client subscribes to and keeps the latest of per worker
  process. A snapshot goes at the end of a task once `flush_interval` seconds have passed
  since the last one (0: after every task), and every `flush_interval` seconds while a
  task runs, so a worker that is killed loses at most its last seconds of counts.
- On exit, every live worker hands over its final counts (Client.run), the plugin is
  removed (its teardown stops profiling and unhooks imports), and the counts are tagged
  one process each (linewise.provenance.tag_process, role "worker": the run record names
  the worker's address and name) and summed into ``prof.stats``. A worker that ended
  without handing over (killed, restarted) keeps its last snapshot, and one line on stderr
  says which workers and what they lost.

Targets given as callables or modules travel as their dotted names and are resolved on
each worker: functions defined in ``__main__`` or inside another function have no name a
worker could import, and are refused.
"""
from __future__ import annotations

import functools
import operator
import os
import sys
import threading
import time
import uuid

from distributed.diagnostics.plugin import WorkerPlugin

from linewise.autoprofile import AutoProfile, is_dotted_name, resolve_target
from linewise.profiler import LineProfiler
from linewise.provenance import default_run, tag_process
from linewise.results import LineStats, ResultsError
from linewise.store import dump_stats, dumps_stats, function_source, loads_stats

__all__ = ["profile", "DaskProfile"]

_TOPIC_PREFIX = "linewise-"


def target_name(target) -> str:
    """The dotted name a worker resolves for `target` (a dotted name, a module, a class, a
    function or a method). Raises TypeError for what has no importable name."""
    if isinstance(target, str):
        if not target or not (is_dotted_name(target) or "/" in target
                              or target.endswith(".py")):
            raise TypeError(f"linewise.dask: {target!r} is not a dotted name or a path")
        return target
    import types

    if isinstance(target, types.ModuleType):
        return target.__name__
    obj = getattr(target, "__func__", target)  # a bound method: its function
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise TypeError(f"linewise.dask: {target!r} is not a function, class or module")
    if module == "__main__" or "<locals>" in qualname or "<lambda>" in qualname:
        raise TypeError(f"linewise.dask: {module}.{qualname} cannot be imported by the "
                        "workers (defined in __main__ or inside a function); profile a "
                        "function of an importable module")
    return f"{module}.{qualname}"


# -- on the worker ---------------------------------------------------------------------


class _Plugin(WorkerPlugin):
    """The worker side: one LineProfiler per worker process, its snapshots sent as events.

    Pickled to the workers with only (topic, targets, flush_interval); the rest is made
    by setup in the worker."""

    def __init__(self, topic, targets, flush_interval):
        self.topic = topic
        self.targets = tuple(targets)
        self.flush_interval = float(flush_interval)

    def __getstate__(self):
        return {"topic": self.topic, "targets": self.targets,
                "flush_interval": self.flush_interval}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def setup(self, worker):
        profiler = LineProfiler()
        auto = AutoProfile(profiler)
        for text in self.targets:
            auto.add(resolve_target(text))  # TargetError: the client hears of it
        auto.install()
        self.worker, self.profiler, self.auto = worker, profiler, auto
        self.token = f"{worker.address}#{os.getpid()}#{uuid.uuid4().hex[:8]}"
        self.seq = 0
        self.done = 0          # tasks finished (memory or error) since setup
        self.running = 0       # tasks executing now
        self.done_at_flush = -1
        self.last_flush = 0.0
        self.sources: dict = {}  # key -> source lines, read once per function
        self.lock = threading.Lock()  # flushes come from the loop and from Client.run
        self.run = default_run()  # this process's run record, naming the worker
        self.run["command"] = f"dask worker {worker.name} at {worker.address}"
        self.run["dask.worker"] = str(worker.address)
        self.run["dask.name"] = str(worker.name)
        self.stopped = False
        self.profiler.enable_by_count()
        self.flush()  # the client learns of this worker at once
        if self.flush_interval > 0:
            from tornado.ioloop import PeriodicCallback

            self.ticker = PeriodicCallback(self.tick, self.flush_interval * 1000)
            self.ticker.start()
        else:
            self.ticker = None

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing":
            self.running += 1
        elif start == "executing":
            self.running -= 1
            self.done += 1
            if time.monotonic() - self.last_flush >= self.flush_interval:
                self.flush()

    def tick(self):
        """Every flush_interval seconds: a snapshot if tasks ran since the last one (a
        long task's counts grow while it runs)."""
        if (self.running or self.done != self.done_at_flush) and \
                time.monotonic() - self.last_flush >= self.flush_interval:
            self.flush()

    def stats(self) -> LineStats:
        """This worker's counts so far, tagged as one worker process's."""
        stats = self.profiler.get_stats()
        for key, rows in stats.timings.items():
            if self.sources.get(key) is None and rows:  # none before its first run
                self.sources[key] = function_source(key, rows)
        sources = {k: v for k, v in self.sources.items() if v is not None and k in stats.timings}
        stats = LineStats(stats.timings, stats.unit, stats.meta, sources,
                          sources_complete=True)
        return tag_process(stats, "worker", parent_pid=os.getppid(), run=self.run)

    def snapshot(self, final=False) -> dict:
        """What the client keeps of this worker: its counts as results bytes, with how far
        it had got (a msgpack-able dict)."""
        with self.lock:
            self.seq += 1
            self.done_at_flush = self.done
            self.last_flush = time.monotonic()
            return {"token": self.token, "seq": self.seq, "final": final,
                    "worker": str(self.worker.address), "name": str(self.worker.name),
                    "pid": os.getpid(), "done": self.done, "running": self.running,
                    "data": dumps_stats(self.stats())}

    def flush(self, final=False):
        self.worker.log_event(self.topic, self.snapshot(final))

    def stop(self):
        """Profiling off and imports unhooked (once)."""
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
        if self.ticker is not None:
            self.ticker.stop()
        self.auto.uninstall()
        self.profiler.disable_by_count()

    def teardown(self, worker):
        if getattr(self, "profiler", None) is None:
            return  # setup failed
        was_stopped = self.stopped
        self.stop()
        if not was_stopped:  # the worker is closing: its last counts go as events
            try:
                self.flush(final=True)
            except Exception:  # the scheduler may be gone already
                pass


def _final(topic, dask_worker=None):
    """Run on each worker by Client.run at the profile's end: stops profiling, returns
    the final snapshot (None if this worker has no plugin of this profile)."""
    plugin = dask_worker.plugins.get(topic)
    if not isinstance(plugin, _Plugin) or getattr(plugin, "profiler", None) is None:
        return None
    plugin.stop()
    return plugin.snapshot(final=True)


# -- on the client -----------------------------------------------------------------------


class DaskProfile:
    """The results of ``linewise.dask.profile``: ``stats`` (a LineStats summing every
    worker's counts, one run record per worker process), ``workers`` (one dict per worker
    process: worker, name, pid, tasks, final) and ``lost`` (those that ended without
    handing over their final counts)."""

    def __init__(self, client, targets, flush_interval=1.0, stream=None):
        self.client = client
        self.targets = tuple(target_name(t) for t in targets)
        if not self.targets:
            raise TypeError("linewise.dask.profile needs at least one target")
        if not flush_interval >= 0:
            raise ValueError(f"flush_interval must be >= 0, not {flush_interval!r}")
        self.flush_interval = float(flush_interval)
        self.stream = stream
        self.topic = _TOPIC_PREFIX + uuid.uuid4().hex
        self.stats = LineStats()
        self.workers: list = []
        self.lost: list = []
        self._latest: dict = {}  # token -> the newest snapshot seen
        self._lock = threading.Lock()
        self._active = False

    # -- the context manager ----------------------------------------------------------

    def __enter__(self):
        self.client.subscribe_topic(self.topic, self._on_event)
        plugin = _Plugin(self.topic, self.targets, self.flush_interval)
        try:
            self.client.register_plugin(plugin, name=self.topic)
        except BaseException:
            self._remove()
            raise
        self._active = True
        return self

    def __exit__(self, *exc_info):
        if not self._active:
            return False
        self._active = False
        try:
            finals = self.client.run(_final, self.topic, on_error="return")
        finally:
            self._remove()
        for result in finals.values():
            if isinstance(result, dict):
                self._keep(result)
        try:  # what reached the scheduler but not yet us (a worker that just closed)
            for event in self.client.get_events(self.topic):
                self._on_event(event)
        except Exception:
            pass  # the scheduler is gone: what we hold is all there is
        self._gather()
        return False

    def _remove(self):
        try:
            self.client.unregister_worker_plugin(self.topic)
        except Exception:
            pass  # never registered, or the cluster is gone: nothing left to remove
        try:
            self.client.unsubscribe_topic(self.topic)
        except ValueError:
            pass

    def _on_event(self, event):
        _timestamp, msg = event
        if isinstance(msg, dict):
            self._keep(msg)

    def _keep(self, msg):
        token, seq = msg.get("token"), msg.get("seq")
        if not isinstance(token, str) or not isinstance(seq, int):
            return
        with self._lock:
            old = self._latest.get(token)
            if old is None or seq > old["seq"]:
                self._latest[token] = msg

    def _gather(self):
        """prof.stats, workers and lost from the latest snapshot of each worker process."""
        parts, problems = [], []
        with self._lock:
            snapshots = sorted(self._latest.values(),
                               key=lambda m: (str(m.get("worker")), m.get("pid", 0)))
        for msg in snapshots:
            info = {key: msg.get(key) for key in ("worker", "name", "pid", "final")}
            info["tasks"] = msg.get("done")
            self.workers.append(info)
            if not msg.get("final"):
                info["running"] = msg.get("running")
                self.lost.append(info)
            try:
                parts.append(loads_stats(msg.get("data"), f"worker {info['worker']}'s results"))
            except ResultsError as exc:
                problems.append(str(exc))
        self.stats = functools.reduce(operator.add, parts) if parts else LineStats()
        out = sys.stderr if self.stream is None else self.stream
        if self.lost:
            n = len(self.lost)
            shown = ", ".join(f"{w['worker']} (pid {w['pid']}; {w['tasks']} tasks flushed, "
                              f"{w['running']} running then)" for w in self.lost)
            print(f"linewise: {n} Dask worker{'s' if n > 1 else ''} ended before the "
                  f"profile did (killed or restarted); kept {'their' if n > 1 else 'its'} "
                  f"counts up to the last flush, lost the rest: {shown}", file=out)
        for problem in problems:
            print(f"linewise: {problem}; left out", file=out)

    # -- results ----------------------------------------------------------------------

    def print_stats(self, stream=None, unit=None, skip_zero=False):
        """The line-by-line report of every worker's counts summed, then one line per
        worker process (its address, name, pid, tasks, hits)."""
        from linewise.reports.text import print_report

        stream = sys.stdout if stream is None else stream
        print_report(self.stats, stream, unit=unit, skip_zero=skip_zero)
        stream.write(self.worker_summary())

    def worker_summary(self) -> str:
        """One line per worker process: what it ran of the targets."""
        from linewise.provenance import process_lines

        rows = []
        by_token = {(run.get("dask.worker"), run.get("pid")): run for run in self.stats.runs}
        for w in self.workers:
            run = by_token.get((str(w["worker"]), str(w["pid"])), {})
            own = process_lines(run, self.stats.unit) or {}
            hits = sum(h for rows_ in own.values() for _, h, _ in rows_)
            seconds = sum(t for rows_ in own.values() for _, _, t in rows_) * self.stats.unit
            state = "" if w["final"] else "  (lost: counts up to its last flush)"
            rows.append((str(w["worker"]), str(w["name"]), str(w["pid"]), str(w["tasks"]),
                         str(hits), f"{seconds:.6f}", state))
        if not rows:
            return "No Dask worker sent results.\n"
        head = ("worker", "name", "pid", "tasks", "line hits", "time (s)", "")
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(6)]
        lines = ["Per worker:"]
        for r in [head] + rows:
            lines.append("  " + "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                                         for i, c in enumerate(r[:6])) + r[6])
        return "\n".join(lines) + "\n"

    def dump_stats(self, path):
        """Saves prof.stats as a results file (see linewise.store.dump_stats)."""
        dump_stats(self.stats, path)


def profile(client, *targets, flush_interval=1.0, stream=None) -> DaskProfile:
    """Profiles `targets` (dotted names, modules, classes, functions) on every worker of
    `client` (a distributed.Client) while the ``with`` block runs; the results are in the
    returned object's ``stats`` after it. Workers send their counts at task ends at most
    every `flush_interval` seconds (0: after every task) and every `flush_interval` seconds
    while a task runs. `stream` takes the line about lost workers (default stderr)."""
    return DaskProfile(client, targets, flush_interval=flush_interval, stream=stream)
