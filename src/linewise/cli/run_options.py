"""`linewise run`'s options, and how its command line splits into them and the program
(as python's does: -m, -c, the script name, "-" and "--" end linewise's options)."""
from __future__ import annotations

import argparse

from .common import UsageError, add_common, add_report_options
from .kernprof import OPTIONAL_VALUE, interval, is_value
from .live import add_live_options


def add_options(parser):
    parser.add_argument("-o", "--output", "--outfile", metavar="FILE",
                        help="where to save the results (default: <script name>.lw in the "
                             "current directory, like prog.py.lw; '-' to not save them)")
    parser.add_argument("-v", "--view", action=argparse.BooleanOptionalAction,
                        help="print the report when the program ends")
    parser.add_argument("-q", "--quiet", action=argparse.BooleanOptionalAction,
                        help="no messages from linewise except warnings and errors")
    add_report_options(parser)
    parser.add_argument("-p", "--prof-mod", metavar="TARGET", action="append",
                        help="profile every function in TARGET, without editing it: a file, "
                             "a directory, a module, a package, module.function or "
                             "module.Class (repeatable; several may be given separated by "
                             "commas, as kernprof takes them; an empty TARGET drops the "
                             "ones before it)")
    parser.add_argument("--prof-imports", action=argparse.BooleanOptionalAction,
                        help="also profile the modules the program imports directly "
                             "(except the standard library's)")
    parser.add_argument("--memory", metavar="MODE", nargs="?", const="on",
                        choices=("on", "off", "native"),
                        help="also charge memory to each line (allocated, net, peak): "
                             "Python's allocators and numpy's; --memory=native (Linux) "
                             "also malloc & co., by restarting with a preloaded hook")
    parser.add_argument("--children", action=argparse.BooleanOptionalAction, default=None,
                        help="also profile the program's child Python processes (forked, "
                             "multiprocessing and concurrent.futures pools, joblib, "
                             "subprocesses running Python) and merge their results "
                             "(default: on; --no-children for this process only)")
    parser.add_argument("--compensate", action=argparse.BooleanOptionalAction,
                        help="subtract the profiler's own cost from each line's time: one "
                             "event's cost, calibrated at start-up on this machine (shown "
                             "in the report), times the events that fired while it ran")
    parser.add_argument("-s", "--setup", metavar="CODE",
                        help="Python code (or a .py file) to run first, not profiled")
    parser.add_argument("-i", "--output-interval", metavar="SECONDS", nargs="?",
                        const=1.0, type=interval,
                        help="also save the results every SECONDS seconds (at least 1; 1 "
                             "if no number follows) while the program runs, so a run that "
                             "is killed leaves its last snapshot")
    add_live_options(parser)
    add_common(parser)
    parser.add_argument("-V", "--version", action="store_true",
                        help="print linewise's version and exit")
    # kernprof's flags, accepted so old command lines keep working: -l (line by line) is
    # what linewise always does, -b (profile in builtins) too, but only with -l: alone it
    # is kernprof's cProfile mode, refused in Run.run.
    parser.add_argument("-l", "--line-by-line", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-b", "--builtin", action="store_true", help=argparse.SUPPRESS)


def split_run_argv(tokens, takes_value):
    """Splits `linewise run`'s arguments into linewise's options and the program:
    returns (options, (kind, target, args)) with kind "script", "module", "code" or
    "stdin", or (options, None) if no program is named. As with `python`, -m and -c end
    linewise's options; so does the script name, "-" and "--". takes_value: the options
    that take a value (common.takes_value of the parser)."""
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
            if token in OPTIONAL_VALUE:
                i += 2 if i + 1 < len(tokens) and is_value(token, tokens[i + 1]) else 1
                continue
            # --memory's mode only as --memory=MODE: a word after it is the program.
            i += 2 if token in takes_value and token != "--memory" else 1
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
            if option in OPTIONAL_VALUE and j + 1 == len(token):
                i += 2 if i + 1 < len(tokens) and is_value(option, tokens[i + 1]) else 1
                break
            if option in takes_value:
                i += 1 if j + 1 < len(token) else 2
                break
        else:
            i += 1
    return tokens, None


def _program_token(token, args):
    return ("stdin", None, args) if token == "-" else ("script", token, args)
