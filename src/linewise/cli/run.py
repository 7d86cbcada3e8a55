"""`linewise run`: runs a program under the profiler, then saves and reports.

The steps, each its own piece: the settings (flags over config, checked: `_Plan`), the
program (linewise.program.describe: an immutable Program), the profiler and what it
profiles (-p targets, --prof-imports: linewise.autoprofile), running it
(linewise.program.execute, inside the signal guard of linewise._signals), then saving and
reporting (`_finish`).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys

from ..program import flush
from ..reports.text import print_report
from .common import (PROG, Command, CommandError, Settings, UsageError, check_writable,
                     load_config, save_results, silence_stdout, takes_value)
from .kernprof import Snapshots, prof_mod_targets
from .live import live_view
from .run_options import add_options, split_run_argv  # noqa: F401 (split_run_argv: tests)

DESCRIPTION = """\
Runs a Python program under the line profiler, as `python` would run it (as __main__, with
its own sys.argv, sys.path[0] and __file__), then saves the results (-o) and, with -v,
prints the report. Functions to profile are chosen with @profile in the program (put in
builtins, kernprof's convention; `from linewise import profile` works too) or with -p."""

EPILOG = """\
Options after the program name belong to the program. Settings can also come from
[tool.linewise] in the nearest pyproject.toml (or linewise.toml): output, view, quiet,
unit, skip-zero, summary, sort, top, prof-mod, prof-imports, compensate, setup,
output-interval; flags
win. Without [tool.linewise], a pyproject.toml's [tool.line_profiler.kernprof] is read
(said on stderr). kernprof's spellings work: -l, -lb (-b alone, kernprof's cProfile mode,
is refused), -p a,b, -i, --outfile, --summarize, -r/--rich, -V.

Exit status: the program's (1 for an uncaught exception, 130 after Ctrl-C); 2 for a usage
error; 1 for a syntax error in the program or results that could not be written. On a
fatal signal (SIGTERM, SIGHUP, ...) the results are saved first, then the process dies by
the same signal (128+N in a shell)."""

SYNOPSIS = f"{PROG} run [options] (script.py | -m module | -c code | -) [args...]"


class Run(Command):
    name = "run"
    summary = "run a program under the profiler; save, and optionally show, the results"
    synopsis = SYNOPSIS

    def add_parser(self, subparsers):
        parser = subparsers.add_parser(
            self.name, prog=f"{PROG} run", allow_abbrev=False, description=DESCRIPTION,
            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
            usage=SYNOPSIS)
        add_options(parser)
        self.takes_value = takes_value(parser)
        return parser

    def split(self, tokens):
        return split_run_argv(tokens, self.takes_value)

    def run(self, opts, invocation) -> int:
        if opts.version:
            from .._version import __version__

            print(f"{PROG} {__version__}")
            return 0
        if opts.builtin and not opts.line_by_line:
            raise UsageError("-b without -l is kernprof's cProfile mode (whole functions, "
                             "not lines): linewise always profiles line by line with "
                             "`profile` in builtins, so drop -b; for cProfile use python -m "
                             "cProfile")
        if opts.program is None:
            raise UsageError("no program to run: give a script, -m module, -c code or - "
                             f"(stdin) (see '{PROG} run --help')")
        config = load_config(opts)
        settings = Settings(opts, config)
        if settings.flag("traceback"):
            invocation.traceback = True
        if not settings.flag("quiet"):
            for note in config.notes:
                print(f"{PROG}: note: {note}", file=sys.stderr)
            for warning in config.warnings:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
        if settings.get("memory") == "native":
            from ..memory import ensure_native_preload

            try:
                ensure_native_preload()  # or starts this command again, with the hook
            except (RuntimeError, OSError) as exc:
                raise UsageError(str(exc)) from None
        return run_program(opts.program, settings, [PROG, "run", *invocation.tokens])


# -- settings ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Plan:
    """The run's settings, resolved and checked before the program is touched.
    output: the results path as given (None: not saved); output_path: it, absolute."""

    settings: Settings
    command: list
    unit: float | None
    top: int | None
    output: str | None
    output_path: str | None
    setup: object  # a code object, or None
    interval: float | None  # -i: seconds between snapshots, or None
    children: str | None = None  # where followed children save (linewise._gather)


def _plan(part, settings, command) -> _Plan:
    kind, target, _ = part
    unit, top = settings.unit(), settings.top()
    output = settings.path("output")
    if output is None:
        if kind == "script":
            output = os.path.basename(os.path.normpath(target)) + ".lw"
        elif kind == "module":
            output = target + ".lw"
        else:
            output = "command.lw" if kind == "code" else "stdin.lw"
    output = None if output == "-" else output
    output_path = None
    if output is not None:
        check_writable(output)
        output_path = os.path.abspath(output)
    interval = settings.get("output-interval")
    if interval is not None and settings.from_config("output-interval"):
        interval = float(interval)
        if not interval >= 1:
            raise UsageError(f"{settings.config.path}: output-interval: must be at least "
                             f"1 second, not {interval:g}")
    return _Plan(settings, command, unit, top, output, output_path, _setup_code(settings),
                 interval or None)


def _setup_code(settings):
    from ..program import syntax_message

    setup = settings.get("setup")
    if setup is None:
        return None
    path = settings.path("setup")
    if path.endswith((".py", ".pyw")) or os.path.isfile(path):
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as exc:
            raise UsageError(f"--setup: cannot read {path}: {exc.strerror}") from None
        filename = os.path.abspath(path)
    else:
        source, filename, path = setup, "<setup>", None
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise UsageError(f"--setup: {syntax_message(exc, filename, path)}") from None


# -- the run -----------------------------------------------------------------------------


def run_program(part, settings, command) -> int:
    """Runs the program part (kind, target, args) of the command line as `python` would,
    under a LineProfiler; then saves and reports. Returns the exit status."""
    from .. import program as programs

    plan = _plan(part, settings, command)
    live = live_view(settings.opts, plan.output_path, part)  # checked before the program runs
    program = programs.describe(*part)
    if (plan.output_path and program.file and os.path.isfile(program.file)
            and os.path.exists(plan.output_path)
            and os.path.samefile(plan.output_path, program.file)):
        raise UsageError(f"-o {plan.output}: that is the program itself; results would "
                         "overwrite it")
    # From here on the process is the program's.
    programs.enter(program)
    profiler, auto = _profiler_for(settings)
    if program.kind == "module":
        program = programs.locate_module(program, want_source=settings.flag("prof-imports"))
        sys.argv[0] = program.argv0
    if settings.flag("prof-imports"):
        _add_imports(auto, program)
    if auto:
        auto.install()  # again: targets added, modules imported while locating -m
        auto.register_main(program.code, program.module_name, program.file)

    module = programs.main_module(program)
    sys.modules["__main__"] = module
    streams = _Streams()
    import builtins

    from ..explicit import profile

    profile.attach_runner(profiler)
    builtins.profile = profile

    if plan.setup is not None:
        status = programs.run_setup(plan.setup, module.__dict__)
        if status is not None:
            return status
    from .._children import patch_multiprocessing
    from .._lineage import claim_output
    from .._signals import Guard

    if plan.output_path is not None:
        claim_output(plan.output_path)  # LINEWISE=1 children must not write there
    patch_multiprocessing()  # spawn children see the builtin profile
    from .._gather import follow_children

    plan = dataclasses.replace(plan, children=follow_children(
        profiler, plan.output_path, auto.targets, on=settings.get("children", True)))

    snapshots = Snapshots(plan.interval, plan.output_path, plan.command, profiler)

    def on_signal(signum):
        profiler.disable_by_count()
        snapshots.stop()
        live.stop()
        _finish(plan, program, profiler, auto, streams, 0, False, signum=signum)

    guard = Guard(on_signal)
    guard.install()
    snapshots.start()
    live.start(profiler)
    status, interrupted = programs.execute(program, module.__dict__, profiler)
    if not guard.owner:  # a forked child returning: the results are the parent's
        return status
    snapshots.stop()
    live.stop()
    with guard.finishing():
        return _finish(plan, program, profiler, auto, streams, status, interrupted)



def _profiler_for(settings):
    """The LineProfiler and its AutoProfile with the -p targets (installed if any)."""
    from ..autoprofile import AutoProfile, TargetError, resolve_target
    from ..profiler import LineProfiler

    profiler = LineProfiler(memory=settings.get("memory"),
                            compensate=settings.flag("compensate"))
    auto = AutoProfile(profiler)
    base = settings.config.directory if settings.from_config("prof-mod") else None
    for text in prof_mod_targets(settings.get("prof-mod") or (), base):
        try:
            auto.add(resolve_target(text, base_dir=base))
        except TargetError as exc:
            raise UsageError(str(exc)) from None
    if auto:
        auto.install()
    return profiler, auto


def _add_imports(auto, program):
    """--prof-imports: the modules the program's source imports, but the standard
    library's (and ones that cannot be found: they may be optional)."""
    import ast

    from ..autoprofile import TargetError, imported_modules, resolve_target

    if program.source is None:
        return
    try:
        tree = ast.parse(program.source)
    except (SyntaxError, ValueError):
        return
    package = program.spec.parent if program.kind == "module" and program.spec else None
    for name in imported_modules(tree, package):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in ("linewise", "__future__"):
            continue
        try:
            target = resolve_target(name, whole_package=False)
        except TargetError:
            continue
        if target.kind == "module":
            auto.add(target)


# -- after: save and report --------------------------------------------------------------


class _Streams:
    """Our own copy of stdout and stderr, kept before the program runs: it may close them
    (json.tool closes sys.stdout) and the report and messages must still get out."""

    def __init__(self):
        self.fds = {}
        for name in ("stdout", "stderr"):
            try:
                self.fds[name] = os.dup(getattr(sys, name).fileno())
            except (AttributeError, OSError, ValueError):
                pass

    def get(self, name):
        """sys.stdout or sys.stderr, or our copy of it if the program closed it."""
        stream = getattr(sys, name)
        if stream is not None and not getattr(stream, "closed", False):
            return stream
        fd = self.fds.get(name)
        if fd is None:
            return open(os.devnull, "w")
        encoding = getattr(stream, "encoding", None) or "utf-8"
        return open(fd, "w", closefd=False, encoding=encoding, errors="backslashreplace")


def _finish(plan, program, profiler, auto, streams, status, interrupted, signum=None) -> int:
    """Saves and reports; signum: the signal ending the process (see _signals)."""
    from ..paths import shown_path
    from ..program import add_sources

    settings = plan.settings
    quiet = settings.flag("quiet")
    flush()
    stats = profiler.get_stats()
    stats.meta["command"] = shlex.join(plan.command)
    messages = []
    if plan.children is not None:
        from .._gather import finish

        stats, message = finish(stats, plan.children, plan.output_path, signum)
        messages += [message] if message else []
    if program.kind in ("code", "stdin"):
        add_sources(stats, profiler, program.code)
    if not stats.timings:
        messages.append(_nothing_profiled(auto, program))
    else:
        if plan.output is not None:
            try:
                # Absolute: the program may have changed the current directory.
                _without_sigint(save_results, stats, plan.output_path)
            except CommandError as exc:
                messages.append(f"{PROG} run: error: {exc}")
                status = status or 1
            else:
                if not quiet:
                    shown = shown_path(plan.output_path)
                    messages.append(f"{PROG}: results saved to {shown} (view them "
                                    f"with: {PROG} view {shlex.quote(shown)})")
        elif not settings.flag("view") and not quiet:
            messages.append(f"{PROG}: results neither saved (-o -) nor shown (-v)")
        if settings.flag("view"):
            try:
                from ..reports.color import TerminalPainter, use_color

                stdout = streams.get("stdout")
                print_report(stats, stdout, unit=plan.unit,
                             skip_zero=settings.get("skip-zero"),  # None: auto
                             summary=settings.flag("summary"),
                             sort=settings.flag("sort"), top=plan.top,
                             painter=TerminalPainter() if use_color(
                                 stdout, settings.get("color")) else None)
                stdout.flush()
            except BrokenPipeError:
                silence_stdout()
            except KeyboardInterrupt:
                interrupted = True
                status = 130
    if interrupted:
        messages.append(f"{PROG}: interrupted, results are partial")
    if signum is not None:
        from .._signals import signal_name

        messages.append(f"{PROG}: terminated by {signal_name(signum)}, results are "
                        "partial")
    flush()
    stderr = streams.get("stderr")
    for message in messages:
        print(message, file=stderr)
    stderr.flush()
    return status


def _nothing_profiled(auto, program):
    if auto.targets and _pytest_xdist(program):
        names = " ".join(f"--linewise {shlex.quote(t.text)}" for t in auto.targets)
        return (f"{PROG}: no function was profiled here: pytest -n ran the tests in "
                f"pytest-xdist worker processes; profile them with the pytest plugin: "
                f"pytest {names} {shlex.join(program.args)}")
    if auto.targets:
        names = ", ".join(t.text for t in auto.targets)
        return (f"{PROG}: no function was profiled: nothing the program ran came from "
                f"the -p targets ({names}), and no function was marked with @profile")
    example = {"script": program.target, "module": program.target}.get(program.kind,
                                                                        "mymodule")
    return (f"{PROG}: no function was profiled: mark functions with @profile in the "
            f"program, or name what to profile with -p (for example: {PROG} run -p "
            f"{shlex.quote(str(example))} ...)")


def _pytest_xdist(program) -> bool:
    """True for `-m pytest` with -n/--numprocesses (not 0): xdist runs tests elsewhere."""
    if program.kind != "module" or program.target not in ("pytest", "py.test"):
        return False
    args = list(program.args)
    for i, arg in enumerate(args):
        if arg in ("-n", "--numprocesses") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--numprocesses="):
            value = arg.partition("=")[2]
        elif arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--"):
            value = arg[2:]
        else:
            continue
        return value.strip() not in ("0", "")
    return False


def _without_sigint(func, *args):
    """Calls func with Ctrl-C held off (saving results must not be cut half-way)."""
    import signal

    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        return func(*args)
    try:
        return func(*args)
    finally:
        signal.signal(signal.SIGINT, previous)
