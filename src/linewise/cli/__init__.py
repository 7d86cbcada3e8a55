"""The `linewise` command: run a program under the profiler, view, merge and compare
results.

    linewise run [options] (script.py | -m module | -c code | -) [args...]
    linewise view [options] FILE [FILE...]
    linewise merge [-f] OUT FILE [FILE...]
    linewise diff [options] BEFORE AFTER

Each command is a module of this package (run, view, merge, diff) with a Command class
that registers its parser with argparse's subparsers; COMMANDS lists them. common.py holds
what they share.

Exit status: `run` exits with the program's status (1 for an uncaught exception, 130 when
interrupted with Ctrl-C, the same signal when ended by a fatal one, after saving); 2 for
a usage error (bad option, missing script or module, bad -p target, output directory
missing or read-only, bad config); 1 for other errors (a syntax error in the program,
unreadable results files, results that could not be written).
"""
from __future__ import annotations

import os
import shlex
import sys

from ..program import ProgramError
from ..program import flush
from .common import PROG, CommandError, Exit, Invocation, Parser, UsageError
from .diff import Diff
from .merge import Merge
from .run import Run
from .view import View

__all__ = ["main", "COMMANDS", "build_parser"]

#: The commands, in the order `linewise --help` lists them.
COMMANDS = [Run(), View(), Merge(), Diff()]


def _usage() -> str:
    commands = "".join(f"  {c.name:<8}{c.summary}\n            {c.synopsis}\n"
                       for c in COMMANDS)
    return f"""\
usage: {PROG} [--version] [--traceback] COMMAND [ARGS...]

Line-by-line profiling for Python programs.

commands:
{commands}
Run '{PROG} COMMAND --help' for the options of a command.

Exit status: run exits with the program's status (130 after Ctrl-C); 2 means a usage
error; 1 any other error (such as unreadable results files).
"""


def build_parser():
    """The `linewise` parser and {command name: its subparser}."""
    parser = Parser(prog=PROG, allow_abbrev=False, add_help=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=Parser)
    return parser, {c.name: c.add_parser(subparsers) for c in COMMANDS}


def main(argv=None) -> int:
    """Runs the `linewise` command with `argv` (default: sys.argv[1:]); returns the exit
    status (the console script passes it to sys.exit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    invocation = Invocation()
    try:
        return _main(argv, invocation)
    except Exit as exc:
        return exc.status
    except (UsageError, CommandError, ProgramError) as exc:
        if invocation.traceback:
            import traceback

            traceback.print_exc()
        flush()
        print(f"{invocation.command}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        flush()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        from .common import silence_stdout

        silence_stdout()
        return 1
    except Exception as exc:
        if invocation.traceback:
            import traceback

            traceback.print_exc()
            hint = ""
        else:
            hint = " (run again with --traceback for details)"
        flush()
        print(f"{invocation.command}: internal error: {type(exc).__name__}: {exc}{hint}",
              file=sys.stderr)
        return 1


def _main(argv, invocation) -> int:
    names = [c.name for c in COMMANDS]
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        arg = argv[i]
        if arg in ("-h", "--help"):
            sys.stdout.write(_usage())
            return 0
        if arg == "--version":
            from .._version import __version__

            print(f"{PROG} {__version__}")
            return 0
        if arg == "--traceback":
            invocation.traceback = True
            i += 1
            continue
        raise UsageError(f"unknown option {arg!r} before the command (to profile a "
                         f"script: {PROG} run [options] script.py)")
    if i == len(argv):
        listed = ", ".join(names[:-1]) + " or " + names[-1]
        raise UsageError(f"no command given: {listed} (see '{PROG} --help')")
    name, rest = argv[i], argv[i + 1:]
    if name not in names:
        hint = ""
        if name.endswith((".py", ".pyw")) or os.path.isfile(name):
            hint = f"; to profile a script: {PROG} run {shlex.quote(name)}"
        raise UsageError(f"unknown command {name!r} (commands: {', '.join(names)}){hint}")
    invocation.command = f"{PROG} {name}"
    invocation.tokens = rest
    parser, _ = build_parser()
    command = COMMANDS[names.index(name)]
    tokens, extra = command.split(rest)
    opts = parser.parse_args([name, *tokens])
    opts.program = extra
    if getattr(opts, "traceback", None):
        invocation.traceback = True
    return command.run(opts, invocation)
