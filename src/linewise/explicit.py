"""The `profile` decorator: explicit mode, and the builtin `profile` of `linewise run`.

``from linewise import profile`` and ``@profile`` on functions marks them. Nothing happens,
and nothing is paid per call (the decorator returns the function itself), unless:

* the program runs under ``linewise run`` (which also puts this object in builtins as
  ``profile``, kernprof's convention): the runner collects, saves and reports; or
* ``LINEWISE=1`` (or line_profiler's ``LINE_PROFILE=1``) is in the environment when
  linewise is imported, or the program calls
  ``profile.enable()``: this process collects from then on, and at exit the report is
  printed and the results are written (``LINEWISE_OUTPUT``, default ``<program>.lw``).
  ``LINEWISE_MEMORY=1`` charges memory to the lines too (linewise.memory).

Once on, profiling stays on for the rest of the process (functions marked before that are
picked up too), so the marked functions are returned unwrapped either way; as with
kernprof's ``profile``, ``disable()``/``enable()`` and ``with profile:`` pause and resume
it, counted (each disable() undoes one enable()).
"""
from __future__ import annotations

import atexit
import os
import sys
import types

__all__ = ["Profile", "profile", "explicit_output_path"]

_TRUE = {"1", "true", "yes", "on"}


def _memory_from_environment():
    """LINEWISE_MEMORY's mode (on, off, native); a bad value is said once and means off."""
    from .memory import parse_mode

    try:
        return parse_mode(os.environ.get("LINEWISE_MEMORY"))
    except ValueError as exc:
        print(f"linewise: LINEWISE_MEMORY: {exc}; memory is not traced", file=sys.stderr)
        return None


def explicit_output_path(output=None) -> str | None:
    """Where explicit mode writes: `output`, else $LINEWISE_OUTPUT, else the config file's
    `output`, else ``<program>.lw`` in the current directory; None for "-". ``{pid}`` in
    the path is replaced by the process id (for servers with several worker processes)."""
    if output is None:
        output = os.environ.get("LINEWISE_OUTPUT") or None
    if output is None:
        config = _config()
        if config is not None and config.get("output"):
            output = os.path.join(config.directory, config.get("output"))
    if output is None:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        if not name or name in ("-c", "-", "__main__.py"):
            name = "linewise"
        output = name + ".lw"
    output = os.fspath(output)
    if output == "-":
        return None
    # Absolute: the program may change directory before it exits.
    return os.path.abspath(output.replace("{pid}", str(os.getpid())))


def _config():
    """The [tool.linewise] settings for explicit mode's report, or None (errors ignored:
    a broken file must not break the program being profiled at its exit)."""
    from .config import ConfigError, find_config, load_config

    try:
        path = find_config()
        return load_config(path) if path else None
    except ConfigError:
        return None


class Profile:
    """Marks functions for line profiling; see the module's documentation.

    ``profile(func)`` returns `func` itself. ``profile.enable(output=...)`` turns explicit
    mode on for this process; ``profile.enabled`` says whether marked functions are being
    profiled. While on, ``add_function``, ``add_module``, ``print_stats``, ``dump_stats``
    and ``get_stats`` work as on a LineProfiler.
    """

    def __init__(self):
        self._profiler = None  # the LineProfiler collecting, once on
        # Marked while off, added when switched on: a plain function is kept as its code
        # object (one entry however many closures are made from it, and no closure kept
        # alive), anything else (classes, methods, modules...) as itself.
        self._pending: dict = {}
        self._runner = False  # collecting for `linewise run`, which saves and reports
        self._output = None  # explicit mode's results path (None: none)
        self._report = True  # explicit mode prints the report at exit
        self._hooked = False  # explicit mode's atexit handler is registered
        self._guard = None  # explicit mode's signal handlers (see linewise._signals)
        self._claimed: set = set()  # results files this process told its children about
        self._children = None  # explicit mode's children directory (linewise._gather)

    # -- marking -----------------------------------------------------------------------

    def __call__(self, func):
        """Marks `func` (a function, method, class, property, ...) and returns it unchanged."""
        if self._profiler is None:
            self._remember(func)
        else:
            self._profiler.add_callable(func)
        return func

    def add_function(self, func):
        self(func)
        return func

    add_callable = add_function

    def add_module(self, module):
        """Marks every function and class defined in `module`."""
        if self._profiler is None:
            self._remember(module)
        else:
            self._profiler.add_module(module)
        return module

    @property
    def enabled(self) -> bool:
        """Whether the marked functions are being profiled now."""
        profiler = self._profiler
        return profiler is not None and (self._runner or profiler.enable_count > 0)

    # -- explicit mode -----------------------------------------------------------------

    def enable(self, output=None, *, report=True, children=True):
        """Profiles the marked functions from now on; at exit, prints the report (unless
        `report` is false) and writes the results to `output` (see explicit_output_path;
        "-" for none). Under `linewise run` the runner's options apply instead, and
        enable() and disable() count as kernprof's do (the program runs with profiling on
        once; each disable() undoes one enable()). `children`: also profile the
        marked functions in child processes (forked, spawned, Python subprocesses) and
        merge their results into this one's (linewise._gather)."""
        if self._runner:
            self._profiler.enable_by_count()
            return
        from ._lineage import claim_output, taken_outputs

        path = explicit_output_path(output)
        if path is not None and path in taken_outputs() and path not in self._claimed:
            # A child (LINEWISE=1 is inherited) whose results would overwrite its
            # parent's: it does not profile.
            return
        if self._profiler is None:
            from .profiler import LineProfiler

            self._start(LineProfiler(memory=_memory_from_environment()))
            if children:
                from ._gather import follow_children

                self._children = follow_children(self._profiler, path)
        elif self._profiler.enable_count == 0:  # after disable()
            self._profiler.enable_by_count()
        self._output = path
        self._report = report
        if path is not None:
            claim_output(path)
            self._claimed.add(path)
        if not self._hooked:
            from ._signals import Guard

            atexit.register(self._at_exit)
            self._hooked = True
            self._guard = Guard(self._save)
            self._guard.install()

    def disable(self):
        """Stops collecting (what was collected is still reported and written at exit)."""
        if self._profiler is not None:
            self._profiler.disable_by_count()

    def __enter__(self):
        """``with profile:`` profiles the marked functions inside the block, as kernprof's
        profile does (counted like enable()/disable(); nothing when profiling is off)."""
        if self._profiler is not None:
            self._profiler.enable_by_count()
        return self

    def __exit__(self, *exc_info):
        if self._profiler is not None:
            self._profiler.disable_by_count()
        return False

    def _start(self, profiler):
        self._profiler = profiler
        self._add_pending()
        profiler.enable_by_count()

    def _remember(self, obj):
        if isinstance(obj, types.FunctionType) and not hasattr(obj, "__wrapped__"):
            self._pending[obj.__code__] = obj.__qualname__
        else:
            try:
                self._pending[obj] = None
            except TypeError:  # unhashable: keep it by identity
                self._pending[id(obj)] = obj

    def _add_pending(self):
        pending, self._pending = self._pending, {}
        for key, value in pending.items():
            if isinstance(key, types.CodeType):
                self._profiler.add_code(key, value)
                continue
            item = value if isinstance(key, int) else key
            if isinstance(item, types.ModuleType):
                self._profiler.add_module(item)
            else:
                self._profiler.add_callable(item)

    def _at_exit(self):
        """Explicit mode's end: save the results, print the report, say where they are
        (in the process that enabled it: not in a forked child)."""
        if self._profiler is None or self._runner or not self._guard.owner:
            return
        with self._guard.finishing():
            self._save(None)

    def _stand_down(self):
        """Explicit mode off as if never on (a spawn child of `linewise run`)."""
        if self._runner or self._profiler is None:
            return
        self._profiler.disable()
        self._profiler = None
        self._output = None
        self._children = None
        if self._hooked:
            atexit.unregister(self._at_exit)
            self._hooked = False
        if self._guard is not None:
            self._guard._drop_handlers()
            self._guard = None
        self._release_claims()

    def _release_claims(self):
        from ._lineage import release_output

        for path in self._claimed:
            release_output(path)
        self._claimed.clear()

    def _save(self, signum):
        """Saves, reports and says so; signum: the signal ending the process, if any."""
        if self._profiler is None or self._runner:
            return
        from ._signals import signal_name
        from .paths import shown_path
        from .store import dump_stats

        self._profiler.disable()
        stats = self._profiler.get_stats()
        children = None
        if self._children is not None:
            from ._gather import finish

            stats.meta["command"] = " ".join(sys.argv)
            stats, children = finish(stats, self._children, self._output, signum)
        if not stats.timings:
            print("linewise: profiling was on (LINEWISE=1 or profile.enable()) but no "
                  "function was marked: decorate functions with @linewise.profile",
                  file=sys.stderr)
            return
        saved = False
        if self._output:
            stats.meta["command"] = " ".join(sys.argv)
            try:
                dump_stats(stats, self._output)
                saved = True
            except Exception as exc:  # at exit: say it, do not raise
                print(f"linewise: could not save results to {self._output}: {exc}",
                      file=sys.stderr)
        if self._report:
            try:
                self._print(stats)
                sys.stdout.flush()
            except Exception as exc:
                print(f"linewise: could not print the report: {exc}", file=sys.stderr)
        if saved:
            shown = shown_path(self._output)
            print(f"linewise: results saved to {shown} (view them with: linewise view "
                  f"{shown})", file=sys.stderr)
        if children:
            print(children, file=sys.stderr)
        if signum is not None:
            print(f"linewise: terminated by {signal_name(signum)}, results are partial",
                  file=sys.stderr)

    def _print(self, stats):
        from .reports.text import print_report
        from .units import parse_unit

        config = _config()
        get = config.get if config is not None else (lambda key, default=None: default)
        unit = get("unit")
        try:
            unit = parse_unit(unit) if unit is not None else None
        except ValueError:
            unit = None
        skip_zero = get("skip-zero")  # None: -z above text.AUTO_SKIP_ZERO functions
        print_report(stats, sys.stdout, unit=unit,
                     skip_zero=None if skip_zero is None else bool(skip_zero),
                     summary=bool(get("summary", False)), sort=bool(get("sort", False)),
                     top=get("top"))

    # -- `linewise run` ----------------------------------------------------------------

    def attach_runner(self, profiler):
        """Makes this object collect into the runner's `profiler` (explicit mode, if it
        was on, hands over what it has marked and stops). Called by `linewise run`
        (linewise.cli.run), which then saves and reports; once attached, enable(),
        disable() and the exit handler leave the results to the runner."""
        if self._guard is not None:  # the runner handles the signals
            self._guard._drop_handlers()
        self._release_claims()  # and says which file is taken
        self._children = None  # and follows the children
        if self._profiler is not None:
            old = self._profiler
            old.disable()
            pending, self._pending = self._pending, {}
            for func in old.functions:
                self._remember(func)
            self._pending.update(pending)
            self._profiler = None
        self._runner = True
        self._profiler = profiler
        self._add_pending()

    # -- LineProfiler methods, for programs written against kernprof's `profile` --------

    def __getattr__(self, name):
        profiler = self.__dict__.get("_profiler")
        if profiler is not None and not name.startswith("_"):
            return getattr(profiler, name)
        raise AttributeError(
            f"'profile' has no attribute {name!r}"
            + ("" if profiler is not None else " (profiling is off: set LINEWISE=1 or "
               "call profile.enable(), or run under `linewise run`)"))

    def __repr__(self):
        state = "runner" if self._runner else ("on" if self._profiler is not None else "off")
        return f"<linewise.profile ({state})>"


profile = Profile()

def _auto_enable():
    from . import _lineage

    # LINE_PROFILE=1 is line_profiler's switch for the same thing. A child process that
    # follows its parent ($LINEWISE_CHILDREN: linewise._follow) collects for the parent.
    if os.environ.get("LINEWISE_CHILDREN"):
        return
    if (any(os.environ.get(name, "").strip().lower() in _TRUE
            for name in ("LINEWISE", "LINE_PROFILE"))
            and not _lineage.spawned_by_runner):
        profile.enable()


_auto_enable()
