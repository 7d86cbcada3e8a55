"""The pytest plugin (entry point ``pytest11``: ``linewise``).

``pytest --linewise TARGET`` (repeatable; TARGET as ``linewise run -p`` takes it) profiles
the targets during the whole session; ``@pytest.mark.linewise(func, ...)`` profiles those
functions during that test only (strings are TARGETs too: ``mark.linewise("ops.add")``;
one object alone: ``mark.linewise.with_args(ops.add)``). The results go to ``--linewise-output`` (default
``.linewise/pytest.lw`` under the rootdir); ``--linewise-view`` prints the report in the
terminal summary.

Per test: every test that ran profiled code gets a run record of its own in the results
file (see docs/results-format.md, Runs) with the keys ``pytest.test`` (its node id),
``pytest.seconds`` (its wall time: setup, call and teardown, as a float),
``pytest.unit`` (seconds per time unit) and ``pytest.lines``: JSON,
``[[filename, first_lineno, name, [[lineno, hits, time], ...]], ...]``, the counts that
test added (setup, call and teardown). Runs survive ``linewise merge``; ``linewise view
--by-test`` reads them.

Under pytest-xdist each worker sends its results, in linewise's own file format (bytes),
to the controller in ``workeroutput``; the controller merges them into the one output.

Nothing of linewise beyond this module and the light package ``__init__`` is imported
unless an option or the marker is used.
"""
from __future__ import annotations

import os
import time

import pytest

_KEY = "linewise"  # workeroutput key and the plugin names registered below
_DEFAULT_OUTPUT = os.path.join(".linewise", "pytest.lw")


def pytest_addoption(parser, pluginmanager):
    _unmark_for_rewrite(pluginmanager)
    group = parser.getgroup("linewise", "line-by-line profiling (linewise)")
    group.addoption("--linewise", action="append", default=[], metavar="TARGET",
                    dest="linewise_targets",
                    help="profile TARGET line by line: a file, directory, module, package, "
                         "module.function or module.Class, as `linewise run -p` takes it "
                         "(repeatable)")
    group.addoption("--linewise-output", metavar="FILE", dest="linewise_output",
                    default=None,
                    help=f"where to write the results (default: {_DEFAULT_OUTPUT} under the "
                         "rootdir; view them per test with `linewise view --by-test FILE`)")
    group.addoption("--linewise-view", action="store_true", dest="linewise_view",
                    default=False, help="print the line-by-line report in the terminal summary")
    group.addoption("--linewise-memory", action="store_true", dest="linewise_memory",
                    default=False,
                    help="charge memory to the lines too: bytes allocated, net and peak")


def _memory(config) -> bool:
    return bool(config.getoption("linewise_memory", False))


def _unmark_for_rewrite(pluginmanager):
    """pytest marks the whole package of an entry-point plugin for assertion rewriting:
    every linewise module imported later would be loaded by pytest's rewriting hook, not
    Python's loader. linewise is not test code: take the mark back (the modules imported
    to load this plugin are light and have no assert). Quietly does nothing if pytest's
    hook has changed shape."""
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    if isinstance(marked, set) and "linewise" in marked:
        marked.discard("linewise")
        cache = getattr(hook, "_marked_for_rewrite_cache", None)
        if isinstance(cache, dict):
            for name in [n for n in cache if n == "linewise" or n.startswith("linewise.")]:
                del cache[name]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "linewise(func, ...): profile these functions line by line during this "
                   "test only (linewise)")
    if hasattr(config, "workerinput"):
        worker = True
    else:
        worker = False
        if config.getoption("dist", "no") != "no":  # the xdist controller: runs no test
            if config.getoption("linewise_targets"):
                _Session(config, None, False).add_targets(config.getoption("linewise_targets"),
                                                          install=False)  # usage errors here
            config.pluginmanager.register(_Controller(config), f"{_KEY}-controller")
            return
    targets = config.getoption("linewise_targets") or []
    output = None if worker else _output_path(config)
    if targets:
        session = _Session(config, output, worker)
        session.add_targets(targets)
        config.pluginmanager.register(session, f"{_KEY}-session")
    elif not worker:
        config.stash[_output_key] = output


_output_key = pytest.StashKey[str]()


def pytest_collection_modifyitems(session, config, items):
    """Marker only (no --linewise): the plugin wakes up if some test has the marker."""
    if config.pluginmanager.has_plugin(f"{_KEY}-session"):
        return
    if any(item.get_closest_marker("linewise") is not None for item in items):
        worker = hasattr(config, "workerinput")
        output = None if worker else config.stash.get(_output_key, None)
        state = _Session(config, output, worker)
        config.pluginmanager.register(state, f"{_KEY}-session")
        state.start()


def _output_path(config) -> str:
    """The absolute output path, checked; a usage error if it cannot be a file."""
    given = config.getoption("linewise_output")
    if given:
        path = os.path.join(str(config.invocation_params.dir), os.path.expanduser(given))
        shown = given
    else:
        path = os.path.join(str(config.rootpath), _DEFAULT_OUTPUT)
        shown = _DEFAULT_OUTPUT
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise pytest.UsageError(f"--linewise-output {shown}: is a directory (give a file "
                                "name, such as .linewise/pytest.lw)")
    parent = os.path.dirname(path)
    probe = parent
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        raise pytest.UsageError(f"--linewise-output {shown}: {probe} is not a directory")
    return path


def _test_run(nodeid, delta, unit, seconds) -> dict:
    import json

    return {"pytest.test": nodeid, "pytest.seconds": repr(seconds), "pytest.unit": repr(unit),
            "pytest.lines": json.dumps([[*key, rows] for key, rows in delta.items()],
                                       separators=(",", ":"))}


def _delta(before, after) -> dict:
    """{key: [(lineno, hits, time)]}: what `after` counted beyond `before` (timings)."""
    out = {}
    for key, rows in after.items():
        old = {ln: (h, t) for ln, h, t in before.get(key, ())}
        lines = []
        for ln, h, t in rows:
            h0, t0 = old.get(ln, (0, 0))
            if h != h0 or t != t0:
                lines.append([ln, h - h0, t - t0])
        if lines:
            out[key] = lines
    return out


class _Session:
    """Profiling in a process that runs tests (no xdist, or an xdist worker)."""

    def __init__(self, config, output, worker):
        import linewise

        self.config = config
        self.output = output
        self.worker = worker
        self.profiler = linewise.LineProfiler(memory=_memory(config))
        self.auto = None
        self.tests = []  # run records, one per test that counted something
        self.extra = None  # LineStats of the marker profilers, summed
        self.started = False
        self.last = None  # timings at the end of the last test

    def add_targets(self, targets, install=True):
        from linewise.autoprofile import AutoProfile, TargetError, resolve_target

        base = str(self.config.invocation_params.dir)
        auto = AutoProfile(self.profiler)
        for text in targets:
            try:
                auto.add(resolve_target(text, base_dir=base))
            except TargetError as exc:
                message = str(exc)
                if message.startswith("-p "):
                    message = message[3:]
                raise pytest.UsageError(f"--linewise {message}") from None
        if install:
            auto.install()
            self.auto = auto

    def start(self):
        if not self.started:
            self.started = True
            self.profiler.enable_by_count()

    def pytest_sessionstart(self, session):
        self.start()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        # The previous test's end serves as this one's start (one snapshot per test:
        # a snapshot costs a few microseconds per profiled function); nothing profiled
        # runs between two tests' protocols but other plugins' hooks.
        before = self.last if self.last is not None else self.profiler.get_stats().timings
        marker_profiler = self._marker_profiler(item)
        if marker_profiler is not None:
            marker_profiler.enable_by_count()
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            if marker_profiler is not None:
                marker_profiler.disable_by_count()
            after = self.last = self.profiler.get_stats().timings
            delta = _delta(before, after)
            if marker_profiler is not None:
                own = marker_profiler.get_stats()
                # A function that --linewise profiles too was counted by the session's
                # profiler already.
                for key in list(own.timings):
                    if key in after:
                        del own.timings[key]
                for key, rows in own.timings.items():
                    rows = [[ln, h, t] for ln, h, t in rows if h or t]
                    if rows:
                        delta[key] = rows
                self.extra = own if self.extra is None else self.extra + own
            if delta:
                self.tests.append(_test_run(item.nodeid, delta, 1e-9, seconds))

    def _marker_profiler(self, item):
        """A profiler of the marker's functions for this test, or None. A str is a TARGET
        (as --linewise takes it: "ops.add", "pkg.mod.Class", "pkg"); anything else a
        function, class or module object. (One object alone must be given with
        ``pytest.mark.linewise.with_args(func)``: pytest takes a mark called on a single
        function as decorating it.)"""
        import types

        import linewise

        funcs = [func for mark in item.iter_markers("linewise") for func in mark.args]
        if not funcs:
            return None
        profiler = linewise.LineProfiler(memory=_memory(self.config))
        for func in funcs:
            if isinstance(func, str):
                from linewise.autoprofile import AutoProfile, TargetError, resolve_target

                auto = AutoProfile(profiler)
                try:
                    auto.add(resolve_target(func, str(self.config.invocation_params.dir)))
                except TargetError as exc:
                    raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.linewise"
                                            f"({func!r}): {str(exc).partition(': ')[2]}"
                                            ) from None
                auto.install()  # registers what is imported already; nothing else is
                auto.uninstall()
            elif isinstance(func, types.ModuleType):
                profiler.add_module(func)
            elif callable(func):
                profiler.add_callable(func)
            else:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.linewise takes functions, classes, "
                    f"modules or TARGET strings, not {type(func).__name__} {func!r}")
        return profiler

    def stats(self):
        """The session's results, with the per-test runs (None if nothing was profiled)."""
        import shlex

        from linewise.provenance import run_from_meta

        if self.started:
            self.profiler.disable_by_count()
            self.started = False
        if self.auto is not None:
            self.auto.uninstall()
        stats = self.profiler.get_stats()
        if self.extra is not None:
            stats = stats + self.extra
            stats.meta.pop("merged", None)
        if not stats.timings:
            return None
        stats.meta["command"] = shlex.join(["pytest", *self.config.invocation_params.args])
        process = run_from_meta(stats.meta)
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        if worker:
            process["pytest.worker"] = worker
        pid = process.get("pid")
        stats.runs = [process] + [dict(run, pid=pid) if pid else run for run in self.tests]
        return stats

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        stats = self.stats()
        if self.worker:
            if stats is not None:
                self.config.workeroutput[_KEY] = _to_bytes(stats)
            return
        _save(self.config, stats, self.output)


class _Controller:
    """The xdist controller: merges what the workers send."""

    def __init__(self, config):
        self.config = config
        self.received = []

    def pytest_testnodedown(self, node, error):
        data = getattr(node, "workeroutput", {}).get(_KEY)
        if data:
            self.received.append(data)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if not self.received and not self.config.getoption("linewise_targets"):
            return  # marker only, and no worker ran a marked test
        output = _output_path(self.config)
        stats = None
        for data in self.received:
            part = _from_bytes(data)
            stats = part if stats is None else stats + part
        _save(self.config, stats, output)


def _to_bytes(stats) -> bytes:
    from linewise.store import dumps_stats

    return dumps_stats(stats)


def _from_bytes(data):
    from linewise.store import loads_stats

    return loads_stats(data, "a worker's results")


_summary_key = pytest.StashKey[list]()


def _save(config, stats, output):
    """Writes the results and leaves what the terminal summary says in the stash."""
    lines = []
    shown = os.path.relpath(output, str(config.invocation_params.dir))
    if stats is None:
        lines.append("linewise: no function was profiled: no test ran code from the "
                     "--linewise targets or the @pytest.mark.linewise functions")
    else:
        from linewise.store import dump_stats

        os.makedirs(os.path.dirname(output), exist_ok=True)
        try:
            dump_stats(stats, output)
        except (OSError, ValueError) as exc:
            lines.append(f"linewise: error: cannot write results to {shown}: "
                         f"{getattr(exc, 'strerror', None) or exc}")
        else:
            tests = sum(1 for run in stats.runs if "pytest.test" in run)
            lines.append(f"linewise: results of {tests} test(s) saved to {shown} (per test: "
                         f"linewise view --by-test {shown})")
    config.stash[_summary_key] = (lines, stats)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines, stats = config.stash.get(_summary_key, ([], None))
    if not lines:
        return
    if stats is not None and config.getoption("linewise_view"):
        import io

        import linewise

        terminalreporter.section("linewise")
        buffer = io.StringIO()
        linewise.show_text(stats.timings, stats.unit, stream=buffer,
                           sources=stats.sources or None)
        terminalreporter.write(buffer.getvalue())
    for line in lines:
        terminalreporter.write_line(line)
