"""The `linewise` command: run a program under the profiler, view, merge and compare
results.

    linewise run [options] (script.py | -m module | -c code | -) [args...]
    linewise view [options] FILE [FILE...]
    linewise merge [-f] OUT FILE [FILE...]
    linewise diff [options] BEFORE AFTER

Exit status: `run` exits with the program's status (1 for an uncaught exception, 130 when
interrupted with Ctrl-C); 2 for a usage error (bad option, missing script or module, bad
-p target, output directory missing or read-only, bad config); 1 for other errors (a syntax
error in the program, unreadable results files, results that could not be written).
"""
from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys

from .units import parse_unit

__all__ = ["main", "print_report"]

PROG = "linewise"

USAGE = f"""\
usage: {PROG} [--version] [--traceback] COMMAND [ARGS...]

Line-by-line profiling for Python programs.

commands:
  run     run a program under the profiler; save, and optionally show, the results
            {PROG} run [options] (script.py | -m module | -c code | -) [args...]
  view    print the report of saved results (several files are summed)
            {PROG} view [options] FILE [FILE...]
  merge   sum saved results into one file
            {PROG} merge [-f] OUT FILE [FILE...]
  diff    compare two saved results line by line: where the time went
            {PROG} diff [options] BEFORE AFTER

Run '{PROG} COMMAND --help' for the options of a command.

Exit status: run exits with the program's status (130 after Ctrl-C); 2 means a usage
error; 1 any other error (such as unreadable results files).
"""


class UsageError(Exception):
    """Bad command line or settings: one line on stderr, exit status 2."""

    status = 2


class CommandError(Exception):
    """Something the command could not do: one line on stderr, exit status 1."""

    status = 1


class _Exit(Exception):
    """Ends the command with this status (--help, --version)."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse, but errors become one-line UsageErrors and --help does not exit."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def exit(self, status=0, message=None):
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


# -- entry point -------------------------------------------------------------------------


def main(argv=None) -> int:
    """Runs the `linewise` command with `argv` (default: sys.argv[1:]); returns the exit
    status (the console script passes it to sys.exit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    state = {"command": PROG, "traceback": False}
    try:
        return _main(argv, state)
    except _Exit as exc:
        return exc.status
    except (UsageError, CommandError) as exc:
        if state["traceback"]:
            import traceback

            traceback.print_exc()
        _flush()
        print(f"{state['command']}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        _flush()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except Exception as exc:
        if state["traceback"]:
            import traceback

            traceback.print_exc()
            hint = ""
        else:
            hint = " (run again with --traceback for details)"
        _flush()
        print(f"{state['command']}: internal error: {type(exc).__name__}: {exc}{hint}",
              file=sys.stderr)
        return 1


def _main(argv, state) -> int:
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        arg = argv[i]
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if arg == "--version":
            from . import __version__

            print(f"{PROG} {__version__}")
            return 0
        if arg == "--traceback":
            state["traceback"] = True
            i += 1
            continue
        raise UsageError(f"unknown option {arg!r} before the command (to profile a "
                         f"script: {PROG} run [options] script.py)")
    if i == len(argv):
        raise UsageError(f"no command given: run, view, merge or diff (see '{PROG} --help')")
    command, rest = argv[i], argv[i + 1:]
    if command not in _COMMANDS:
        hint = ""
        if command.endswith((".py", ".pyw")) or os.path.isfile(command):
            hint = f"; to profile a script: {PROG} run {shlex.quote(command)}"
        raise UsageError(f"unknown command {command!r} (commands: run, view, merge, diff){hint}")
    state["command"] = f"{PROG} {command}"
    return _COMMANDS[command](rest, state)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _silence_stdout():
    """After a broken pipe (`linewise view x.lw | head`): no more writes to stdout."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _parse(parser, tokens, state):
    opts = parser.parse_args(tokens)
    if getattr(opts, "traceback", None):
        state["traceback"] = True
    return opts


# -- settings: flags over config over defaults -------------------------------------------


def _load_config(opts):
    """The Config the flags point to (--config, --no-config, else the nearest one)."""
    from .config import Config, ConfigError, find_config, load_config

    if opts.no_config:
        return Config()
    try:
        if opts.config is not None:
            if not os.path.isfile(opts.config):
                raise UsageError(f"--config {opts.config}: no such file")
            return load_config(opts.config)
        path = find_config()
        return load_config(path) if path else Config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


class _Settings:
    """The value of each option: the flag if given, else the config file's, else the
    default. `config` is the Config used."""

    def __init__(self, opts, config):
        self.opts = opts
        self.config = config

    def get(self, name, default=None):
        value = getattr(self.opts, name.replace("-", "_"), None)
        if value is not None:
            return value
        return self.config.get(name, default)

    def flag(self, name) -> bool:
        return bool(self.get(name, False))

    def from_config(self, name) -> bool:
        return getattr(self.opts, name.replace("-", "_"), None) is None and name in self.config.values

    def path(self, name):
        """A path setting: a flag's is relative to the current directory, a config file's
        to the file's directory."""
        value = self.get(name)
        if value is not None and self.from_config(name) and value != "-":
            value = os.path.join(self.config.directory, value)
        return value

    def unit(self):
        value = self.get("unit")
        if value is None:
            return None
        try:
            return parse_unit(value)
        except ValueError as exc:
            where = f"{self.config.path}: unit" if self.from_config("unit") else "-u/--unit"
            raise UsageError(f"{where}: {exc}") from None

    def top(self):
        value = self.get("top")
        if value is not None and value < 1:
            where = f"{self.config.path}: top" if self.from_config("top") else "--top"
            raise UsageError(f"{where}: must be a positive number of functions, not {value}")
        return value


def _int_at_least(minimum):
    """An argparse type: a whole number >= minimum."""
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    return convert


_positive_int = _int_at_least(1)


def _add_common(parser, config=True):
    if config:
        parser.add_argument("--config", metavar="FILE",
                            help="read settings from FILE instead of the nearest "
                                 "linewise.toml or pyproject.toml [tool.linewise]")
        parser.add_argument("--no-config", action="store_true",
                            help="ignore configuration files")
    parser.add_argument("--traceback", action="store_true", default=None,
                        help="show a traceback for linewise's own errors")


def _add_report_options(parser):
    parser.add_argument("-u", "--unit", metavar="UNIT",
                        help="time unit of the report: seconds (1e-3) or s, ms, us, ns "
                             "(default: the timer's)")
    parser.add_argument("-z", "--skip-zero", action=argparse.BooleanOptionalAction,
                        help="leave out functions that never ran")
    parser.add_argument("--summary", action=argparse.BooleanOptionalAction,
                        help="also print a summary, one line per function")
    parser.add_argument("--sort", action=argparse.BooleanOptionalAction,
                        help="order functions by total time, the longest last")
    parser.add_argument("--top", metavar="N", type=_positive_int,
                        help="only the N functions with the most time")
    _add_color_option(parser)


def _add_source_option(parser):
    parser.add_argument("--source-from-disk", action="store_true",
                        help="show source the results do not hold by reading it from the "
                             "files they name (off by default: a results file can name "
                             "any file; regular files of at most 16 MiB only, never "
                             "/proc, /sys or /dev)")


def _add_color_option(parser):
    parser.add_argument("--color", metavar="WHEN", choices=("auto", "always", "never"),
                        help="colour the report: auto (the default: on a terminal, unless "
                             "NO_COLOR is set), always or never")


def _top_functions(timings, top):
    """`timings` with only the `top` functions with the most time (all if top is None)."""
    if top is not None and len(timings) > top:
        hottest = sorted(timings, key=lambda key: sum(t for _, _, t in timings[key]),
                         reverse=True)[:top]
        chosen = set(hottest)
        timings = {key: lines for key, lines in timings.items() if key in chosen}
    return timings


def print_report(stats, stream, unit=None, skip_zero=False, summary=False, sort=False,
                 top=None, color=False, from_disk=None) -> None:
    """Prints the line-by-line report of `stats` (a LineStats) to `stream`; color: with
    ANSI colours (see linewise.color); from_disk: read the sources the results lack from
    their files (default: unless the results were loaded from a file)."""
    from .color import TerminalPainter
    from .profiler import show_text

    if from_disk is None:
        from_disk = not getattr(stats, "sources_complete", False)
    timings = _top_functions(stats.timings, top)
    show_text(timings, stats.unit, output_unit=unit, stream=stream, stripzeros=skip_zero,
              summarize=summary, sort=sort, sources=stats.sources or None,
              painter=TerminalPainter() if color else None, from_disk=from_disk)


# -- run ---------------------------------------------------------------------------------

RUN_DESCRIPTION = """\
Runs a Python program under the line profiler, as `python` would run it (as __main__, with
its own sys.argv, sys.path[0] and __file__), then saves the results (-o) and, with -v,
prints the report. Functions to profile are chosen with @profile in the program (put in
builtins, kernprof's convention; `from linewise import profile` works too) or with -p."""

RUN_EPILOG = """\
Options after the program name belong to the program. Settings can also come from
[tool.linewise] in the nearest pyproject.toml (or linewise.toml): output, view, quiet,
unit, skip-zero, summary, sort, top, prof-mod, prof-imports, setup; flags win.

Exit status: the program's (1 for an uncaught exception, 130 after Ctrl-C); 2 for a usage
error; 1 for a syntax error in the program or results that could not be written."""


def _run_parser():
    parser = _Parser(
        prog=f"{PROG} run", allow_abbrev=False, description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=f"{PROG} run [options] (script.py | -m module | -c code | -) [args...]")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to save the results (default: <script name>.lw in the "
                             "current directory, like prog.py.lw; '-' to not save them)")
    parser.add_argument("-v", "--view", action=argparse.BooleanOptionalAction,
                        help="print the report when the program ends")
    parser.add_argument("-q", "--quiet", action=argparse.BooleanOptionalAction,
                        help="no messages from linewise except warnings and errors")
    _add_report_options(parser)
    parser.add_argument("-p", "--prof-mod", metavar="TARGET", action="append",
                        help="profile every function in TARGET, without editing it: a file, "
                             "a directory, a module, a package, module.function or "
                             "module.Class (repeatable)")
    parser.add_argument("--prof-imports", action=argparse.BooleanOptionalAction,
                        help="also profile the modules the program imports directly "
                             "(except the standard library's)")
    parser.add_argument("-s", "--setup", metavar="CODE",
                        help="Python code (or a .py file) to run first, not profiled")
    _add_common(parser)
    # kernprof's flags, accepted so old command lines keep working: -l (line by line) is
    # what linewise always does, -b (profile in builtins) too.
    parser.add_argument("-l", "--line-by-line", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-b", "--builtin", action="store_true", help=argparse.SUPPRESS)
    # The options that take a value, to find where the program's own arguments begin.
    takes_value = {"-o", "--output", "-u", "--unit", "--top", "-p", "--prof-mod", "-s",
                   "--setup", "--config", "--color"}
    return parser, takes_value


def split_run_argv(tokens, takes_value):
    """Splits `linewise run`'s arguments into linewise's options and the program:
    returns (options, (kind, target, args)) with kind "script", "module", "code" or
    "stdin", or (options, None) if no program is named. As with `python`, -m and -c end
    linewise's options; so does the script name, "-" and "--"."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            if i + 1 >= len(tokens):
                return tokens[:i], None
            return tokens[:i], _program_token(tokens[i + 1], tokens[i + 2:])
        if token == "-" or not token.startswith("-"):
            return tokens[:i], _program_token(token, tokens[i + 1:])
        if token.startswith("--"):
            i += 2 if token in takes_value else 1
            continue
        # A cluster of short options, like -vz or -ofile or -vm module.
        for j in range(1, len(token)):
            option = "-" + token[j]
            if option in ("-m", "-c"):
                kind = "module" if option == "-m" else "code"
                before = tokens[:i] + ([token[:j]] if j > 1 else [])
                if j + 1 < len(token):
                    return before, (kind, token[j + 1:], tokens[i + 1:])
                if i + 1 >= len(tokens):
                    what = "a module name" if kind == "module" else "code to run"
                    raise UsageError(f"{option} needs {what}")
                return before, (kind, tokens[i + 1], tokens[i + 2:])
            if option in takes_value:
                i += 1 if j + 1 < len(token) else 2
                break
        else:
            i += 1
    return tokens, None


def _program_token(token, args):
    return ("stdin", None, args) if token == "-" else ("script", token, args)


def cmd_run(tokens, state) -> int:
    parser, takes_value = _run_parser()
    options, program = split_run_argv(tokens, takes_value)
    opts = _parse(parser, options, state)
    if program is None:
        raise UsageError("no program to run: give a script, -m module, -c code or - (stdin) "
                         f"(see '{PROG} run --help')")
    config = _load_config(opts)
    settings = _Settings(opts, config)
    if settings.flag("traceback"):
        state["traceback"] = True
    if not settings.flag("quiet"):
        for warning in config.warnings:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
    return _Runner(program, settings, [PROG, "run", *tokens]).run()


class _Runner:
    """Runs one program as `python` would, under a LineProfiler; then saves and reports.

    The program gets a fresh ``__main__`` module (put in sys.modules, so pickling and
    ``if __name__ == "__main__"`` work), its own sys.argv and sys.path[0]; these are not
    restored afterwards, as the process ends with the program (atexit handlers and
    daemon threads still see the program's world).
    """

    def __init__(self, program, settings, argv):
        self.kind, self.target, self.args = program
        self.settings = settings
        self.command = argv
        self.code = None  # the program's code object
        self.file = None  # its file (absolute), None for -c
        self.source = None  # its source, for --prof-imports
        self.argv0 = None
        self.path0 = None
        self.spec = None  # -m, or a directory's __main__.py
        self.module_name = None  # -m: the module's own name
        self.output_path = None  # where results go, absolute
        self.streams = {}  # "stdout"/"stderr" -> a duplicate of the fd, for after the run

    def run(self) -> int:
        settings = self.settings
        unit, top = settings.unit(), settings.top()
        output = self._output_path()
        if output is not None:
            check_writable(output)
            self.output_path = os.path.abspath(output)
        setup = self._setup_code()
        self._prepare()
        if (self.output_path and self.file and os.path.isfile(self.file)
                and os.path.exists(self.output_path)
                and os.path.samefile(self.output_path, self.file)):
            raise UsageError(f"-o {output}: that is the program itself; results would "
                             "overwrite it")
        # From here on the process is the program's: its argv, its sys.path[0] (which
        # was linewise's: the console script's directory, or the current one for -m).
        sys.argv = [self.argv0, *self.args]
        if not getattr(sys.flags, "safe_path", False):  # python -P adds no directory
            sys.path[:1] = [self.path0]

        from .autoprofile import AutoProfile, TargetError, resolve_target
        from .profiler import LineProfiler

        profiler = LineProfiler()
        auto = AutoProfile(profiler)
        base = settings.config.directory if settings.from_config("prof-mod") else None
        for text in settings.get("prof-mod") or ():
            try:
                auto.add(resolve_target(text, base_dir=base))
            except TargetError as exc:
                raise UsageError(str(exc)) from None
        if auto:
            auto.install()
        if self.kind == "module":
            self._locate_module()
            sys.argv[0] = self.argv0
        if settings.flag("prof-imports"):
            self._add_imports(auto)
        if auto:
            auto.install()  # again: targets added, modules imported while locating -m
            auto.register_main(self.code, self.module_name, self.file)

        module = self._main_module()
        sys.modules["__main__"] = module
        self._keep_output_streams()
        import builtins

        from .explicit import profile

        profile._attach_runner(profiler)
        builtins.profile = profile

        if setup is not None:
            status = self._run_setup(setup, module.__dict__)
            if status is not None:
                return status
        from ._children import claim_output, patch_multiprocessing
        from ._signals import Guard

        if self.output_path is not None:
            claim_output(self.output_path)  # LINEWISE=1 children must not write there
        patch_multiprocessing()  # spawn children see the builtin profile

        def on_signal(signum):
            profiler.disable_by_count()
            self._finish(profiler, auto, 0, False, output, unit, top, signum=signum)

        guard = Guard(on_signal)
        guard.install()
        status, interrupted = self._execute(profiler, module.__dict__)
        if not guard.owner:  # a forked child returning: the results are the parent's
            return status
        with guard.finishing():
            return self._finish(profiler, auto, status, interrupted, output, unit, top)

    # -- before: the program, its options ----------------------------------------------

    def _output_path(self):
        output = self.settings.path("output")
        if output is None:
            if self.kind == "script":
                output = os.path.basename(os.path.normpath(self.target)) + ".lw"
            elif self.kind == "module":
                output = self.target + ".lw"
            else:
                output = "command.lw" if self.kind == "code" else "stdin.lw"
        return None if output == "-" else output

    def _setup_code(self):
        setup = self.settings.get("setup")
        if setup is None:
            return None
        path = self.settings.path("setup")
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
            raise UsageError(f"--setup: {_syntax_message(exc, filename, path)}") from None

    def _prepare(self):
        """Reads and compiles a script, a directory's __main__.py, -c code or stdin; for
        -m, only what is known before the module is looked for (see _locate_module)."""
        if self.kind == "module":
            self.argv0, self.path0 = "-m", os.getcwd()  # as `python -m` has them meanwhile
            return
        if self.kind == "script":
            path = self.target
            if not os.path.exists(path):
                raise UsageError(f"can't open file {path!r}: no such file or directory")
            if os.path.isdir(path):
                main = os.path.join(path, "__main__.py")
                if not os.path.isfile(main):
                    raise UsageError(f"{path!r} is a directory, not a script (it has no "
                                     "__main__.py)")
                self.file = os.path.abspath(main)
                self.path0 = os.path.abspath(path)
                import importlib.util

                self.spec = importlib.util.spec_from_file_location("__main__", self.file)
            else:
                self.file = os.path.abspath(path)
                self.path0 = os.path.dirname(os.path.realpath(path))
            try:
                with open(self.file, "rb") as f:
                    source = f.read()
            except OSError as exc:
                raise UsageError(f"can't open file {path!r}: {exc.strerror}") from None
            self.argv0 = path
            self.code = self._compile(source, self.file, display=path if self.spec is None
                                      else os.path.join(path, "__main__.py"))
        else:
            if self.kind == "code":
                source, self.file, self.argv0 = self.target, "<string>", "-c"
            else:
                source = sys.stdin.buffer.read()
                self.file, self.argv0 = "<stdin>", "-"
            self.path0 = ""
            self.code = self._compile(source, self.file)
            _remember_source(self.file, source)
        self.source = source

    def _compile(self, source, filename, display=None):
        try:
            return compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            raise CommandError(_syntax_message(exc, filename, display)) from None

    def _locate_module(self):
        """-m: finds the module (a package's __main__), as `python -m` does: this imports
        its parent packages. Sets code, file, spec, argv0."""
        name = self.target
        if not all(part.isidentifier() for part in name.split(".")):
            hint = ""
            if os.path.isfile(name):
                hint = f" (to run a file: {PROG} run {shlex.quote(name)})"
            raise UsageError(f"no module named {name!r}{hint}")
        spec = self._find_spec(name)
        if spec is None:
            raise UsageError(f"no module named {name!r}")
        if spec.submodule_search_locations is not None:
            main_name = name + ".__main__"
            spec = self._find_spec(main_name)
            if spec is None:
                raise UsageError(f"no module named {main_name!r}: {name!r} is a package "
                                 "and cannot be run directly")
        try:
            code = spec.loader.get_code(spec.name)
        except SyntaxError as exc:
            raise CommandError(_syntax_message(exc)) from None
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"cannot run module {name!r}: {exc}") from None
        if code is None:
            raise UsageError(f"module {name!r} has no Python code to run")
        self.code, self.spec, self.module_name = code, spec, spec.name
        self.file = spec.origin
        self.argv0 = spec.origin
        if self.settings.flag("prof-imports"):
            try:
                self.source = spec.loader.get_source(spec.name)
            except (ImportError, AttributeError):
                self.source = None

    @staticmethod
    def _find_spec(name):
        import importlib.util

        try:
            return importlib.util.find_spec(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                return None
            raise CommandError(f"error while finding module {name!r}: "
                               f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise CommandError(f"error while finding module {name!r}: "
                               f"{type(exc).__name__}: {exc}") from None

    def _add_imports(self, auto):
        """--prof-imports: the modules the program's source imports, but the standard
        library's (and ones that cannot be found: they may be optional)."""
        import ast

        from .autoprofile import TargetError, imported_modules, resolve_target

        if self.source is None:
            return
        try:
            tree = ast.parse(self.source)
        except (SyntaxError, ValueError):
            return
        package = self.spec.parent if self.kind == "module" and self.spec else None
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

    def _main_module(self):
        import builtins
        import importlib.machinery
        import types

        module = types.ModuleType("__main__")
        namespace = module.__dict__
        namespace["__builtins__"] = builtins
        if self.kind == "script":
            namespace["__file__"] = self.file
            if self.spec is not None:  # a directory with __main__.py
                namespace.update(__package__="", __spec__=self.spec,
                                 __loader__=self.spec.loader, __cached__=self.spec.cached)
            else:
                namespace.update(__cached__=None, __loader__=importlib.machinery.
                                 SourceFileLoader("__main__", self.file))
        elif self.kind == "module":
            namespace.update(__file__=self.file, __package__=self.spec.parent,
                             __spec__=self.spec, __loader__=self.spec.loader,
                             __cached__=self.spec.cached)
        else:
            namespace["__loader__"] = importlib.machinery.BuiltinImporter
            if self.kind == "stdin":
                namespace.update(__file__="<stdin>", __cached__=None)
        return module

    # -- during ------------------------------------------------------------------------

    def _run_setup(self, code, namespace):
        """Runs --setup code, unprofiled; returns None, or the exit status if it failed."""
        try:
            exec(code, namespace)
        except SystemExit as exc:
            return _exit_status(exc)
        except KeyboardInterrupt:
            _flush()
            print(f"{PROG}: interrupted during --setup; the program was not run",
                  file=sys.stderr)
            return 130
        except BaseException as exc:
            _print_program_exception(exc)
            print(f"{PROG}: --setup failed; the program was not run", file=sys.stderr)
            return 1
        return None

    def _execute(self, profiler, namespace):
        """Runs the program with profiling on; returns (exit status, interrupted)."""
        status, interrupted = 0, False
        profiler.enable_by_count()
        try:
            try:
                exec(self.code, namespace)
            except SystemExit as exc:
                status = _exit_status(exc)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: B036 - the program's, reported as Python would
                _print_program_exception(exc)
                status = 1
        except KeyboardInterrupt:
            status, interrupted = 130, True
        finally:
            profiler.disable_by_count()
        return status, interrupted

    # -- after -------------------------------------------------------------------------

    def _keep_output_streams(self):
        """Keeps our own copy of stdout and stderr: the program may close them (json.tool
        closes sys.stdout) and the report and messages must still get out."""
        for name in ("stdout", "stderr"):
            try:
                self.streams[name] = os.dup(getattr(sys, name).fileno())
            except (AttributeError, OSError, ValueError):
                pass

    def _stream(self, name):
        """sys.stdout or sys.stderr, or our copy of it if the program closed it."""
        stream = getattr(sys, name)
        if stream is not None and not getattr(stream, "closed", False):
            return stream
        fd = self.streams.get(name)
        if fd is None:
            return open(os.devnull, "w")
        encoding = getattr(stream, "encoding", None) or "utf-8"
        return open(fd, "w", closefd=False, encoding=encoding, errors="backslashreplace")

    def _finish(self, profiler, auto, status, interrupted, output, unit, top,
                signum=None) -> int:
        """Saves and reports; signum: the signal ending the process (see _signals)."""
        settings = self.settings
        quiet = settings.flag("quiet")
        _flush()
        stats = profiler.get_stats()
        stats.meta["command"] = shlex.join(self.command)
        if self.kind in ("code", "stdin"):
            _add_sources(stats, profiler, self.code)
        messages = []
        if not stats.timings:
            messages.append(self._nothing_profiled(auto))
        else:
            if output is not None:
                try:
                    # Absolute: the program may have changed the current directory.
                    _without_sigint(save_results, stats, self.output_path)
                except CommandError as exc:
                    messages.append(f"{PROG} run: error: {exc}")
                    status = status or 1
                else:
                    if not quiet:
                        shown = shown_path(self.output_path)
                        messages.append(f"{PROG}: results saved to {shown} (view them "
                                        f"with: {PROG} view {shlex.quote(shown)})")
            elif not settings.flag("view") and not quiet:
                messages.append(f"{PROG}: results neither saved (-o -) nor shown (-v)")
            if settings.flag("view"):
                try:
                    from .color import use_color

                    stdout = self._stream("stdout")
                    print_report(stats, stdout, unit=unit,
                                 skip_zero=settings.flag("skip-zero"),
                                 summary=settings.flag("summary"),
                                 sort=settings.flag("sort"), top=top,
                                 color=use_color(stdout, settings.get("color")))
                    stdout.flush()
                except BrokenPipeError:
                    _silence_stdout()
                except KeyboardInterrupt:
                    interrupted = True
                    status = 130
        if interrupted:
            messages.append(f"{PROG}: interrupted, results are partial")
        if signum is not None:
            from ._signals import signal_name

            messages.append(f"{PROG}: terminated by {signal_name(signum)}, results are "
                            "partial")
        _flush()
        stderr = self._stream("stderr")
        for message in messages:
            print(message, file=stderr)
        stderr.flush()
        return status

    def _nothing_profiled(self, auto):
        if auto.targets:
            names = ", ".join(t.text for t in auto.targets)
            return (f"{PROG}: no function was profiled: nothing the program ran came from "
                    f"the -p targets ({names}), and no function was marked with @profile")
        example = {"script": self.target, "module": self.target}.get(self.kind, "mymodule")
        return (f"{PROG}: no function was profiled: mark functions with @profile in the "
                f"program, or name what to profile with -p (for example: {PROG} run -p "
                f"{shlex.quote(str(example))} ...)")


def _exit_status(exc: SystemExit) -> int:
    """The exit status `python` would give for this SystemExit."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _flush()
    print(code, file=sys.stderr)
    return 1


def _print_program_exception(exc):
    """Prints an exception of the program as Python would (through sys.excepthook),
    without the runner's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    exc.__traceback__ = tb  # the default hook prints the exception's own traceback
    _flush()
    sys.excepthook(type(exc), exc, tb)
    _flush()


def _syntax_message(exc, filename=None, display=None) -> str:
    """One line for a SyntaxError (or ValueError from compile): file:line: message."""
    if isinstance(exc, SyntaxError):
        where = exc.filename or filename or "<unknown>"
        if display and where == filename:
            where = display
        if exc.lineno:
            where += f":{exc.lineno}"
        return f"{where}: {type(exc).__name__}: {exc.msg}"
    return f"{display or filename}: {exc}"


def _remember_source(filename, source):
    """Puts -c and stdin code in linecache, so tracebacks and the report can show it."""
    import linecache

    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)


def _add_sources(stats, profiler, program):
    """Gives the functions of -c or stdin code their source: there is no file to read it
    from when the report is printed (or viewed later). Only code compiled as part of the
    `program` code object gets it: a function the program made with exec() shares its
    filename (``<string>``) but not its source."""
    import inspect
    import linecache

    own = set()
    todo = [program]
    while todo:
        code = todo.pop()
        own.add(id(code))
        todo.extend(c for c in code.co_consts if isinstance(c, type(program)))
    filename = program.co_filename
    lines = linecache.getlines(filename)
    for code in profiler.code_map:
        key = profiler.key_for(code)
        if key not in stats.timings or key in stats.sources:
            continue
        if id(code) in own and 0 < key[1] <= len(lines):
            try:
                stats.sources[key] = inspect.getblock(lines[key[1] - 1:])
            except Exception:  # a tokenizer error: the tail of the file will do
                stats.sources[key] = lines[key[1] - 1:]
    # From here on the report reads only what was given: the program's lines in
    # linecache would be shown for exec'd code that has the same filename.
    linecache.cache.pop(filename, None)


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


# -- view and merge ----------------------------------------------------------------------


def _load_results(paths):
    """Loads and sums the results files; raises CommandError naming the bad one."""
    from .results import ResultsError
    from .store import load_stats

    import stat

    total = None
    for path in paths:
        if os.path.isdir(path):
            raise CommandError(f"cannot read {path}: it is a directory")
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None  # load_stats says what is wrong
        if mode is not None and not stat.S_ISREG(mode):  # a FIFO would block, /dev/zero
            raise CommandError(f"cannot read {path}: not a regular file")
        try:
            stats = load_stats(path)
        except FileNotFoundError:
            raise CommandError(f"cannot read {path}: no such file") from None
        except (ResultsError, OSError) as exc:
            raise CommandError(str(exc) if path in str(exc) else f"{path}: {exc}") from None
        try:
            total = stats if total is None else total + stats
        except ResultsError as exc:
            raise CommandError(f"{path}: {exc}") from None
    return total


def cmd_view(tokens, state) -> int:
    parser = _Parser(prog=f"{PROG} view", allow_abbrev=False,
                     description="Prints the report of saved results; several files are "
                                 "summed line by line.",
                     epilog="Exit status: 0; 1 if a file cannot be read; 2 for a usage error.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="results files (.lw)")
    _add_report_options(parser)
    _add_source_option(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--html", metavar="OUT",
                        help="write the report as one self-contained HTML page to OUT")
    output.add_argument("--json", action="store_true",
                        help="print the results as JSON (its JSON Schema: "
                             f"{PROG} view --json-schema)")
    output.add_argument("--json-schema", action="store_true",
                        help="print the JSON Schema of --json's output and exit (no FILE)")
    _add_common(parser)
    opts = _parse(parser, tokens, state)
    if opts.json_schema:
        if opts.files:
            parser.error("--json-schema takes no FILE")
        return _print_json_schema()
    if not opts.files:
        parser.error("the following arguments are required: FILE")
    settings = _Settings(opts, _load_config(opts))
    if settings.flag("traceback"):
        state["traceback"] = True
    unit, top = settings.unit(), settings.top()
    if opts.html is not None:
        _check_page(opts.html)
    stats = _load_results(opts.files)
    if opts.html is not None or opts.json:
        from .results import LineStats

        timings = _top_functions(stats.timings, top)
        if settings.flag("skip-zero"):
            timings = {k: v for k, v in timings.items() if any(h for _, h, _ in v)}
        stats = LineStats(timings, stats.unit, stats.meta, stats.sources,
                          stats.sources_complete)
    from_disk = opts.source_from_disk
    try:
        if opts.json:
            from .jsonout import JSONRangeError, write_json

            try:  # the numbers are checked before anything is written
                write_json(stats, sys.stdout, sort=settings.flag("sort"), from_disk=from_disk)
            except JSONRangeError as exc:  # a time that is not finite in seconds
                raise CommandError(f"cannot write JSON: {exc}") from None
        elif opts.html is not None:
            from .html import write_report

            _write_page(write_report, opts.html, stats, label=", ".join(opts.files),
                        from_disk=from_disk)
        else:
            from .color import use_color

            print_report(stats, sys.stdout, unit=unit, skip_zero=settings.flag("skip-zero"),
                         summary=settings.flag("summary"), sort=settings.flag("sort"),
                         top=top, color=use_color(sys.stdout, opts.color),
                         from_disk=from_disk)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return 0


def _print_json_schema() -> int:
    """Prints the JSON Schema of `view --json` (shipped in the package)."""
    from importlib.resources import files

    text = files(__package__).joinpath("json-schema.json").read_text(encoding="utf-8")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return 0


def _check_page(path) -> None:
    """check_writable for an HTML page, before anything is loaded; a page that cannot be
    written fails as writing it would (exit status 1)."""
    try:
        check_writable(path, "the page")
    except UsageError as exc:
        raise CommandError(str(exc)) from None


def _write_page(write, path, *args, **kwargs):
    """Writes an HTML page with `write(..., path, ...)`; says where on stderr."""
    try:
        write(*args[:1], path, *args[1:], **kwargs)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{PROG}: wrote {path}", file=sys.stderr)


DIFF_DESCRIPTION = """\
Compares two saved results line by line: where did the time go? Functions are matched by
qualified name and file (also when they moved in the file), lines by their source text,
so added or removed lines do not shift the timings. For each line: hits and time before
and after, the change (after - before) and the ratio (after / before); per function and
in total too, the biggest changes first. Lines whose text changed show as removed (-)
and added (+)."""


_non_negative_int = _int_at_least(0)


def cmd_diff(tokens, state) -> int:
    parser = _Parser(prog=f"{PROG} diff", allow_abbrev=False, description=DIFF_DESCRIPTION,
                     epilog="Exit status: 0; 1 if a file cannot be read or written; 2 for a "
                            "usage error.",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", metavar="BEFORE", help="results file of the first run")
    parser.add_argument("after", metavar="AFTER", help="results file of the second run")
    parser.add_argument("--html", metavar="OUT",
                        help="write the comparison as one self-contained HTML page to OUT")
    parser.add_argument("-u", "--unit", metavar="UNIT",
                        help="time unit of the text: seconds (1e-3) or s, ms, us, ns "
                             "(default: one that fits the biggest time)")
    parser.add_argument("--top", metavar="N", type=_non_negative_int, default=10,
                        help="how many lines the list of biggest changes shows (default "
                             "10; 0: no list)")
    _add_color_option(parser)
    _add_source_option(parser)
    _add_common(parser, config=False)
    opts = _parse(parser, tokens, state)
    unit = None
    if opts.unit is not None:
        try:
            unit = parse_unit(opts.unit)
        except ValueError as exc:
            raise UsageError(f"-u/--unit: {exc}") from None
    from .diff import diff_stats, write_text

    if opts.html is not None:
        _check_page(opts.html)
    diff = diff_stats(_load_results([opts.before]), _load_results([opts.after]),
                      opts.before, opts.after, from_disk=opts.source_from_disk)
    if opts.html is not None:
        from .html import write_diff

        _write_page(write_diff, opts.html, diff)
        return 0
    from .color import use_color

    try:
        write_text(diff, sys.stdout, unit=unit, top=opts.top,
                   color=use_color(sys.stdout, opts.color))
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return 0


def cmd_merge(tokens, state) -> int:
    parser = _Parser(prog=f"{PROG} merge", allow_abbrev=False,
                     description="Sums saved results line by line into OUT. OUT holds the "
                                 "sources the FILEs hold; none is read from disk.",
                     epilog="Exit status: 0; 1 if a file cannot be read or written; 2 for a "
                            "usage error.")
    parser.add_argument("output", metavar="OUT", help="the results file to write")
    parser.add_argument("files", nargs="+", metavar="FILE", help="results files to sum")
    parser.add_argument("-f", "--force", action="store_true",
                        help="overwrite OUT even if it exists and is not one of the FILEs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no message when done")
    _add_common(parser, config=False)
    opts = _parse(parser, tokens, state)
    out = opts.output
    same = [f for f in opts.files if os.path.exists(f) and os.path.exists(out)
            and os.path.samefile(f, out)]
    if os.path.exists(out) and not same and not opts.force:
        raise UsageError(f"{out} exists and is not among the files merged; use -f to "
                         "overwrite it, or list it among the FILEs to add to it")
    check_writable(out)
    stats = _load_results(opts.files)
    save_results(stats, out)
    if not opts.quiet:
        print(f"{PROG}: merged {len(opts.files)} files into {out}", file=sys.stderr)
    return 0


def shown_path(path) -> str:
    """`path` as a message shows it: relative to the current directory if it is in it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith(os.pardir) else relative


def check_writable(path, what="results") -> None:
    """Raises UsageError unless `what` can be written to `path` as linewise writes files
    (``_engine.write_file``): a symlink is followed; a new or regular file is replaced
    through a temporary file, so its directory must exist and accept new files; a device
    or a FIFO is written through, so it must be writable; a directory or a socket is
    refused. Opens nothing at `path` (a FIFO would block)."""
    from . import _engine

    try:
        target, kind = _engine.output_target(path)
    except OSError as exc:
        why = "it is a directory" if exc.errno == errno.EISDIR else exc.strerror or exc
        raise UsageError(f"cannot write {what} to {path}: {why}") from None
    if kind in ("device", "fifo"):
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {what} to {path}: permission denied")
        return
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {what} to {path}: directory {directory} does not "
                         "exist")
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".linewise-", suffix=".probe", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {what} to {path}: directory {directory} is not "
                         f"writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def save_results(stats, path) -> None:
    """Writes `stats` to `path`; raises CommandError saying why it could not."""
    from .results import ResultsError
    from .store import dump_stats

    try:
        dump_stats(stats, path)
    except (OSError, ResultsError) as exc:
        raise CommandError(f"cannot write results to {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None


_COMMANDS = {"run": cmd_run, "view": cmd_view, "merge": cmd_merge, "diff": cmd_diff}
