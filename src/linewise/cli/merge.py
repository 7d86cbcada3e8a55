"""`linewise merge`: sums saved results into one file."""
from __future__ import annotations

import os
import sys

from .common import (PROG, Command, UsageError, add_common, check_writable, load_results,
                     save_results)


class Merge(Command):
    name = "merge"
    summary = "sum saved results into one file"
    synopsis = (f"{PROG} merge [-f] [--format lw|lprof] OUT FILE [FILE...]\n"
                f"       {PROG} merge FILE")

    def add_parser(self, subparsers):
        parser = subparsers.add_parser(
            self.name, prog=f"{PROG} merge", allow_abbrev=False,
            description="Sums saved results line by line into OUT. OUT holds the sources "
                        "the FILEs hold; none is read from disk. FILEs may be linewise's "
                        "(.lw) or line_profiler's (.lprof, told by their content). With one "
                        "FILE only, folds into it what its run's child processes saved "
                        "after the run ended (the directory its results name).",
            epilog="Exit status: 0; 1 if a file cannot be read or written; 2 for a usage "
                   "error.")
        parser.add_argument("output", metavar="OUT", help="the results file to write")
        parser.add_argument("files", nargs="*", metavar="FILE", help="results files to sum")
        parser.add_argument("-f", "--force", action="store_true",
                            help="overwrite OUT even if it exists and is not one of the FILEs")
        parser.add_argument("--format", choices=("lw", "lprof"),
                            help="write OUT as linewise's results file (lw) or as "
                                 "line_profiler's (lprof: timings and unit only, no sources, "
                                 "runs or meta; python -m line_profiler reads it); default: "
                                 "lprof if OUT ends in .lprof, else lw")
        parser.add_argument("-q", "--quiet", action="store_true", help="no message when done")
        add_common(parser, config=False)
        return parser

    def run(self, opts, invocation) -> int:
        if not opts.files:
            return _fold_children(opts)
        out = opts.output
        same = [f for f in opts.files if os.path.exists(f) and os.path.exists(out)
                and os.path.samefile(f, out)]
        if os.path.exists(out) and not same and not opts.force:
            raise UsageError(f"{out} exists and is not among the files merged; use -f to "
                             "overwrite it, or list it among the FILEs to add to it")
        check_writable(out)
        stats = load_results(opts.files)
        save_results(stats, out, opts.format)
        if not opts.quiet:
            print(f"{PROG}: merged {len(opts.files)} files into {out}", file=sys.stderr)
        return 0


def _fold_children(opts) -> int:
    """`linewise merge FILE`: what FILE's late children left (meta ``children``), folded
    into it."""
    from .._gather import collect, fold, lost_message

    path = opts.output
    stats = load_results([path])
    folder = stats.meta.get("children")
    if not isinstance(folder, str) or not os.path.isdir(folder):
        if not opts.quiet:
            print(f"{PROG}: {path}: no child process results to fold in", file=sys.stderr)
        return 0
    results, lost = collect(folder, wait=0)
    if results:
        stats = fold(stats, results) if not stats.runs else _add(stats, results)
    if os.path.isdir(folder):
        stats.meta["children"] = folder
    else:
        stats.meta.pop("children", None)
    save_results(stats, path, opts.format)
    message = lost_message(lost, folder, path)
    if message:
        print(message, file=sys.stderr)
    if not opts.quiet:
        print(f"{PROG}: folded {len(results)} child processes' results into {path}",
              file=sys.stderr)
    return 0


def _add(stats, results):
    meta, complete = dict(stats.meta), stats.sources_complete
    for child in results:
        stats = stats + child
    stats.meta, stats.sources_complete = meta, complete
    return stats
