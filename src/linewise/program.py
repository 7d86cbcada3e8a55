"""Running a program as `python` would: a script, a directory or zip with __main__.py,
``-m module``, ``-c code`` or ``-`` (stdin).

`describe` turns the program part of a command line into a `Program`, an immutable
description of what will run, reading and compiling it (and saying what is wrong, in one
line, if it cannot be). A module (``-m``) is only found later, by `locate_module`, once the
program's sys.argv and sys.path are in place (`enter`) and the profiler is ready to see
the parent packages being imported: it returns a new Program that has the code.
`main_module` makes the program's fresh ``__main__``; `execute` runs it and gives the exit
status Python would have given, printing the program's own traceback as Python would.

The program's world (sys.argv, sys.path[0], sys.modules["__main__"]) is not restored
afterwards: the process ends with the program (atexit handlers and daemon threads still
see the program's world).
"""
from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import types

__all__ = ["Program", "ProgramError", "ProgramUsageError", "describe", "locate_module",
           "enter", "main_module", "run_setup", "execute", "exit_status",
           "syntax_message", "print_program_exception"]

KINDS = ("script", "module", "code", "stdin")


class ProgramError(Exception):
    """The program cannot be run (a syntax error in it...): exit status 1."""

    status = 1


class ProgramUsageError(ProgramError):
    """The program named does not exist or cannot be run as named: exit status 2."""

    status = 2


@dataclasses.dataclass(frozen=True)
class Program:
    """What runs, as `python` would run it.

    kind: "script" (a file or a directory with __main__.py), "module" (-m), "code" (-c)
    or "stdin" (-); target: the script's path, the module's name or the code (None for
    stdin); args: the program's own arguments (sys.argv[1:]); file: the file it runs
    (absolute; "<string>" or "<stdin>" for -c and stdin); code: its code object (None
    for -m until located); argv0: its sys.argv[0]; path0: its sys.path[0]; spec: the
    ModuleSpec of -m or of a directory's __main__.py; module_name: -m's own module name
    (such as pkg.__main__); source: its source (bytes or str), None if not known.
    """

    kind: str
    target: str | None
    args: tuple = ()
    file: str | None = None
    code: types.CodeType | None = None
    argv0: str | None = None
    path0: str | None = None
    spec: object = None
    module_name: str | None = None
    source: bytes | str | None = None

    @property
    def located(self) -> bool:
        return self.code is not None


def describe(kind, target, args) -> Program:
    """The Program for the command line's program part: reads and compiles a script, a
    directory's __main__.py, -c code or stdin; checks a module's name (-m is found by
    locate_module). Raises ProgramUsageError or ProgramError."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    args = tuple(args)
    if kind == "module":
        if not target or not all(part.isidentifier() for part in target.split(".")):
            hint = ""
            if target and os.path.isfile(target):
                hint = f" (to run a file: linewise run {shlex.quote(target)})"
            raise ProgramUsageError(f"no module named {target!r}{hint}")
        # As `python -m` has them while it looks for the module.
        return Program(kind, target, args, argv0="-m", path0=os.getcwd())
    if kind == "script":
        return _describe_script(target, args)
    if kind == "code":
        source, filename, argv0 = target, "<string>", "-c"
    else:
        source, filename, argv0 = sys.stdin.buffer.read(), "<stdin>", "-"
    code = _compile(source, filename)
    _remember_source(filename, source)
    return Program(kind, target, args, file=filename, code=code, argv0=argv0, path0="",
                   source=source)


def _describe_script(path, args) -> Program:
    spec = None
    if not os.path.exists(path):
        raise ProgramUsageError(f"can't open file {path!r}: no such file or directory")
    if os.path.isdir(path):
        main = os.path.join(path, "__main__.py")
        if not os.path.isfile(main):
            raise ProgramUsageError(f"{path!r} is a directory, not a script (it has no "
                                    "__main__.py)")
        file = os.path.abspath(main)
        path0 = os.path.abspath(path)
        import importlib.util

        spec = importlib.util.spec_from_file_location("__main__", file)
        display = os.path.join(path, "__main__.py")
    else:
        file = os.path.abspath(path)
        path0 = os.path.dirname(os.path.realpath(path))
        display = path
    try:
        with open(file, "rb") as f:
            source = f.read()
    except OSError as exc:
        raise ProgramUsageError(f"can't open file {path!r}: {exc.strerror}") from None
    code = _compile(source, file, display=display)
    return Program("script", path, args, file=file, code=code, argv0=path, path0=path0,
                   spec=spec, source=source)


def _compile(source, filename, display=None):
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise ProgramError(syntax_message(exc, filename, display)) from None


def locate_module(program, want_source=False) -> Program:
    """-m: the Program with the module found (a package's __main__), as `python -m` finds
    it: this imports its parent packages. Other programs are returned as they are.
    want_source: also get the module's source (for --prof-imports)."""
    if program.kind != "module" or program.located:
        return program
    name = program.target
    spec = _find_spec(name)
    if spec is None:
        raise ProgramUsageError(f"no module named {name!r}")
    if spec.submodule_search_locations is not None:
        main_name = name + ".__main__"
        spec = _find_spec(main_name)
        if spec is None:
            raise ProgramUsageError(f"no module named {main_name!r}: {name!r} is a package "
                                    "and cannot be run directly")
    try:
        code = spec.loader.get_code(spec.name)
    except SyntaxError as exc:
        raise ProgramError(syntax_message(exc)) from None
    except (ImportError, AttributeError) as exc:
        raise ProgramUsageError(f"cannot run module {name!r}: {exc}") from None
    if code is None:
        raise ProgramUsageError(f"module {name!r} has no Python code to run")
    source = None
    if want_source:
        try:
            source = spec.loader.get_source(spec.name)
        except (ImportError, AttributeError):
            source = None
    return dataclasses.replace(program, code=code, spec=spec, module_name=spec.name,
                               file=spec.origin, argv0=spec.origin, source=source)


def _find_spec(name):
    import importlib.util

    try:
        return importlib.util.find_spec(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise ProgramError(f"error while finding module {name!r}: "
                           f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise ProgramError(f"error while finding module {name!r}: "
                           f"{type(exc).__name__}: {exc}") from None


def enter(program) -> None:
    """Gives the process the program's sys.argv and sys.path[0] (which was linewise's:
    the console script's directory, or the current one for -m). For -m, sys.argv[0] is
    "-m" until the module is located, then its file (set it from the located Program),
    as `python -m` has it."""
    sys.argv = [program.argv0, *program.args]
    if not getattr(sys.flags, "safe_path", False):  # python -P adds no directory
        sys.path[:1] = [program.path0]


def main_module(program) -> types.ModuleType:
    """A fresh ``__main__`` module for the program (not yet in sys.modules)."""
    import builtins
    import importlib.machinery

    module = types.ModuleType("__main__")
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    spec = program.spec
    if program.kind == "script":
        namespace["__file__"] = program.file
        if spec is not None:  # a directory with __main__.py
            namespace.update(__package__="", __spec__=spec, __loader__=spec.loader,
                             __cached__=spec.cached)
        else:
            namespace.update(__cached__=None, __loader__=importlib.machinery.
                             SourceFileLoader("__main__", program.file))
    elif program.kind == "module":
        namespace.update(__file__=program.file, __package__=spec.parent, __spec__=spec,
                         __loader__=spec.loader, __cached__=spec.cached)
    else:
        namespace["__loader__"] = importlib.machinery.BuiltinImporter
        if program.kind == "stdin":
            namespace.update(__file__="<stdin>", __cached__=None)
    return module


def run_setup(code, namespace):
    """Runs --setup code (unprofiled) in the program's namespace; returns None, or the
    exit status if it failed (having said so)."""
    try:
        exec(code, namespace)
    except SystemExit as exc:
        return exit_status(exc)
    except KeyboardInterrupt:
        flush()
        print("linewise: interrupted during --setup; the program was not run",
              file=sys.stderr)
        return 130
    except BaseException as exc:
        print_program_exception(exc)
        print("linewise: --setup failed; the program was not run", file=sys.stderr)
        return 1
    return None


def execute(program, namespace, profiler):
    """Runs the located program in `namespace` with `profiler` on (enable_by_count);
    returns (exit status, interrupted by Ctrl-C)."""
    status, interrupted = 0, False
    profiler.enable_by_count()
    try:
        try:
            exec(program.code, namespace)
        except SystemExit as exc:
            status = exit_status(exc)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: B036 - the program's, reported as Python would
            print_program_exception(exc)
            status = 1
    except KeyboardInterrupt:
        status, interrupted = 130, True
    finally:
        profiler.disable_by_count()
    return status, interrupted


def exit_status(exc: SystemExit) -> int:
    """The exit status `python` would give for this SystemExit."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    flush()
    print(code, file=sys.stderr)
    return 1


def print_program_exception(exc):
    """Prints an exception of the program as Python would (through sys.excepthook),
    without this module's frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    exc.__traceback__ = tb  # the default hook prints the exception's own traceback
    flush()
    sys.excepthook(type(exc), exc, tb)
    flush()


def syntax_message(exc, filename=None, display=None) -> str:
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


def flush():
    """Flushes sys.stdout and sys.stderr, whatever state the program left them in."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def add_sources(stats, profiler, program_code):
    """Gives the functions of -c or stdin code their source in `stats` (the results of
    `profiler`, a LineProfiler): there is no file to read it from when the report is
    printed (or viewed later). Only code compiled as part of the
    program's code object gets it: a function the program made with exec() shares its
    filename (``<string>``) but not its source."""
    import inspect
    import linecache

    own = set()
    todo = [program_code]
    while todo:
        code = todo.pop()
        own.add(id(code))
        todo.extend(c for c in code.co_consts if isinstance(c, type(program_code)))
    filename = program_code.co_filename
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
